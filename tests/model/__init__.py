"""The model-based test of the whole service (issue 11): a reference model from DESIGN.md, the firm it plays
with, and the state machine that holds the service to the model."""

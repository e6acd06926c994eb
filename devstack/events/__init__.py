"""The events Lambda delivers, in AWS's shapes (``shapes``: what the local stack sends its handlers), and
``events/`` built from them (``builders``: ``python -m devstack.events`` rewrites the files, ``--check`` says
whether they are current)."""

"""In-memory stand-ins for the stores and the API clients, for unit tests of the logic without moto or the
simulators (the integration tests and the model-based test run the real adapters)."""

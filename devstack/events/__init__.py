"""The events in ``events/`` (one per function, for ``sam local invoke`` and the tests), from the local stack's
builders: ``python -m devstack.events`` rewrites them, ``--check`` says whether they are current."""

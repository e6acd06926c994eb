"""The demo firm: one sync and its summary (``python -m devstack.demo``), or a long-running local stack with the
admin page (``python -m devstack.demo.up``)."""

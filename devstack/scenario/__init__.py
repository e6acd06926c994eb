"""The black-box scenario runner (``python -m devstack.scenario FILE``) and the firm's browser in the OAuth
consent flows it plays."""

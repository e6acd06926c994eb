"""HTTP clients for QuickBooks Online and Clio Manage, and the OAuth token endpoints."""

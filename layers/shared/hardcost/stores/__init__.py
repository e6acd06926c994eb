"""DynamoDB stores: tenants, cursors, mappings, failures, leases (one table, see README)."""

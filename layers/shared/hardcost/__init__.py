"""Hard Cost Sync: QuickBooks Online Expense and Check purchases as Clio Manage hard-cost entries."""

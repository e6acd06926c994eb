"""Models per boundary: raw QBO, Clio requests/responses, queue messages, stored records."""

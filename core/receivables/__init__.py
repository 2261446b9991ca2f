"""Receivables management for the local provider's invoices: dunning policy, the rules of
the law, the daily tick, documents, payments and hand-over to collection."""

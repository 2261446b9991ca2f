"""Where everything is stored: the ledger's tables, sessions and migrations."""

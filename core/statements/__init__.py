"""Weekly merchant statements: every movement of a week, as CSV and PDF."""

"""Journey services: they change state, write the audit row, flush, and never commit."""

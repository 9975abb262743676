"""The embedded demo: schema migrations and a deterministic synthetic market dataset."""

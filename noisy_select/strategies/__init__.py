"""The rules: what each of the two networks learns from, batch by batch."""

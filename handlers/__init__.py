"""The conversation core of fieldbot: router, form engine, Thai input understanding (no I/O)."""

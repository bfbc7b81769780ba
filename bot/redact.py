"""Keeping secrets out of logs and stored errors (placeholder until the redaction step lands)."""

from __future__ import annotations


def redact(text: str) -> str:
    return text

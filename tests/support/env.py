"""Environments for `fieldbot`, in this process (tests/support/cli.py) or as a process of its own
(tests/support/processes.py)."""

from __future__ import annotations

import os
from collections.abc import Sequence


def environment(drop: Sequence[str] = (), **settings: str) -> dict[str, str]:
    """This process's environment without the variables whose names start with one of `drop`,
    plus `settings`."""
    prefixes = tuple(drop)
    env = {k: v for k, v in os.environ.items() if not (prefixes and k.startswith(prefixes))}
    env.update(settings)
    return env

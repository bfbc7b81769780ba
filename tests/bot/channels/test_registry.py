"""The registry and the catalog: one plugin per platform, and what the edge reads from them."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.channels import catalog, registry
from tests.support.settings import make_settings


def test_one_plugin_per_spec_in_the_catalogs_order() -> None:
    assert [p.spec for p in registry.PLUGINS] == list(catalog.SPECS)
    assert len(set(catalog.names())) == len(catalog.SPECS)


def test_what_the_edge_reads_from_the_capabilities(tmp_path: Path) -> None:
    # The console's pushes wait for its own chat: the server's dispatcher leaves them alone.
    assert "console" not in catalog.server_platforms()
    assert set(catalog.server_platforms()) == {"line", "telegram"}
    assert catalog.multicast_sizes() == {"line": 500}
    assert all(s.capabilities.can_push for s in catalog.SPECS)
    assert catalog.spec("fax") is None and catalog.title("fax") == "fax"
    settings = make_settings("sqlite+aiosqlite://", tmp_path)
    assert registry.status(settings) == {"line": False, "telegram": False, "console": True}


def test_each_channel_adds_its_own_commands() -> None:
    parser = argparse.ArgumentParser()
    registry.add_commands(parser.add_subparsers(dest="command"))
    for argv, name in ((["chat", "--user", "x"], "console"), (["line", "setup-richmenu"], "line"),
                       (["telegram", "set-webhook", "https://x"], "telegram")):  # fmt: skip
        assert parser.parse_args(argv).channel_plugin.spec.name == name

"""bench/desk.py keeps working: the national-scale benchmark, at a tiny size."""

from __future__ import annotations

from pathlib import Path

from bench import desk as bench


async def test_the_desk_benchmark_runs_at_a_tiny_size_on_sqlite(tmp_path: Path) -> None:
    args = bench.parser().parse_args([
        "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}", "--cases", "300",
        "--villages", "200", "--reporters", "20", "--activities", "50", "--runs", "2",
        "--media", str(tmp_path / "media"),
    ])  # fmt: skip
    out = await bench.run(args)
    assert "| case list, national (no filter) |" in out and "| case page (officer) |" in out
    assert "map data clustered per 0.1° cell, national, all" in out

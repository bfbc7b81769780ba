"""Personal data from the command line: a person's complete copy, and erasure, after which no
table of the database holds their name, phone or platform id; both recorded in the register."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import SQLModel

from storage.models import Report, User
from tests.bot.test_alerts import _officers, _urgent_problem
from tests.support.cli import run_cli_async
from tests.support.env import environment
from tests.support.fake_line import LineEvents
from tests.support.platforms import Platforms

NAME, PHONE, LINE_ID = "สมชาย ใจดี", "0812345678", "Uvillager000000000"
CASE = "PRB-2569-000001"


async def _everything(p: Platforms) -> str:
    """Every row of every table, as text."""
    parts: list[str] = []
    async with p.core.sessions() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                values: list[Any] = [v.isoformat() if hasattr(v, "isoformat") else v for v in row]
                parts.append(json.dumps(values, ensure_ascii=False, default=str))
    return "\n".join(parts)


async def test_an_operator_exports_and_erases_a_persons_data(platforms: Platforms) -> None:
    p = platforms
    await _officers(p)
    villager = LineEvents(p.line, LINE_ID)
    await _urgent_problem(p, villager, photo=False, phone="081-234-5678")
    await p.deliver()  # the alerts (with the reporter's name and phone) went out
    before = await _everything(p)
    assert NAME in before and PHONE in before and LINE_ID in before
    async with p.core.sessions() as session:
        user_id = (
            await session.execute(select(User.id).where(User.platform_user_id == LINE_ID))
        ).scalar_one()
    env = environment(DATABASE_URL=p.core.settings.database_url)

    copied = await run_cli_async(["privacy", "export", str(user_id)], env)
    assert copied.code == 0, copied.err
    data = json.loads(copied.out)
    assert data["profile"]["name"] == NAME and data["profile"]["phone"] == PHONE
    assert data["consent"]["given_at"] and data["reports"][0]["reference"] == "PRB-2569-000001"
    assert data["messages_sent_to_you"]  # the replies and notices

    asked = await run_cli_async(["privacy", "erase", str(user_id)], env)
    assert asked.code == 0 and "Add --yes" in asked.out
    assert NAME in asked.out and "500108 หมู่ 3" in asked.out  # the clerk checks who it is
    assert "1 report(s)" in asked.out
    assert NAME in await _everything(p)  # nothing done without --yes
    erased = await run_cli_async(["privacy", "erase", str(user_id), "--yes"], env)
    assert erased.code == 0, erased.err
    assert "1 report(s) kept anonymous" in erased.out

    after = await _everything(p)
    for secret in (NAME, PHONE, LINE_ID):
        assert secret not in after, secret
    async with p.core.sessions() as session:
        report = (await session.execute(select(Report))).scalar_one()
    assert report.reference == "PRB-2569-000001" and report.description  # kept, anonymous

    register = await run_cli_async(["privacy", "requests"], env)
    lines = register.out.splitlines()
    assert [line.split("\t")[2] for line in lines[1:]] == ["erase", "export"]  # newest first
    assert all(line.split("\t")[1] == str(user_id) for line in lines[1:])
    again = await run_cli_async(["privacy", "erase", str(user_id), "--yes"], env)
    assert again.code != 0 and "erased already" in again.err
    register = await run_cli_async(["privacy", "requests"], env)
    assert "\terase\tcli\t" in register.out.splitlines()[1]
    assert register.out.splitlines()[1].split("\t")[5] == "-"  # answered: no deadline left
    nobody = await run_cli_async(["privacy", "requests", "--user", str(user_id + 100)], env)
    assert nobody.out.splitlines()[1:] == []
    assert register.out.splitlines()[1].endswith("refused\terased already")


async def test_the_export_as_the_zip_the_persons_link_gives(
    platforms: Platforms, tmp_path: Path
) -> None:
    p = platforms
    await _urgent_problem(p, LineEvents(p.line, LINE_ID), photo=False, phone=PHONE)
    async with p.core.sessions() as session:
        user_id = (
            await session.execute(select(User.id).where(User.platform_user_id == LINE_ID))
        ).scalar_one()
    env = environment(DATABASE_URL=p.core.settings.database_url)
    packed, text = tmp_path / "person.zip", tmp_path / "person.json"

    done = await run_cli_async(["privacy", "export", str(user_id), "--zip", str(packed)], env)
    assert done.code == 0, done.err
    assert done.out == "" and str(packed) in done.err  # nothing personal on the terminal
    with zipfile.ZipFile(packed) as bundle:
        copy = json.loads(bundle.read("my-data.json"))
        table = bundle.read("my-reports.csv").decode("utf-8-sig")
    assert copy["profile"]["name"] == NAME and copy["reports"][0]["reference"] == CASE
    assert [r["เลขที่"] for r in csv.DictReader(io.StringIO(table))] == [CASE]

    both = await run_cli_async(
        ["privacy", "export", str(user_id), "--zip", str(packed), "--out", str(text)], env
    )
    assert both.code == 0, both.err
    again = json.loads(text.read_text(encoding="utf-8"))
    assert [r["kind"] for r in again.pop("your_requests")] == ["export"]  # the first one
    assert copy.pop("your_requests") == []
    assert again == copy  # the same, but for the first export now in the register
    register = await run_cli_async(["privacy", "requests"], env)
    assert [line.split("\t")[2:4] for line in register.out.splitlines()[1:]] == [
        ["export", "cli"], ["export", "cli"],
    ]  # fmt: skip


async def test_an_erasure_on_paper_tells_the_officer_working_the_case(
    platforms: Platforms,
) -> None:
    p = platforms
    officer, _tg = await _officers(p)
    await _urgent_problem(p, LineEvents(p.line, LINE_ID), photo=False, phone=PHONE)
    await p.line_say(officer, "รับเรื่อง PRB-2569-000001")
    await p.deliver()
    async with p.core.sessions() as session:
        user_id = (
            await session.execute(select(User.id).where(User.platform_user_id == LINE_ID))
        ).scalar_one()
    env = environment(DATABASE_URL=p.core.settings.database_url)
    erased = await run_cli_async(["privacy", "erase", str(user_id), "--yes"], env)
    assert erased.code == 0, erased.err
    # (queued at the command's own time, which this test's clock has not reached: read)
    told = [
        m["text"]
        for row in await p.rows()
        if row.recipient == officer.user_id and row.kind == "status"
        for m in row.payload["messages"]
    ]
    assert any("ของผู้แจ้งเรื่อง PRB-2569-000001 ถูกลบแล้ว" in t for t in told), told
    assert NAME not in await _everything(p)

"""Broadcasts: who is in an audience, who may address it, composing one in chat with a preview
and per-platform counts, LINE multicast in calls of 500 with a retry key each, Telegram one
message per person, blocked people skipped and counted, scheduled sending, status counts, and
the command line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import insert, select
from sqlmodel import col

from bot.service import Core, queue_broadcasts
from domain import broadcasts, policy
from storage import broadcasts as store
from storage.models import Broadcast, OutboxMessage, StaffRole, User
from tests.support.cli import Ran, run_cli_async
from tests.support.clock import Clock
from tests.support.env import environment
from tests.support.fake_line import FakeLine, LineEvents
from tests.support.fake_telegram import FakeTelegram
from tests.support.platforms import LINE_SECRET, Platforms, join_as_staff, line_texts

BKK = dt.timezone(dt.timedelta(hours=7))


async def _people(core: Core, count: int, platform: str = "line", **fields: Any) -> None:
    """`count` registered villagers, written in one statement."""
    base: dict[str, Any] = {
        "role": "village_head", "consent_at": core.clock(), "province_code": "50",
        "district_code": "5001", "subdistrict_code": "500101", "village_no": 1,
        "language": "th", "active": True, "join_failures": 0,
        "created_at": core.clock(), "updated_at": core.clock(),
    }  # fmt: skip
    held = fields.pop("staff", ())
    base.update(fields)
    prefix = fields.pop("prefix", None) or f"{platform}{fields.get('district_code', '')}"
    base.pop("prefix", None)
    rows = [
        {**base, "platform": platform,
         "platform_user_id": (f"U{prefix}{n:06d}" if platform == "line" else f"9{n:06d}")}
        for n in range(count)
    ]  # fmt: skip
    async with core.sessions() as session, session.begin():
        await session.execute(insert(User), rows)
        if held:
            ids = await session.scalars(
                select(User.id).where(
                    col(User.platform_user_id).in_([r["platform_user_id"] for r in rows])
                )
            )
            await session.execute(
                insert(StaffRole),
                [{"user_id": i, "role": role, "area": area, "granted_at": core.clock()}
                 for i in ids for role, area in held],
            )  # fmt: skip


async def test_audiences_and_who_may_address_them(core: Core) -> None:
    await _people(core, 3)  # village heads in 5001, on LINE
    await _people(core, 2, platform="telegram", role="volunteer", district_code="5002",
                  subdistrict_code="500201", prefix="tg")  # fmt: skip
    await _people(core, 1, district_code="1001", province_code="10", subdistrict_code="100101",
                  prefix="bkk")  # fmt: skip
    await _people(core, 1, active=False, prefix="blocked")  # blocked the bot
    await _people(core, 1, platform="console", prefix="console")  # shown in their chat
    await _people(core, 1, role=None, staff=[("officer", "5001")], prefix="off")
    await _people(core, 1, role=None, staff=[("coordinator", "50")], prefix="co")
    await _people(core, 1, role=None, staff=[("coordinator", "TH")], prefix="th")
    async with core.sessions() as session:
        reach = await store.reach(session, ["reporter"], "50")
        assert reach.reachable == {"line": 3, "telegram": 2, "console": 1} and reach.blocked == 1
        reach = await store.reach(session, ["volunteer"], "50")
        assert reach.reachable == {"telegram": 2}
        reach = await store.reach(session, ["village_head"], "500101")
        assert reach.total == 3 + 1
        reach = await store.reach(session, ["officer", "coordinator"], "50")
        assert reach.total == 2  # the district officer and the province's coordinator
        reach = await store.reach(session, ["reporter", "officer", "coordinator"], "TH")
        assert reach.total == 3 + 2 + 1 + 1 + 3
    coordinator, officer = [("coordinator", "50")], [("officer", "5001")]
    assert policy.may_address(coordinator, "50")
    assert policy.may_address(coordinator, "500101")
    assert not policy.may_address(coordinator, "10")
    assert not policy.may_address(coordinator, "TH")
    assert policy.may_address([("coordinator", "TH")], "10")
    assert policy.may_address(officer, "5001")
    assert policy.may_address(officer, "500101")
    assert not policy.may_address(officer, "50")
    assert not policy.may_address(officer, "5002")
    assert not policy.may_address([], "5001")  # villagers never
    assert policy.may_address([("admin", "TH")], "TH")
    two = [("officer", "5001"), ("officer", "5002")]  # an officer of two districts
    assert policy.may_address(two, "5001") and policy.may_address(two, "500201")
    assert not policy.may_address(two, "5003") and not policy.may_address(two, "50")


async def _rows(core: Core) -> list[OutboxMessage]:
    async with core.sessions() as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == "broadcast")
        return list((await session.execute(query)).scalars())


async def test_a_coordinator_broadcasts_from_chat_to_both_platforms(platforms: Platforms) -> None:
    p = platforms
    await _people(p.core, 1200)  # LINE: three multicast calls of 500, 500 and 200
    await _people(p.core, 3, platform="telegram", prefix="tg")
    await _people(p.core, 2, active=False, prefix="gone")  # blocked: counted, not sent
    await _people(p.core, 4, province_code="10", district_code="1001",
                  subdistrict_code="100101", prefix="bkk")  # another province  # fmt: skip
    coordinator = await join_as_staff(p)
    since = len(p.line.calls)
    await p.line_say(coordinator, "ส่งประกาศ", "ผู้รายงานทุกคน", "เสร็จ", "ทั้งพื้นที่ของฉัน",
                     "ประชุมประจำเดือนวันจันทร์ 9 โมง ที่ว่าการอำเภอ", "ข้าม", "ส่งเลย",
                     "ยืนยัน")  # fmt: skip
    said = line_texts(p, coordinator.user_id, since)
    preview = next(t for t in said if "ตัวอย่างประกาศ" in t)
    assert "LINE 1200 คน" in preview and "Telegram 3 คน" in preview
    assert "บล็อกบอตแล้ว (ไม่ส่ง): 2 คน" in preview
    assert await _rows(p.core) == []  # nothing goes before it is confirmed

    await p.line_send(coordinator, coordinator.postback("bcast:1:send"))
    rows = await _rows(p.core)
    line_rows = sorted((r for r in rows if r.platform == "line"), key=lambda r: r.id or 0)
    assert [r.recipient_count for r in line_rows] == [500, 500, 200]
    assert sum(r.platform == "telegram" for r in rows) == 3
    await p.deliver()
    await p.deliver()
    multicasts = [c for c in p.line.calls if c.path == "/v2/bot/message/multicast"]
    # The three calls go side by side (one row each), so in no fixed order.
    assert sorted(len(c.body["to"]) for c in multicasts) == [200, 500, 500]
    assert len({c.headers["X-Line-Retry-Key"] for c in multicasts}) == 3  # one key per call
    assert {c.headers["X-Line-Retry-Key"] for c in multicasts} == {r.retry_key for r in line_rows}
    everyone = {u for c in multicasts for u in c.body["to"]}
    assert len(everyone) == 1200 and not any("bkk" in u or "gone" in u for u in everyone)
    assert all("ประชุมประจำเดือน" in c.body["messages"][0]["text"] for c in multicasts)
    tg = [c for c in p.telegram.calls if c.method == "sendMessage" and "ประชุม" in
          str(c.params.get("text"))]  # fmt: skip
    assert len(tg) == 3

    since = len(p.line.calls)
    await p.line_say(coordinator, "สถานะประกาศ")
    status = " ".join(line_texts(p, coordinator.user_id, since))
    assert "ส่งครบแล้ว" in status and "ส่งแล้ว 1203" in status and "บล็อก 2" in status
    # Pressing "send" again on the old preview does not send it twice.
    await p.line_send(coordinator, coordinator.postback("bcast:1:send"))
    assert len(await _rows(p.core)) == 6


async def test_officers_only_in_their_district_and_villagers_never(
    platforms: Platforms,
) -> None:
    p = platforms
    await _people(p.core, 5, district_code="5007", subdistrict_code="500701", prefix="rim")
    await _people(p.core, 3, prefix="muang")  # the officer's own district
    officer = await join_as_staff(p, "5001", role="officer")
    since = len(p.line.calls)
    await p.line_say(officer, "ส่งประกาศ", "ผู้รายงานทุกคน", "เสร็จ", "เลือกอำเภอ", "แม่ริม",
                     "ประชุมด่วน", "ข้าม", "ส่งเลย", "ยืนยัน")  # fmt: skip
    assert any("เฉพาะในพื้นที่ที่คุณรับผิดชอบ" in t for t in line_texts(p, officer.user_id, since))
    async with p.core.sessions() as session:
        assert (await session.execute(select(Broadcast))).first() is None

    # The officer's own district is fine; the draft waits for its author's confirmation.
    await p.line_say(officer, "ส่งประกาศ", "ผู้รายงานทุกคน", "เสร็จ", "ทั้งพื้นที่ของฉัน",
                     "ประชุมด่วน", "ข้าม", "ส่งเลย", "ยืนยัน")  # fmt: skip
    async with p.core.sessions() as session:
        [draft] = (await session.execute(select(Broadcast))).scalars().all()
        assert (draft.status, draft.area) == ("draft", "5001")

    villager = LineEvents(p.line, "Uvillager000000000")
    await p.line_say(villager, "สวัสดี", "ภาษาไทย", "ยินยอม", "สมชาย ใจดี", "ข้าม", "ผู้ใหญ่บ้าน",
                     "เชียงใหม่", "เมืองเชียงใหม่", "สุเทพ", "ม.3", "ยืนยัน")  # fmt: skip
    since = len(p.line.calls)
    await p.line_say(villager, "ส่งประกาศ")
    said = " ".join(line_texts(p, villager.user_id, since))
    assert "ตัวอย่างประกาศ" not in said and "ส่งถึงใครบ้าง" not in said
    await p.line_send(villager, villager.postback(f"bcast:{draft.id}:send"))
    await p.line_send(villager, villager.postback(f"bcast:{draft.id}:status"))
    assert "ขออภัย" in " ".join(line_texts(p, villager.user_id, since))

    # Another staff member cannot confirm or cancel someone else's draft.
    coordinator = await join_as_staff(p)
    since = len(p.line.calls)
    await p.line_send(coordinator, coordinator.postback(f"bcast:{draft.id}:send"))
    await p.line_send(coordinator, coordinator.postback(f"bcast:{draft.id}:cancel"))
    assert sum("ไม่ได้สร้างโดยคุณ" in t for t in line_texts(p, coordinator.user_id, since)) == 2
    async with p.core.sessions() as session:
        assert (await session.get(Broadcast, draft.id)).status == "draft"  # type: ignore[union-attr]
    assert await _rows(p.core) == []
    # Its author cancels it; a confirm after that is refused.
    since = len(p.line.calls)
    await p.line_send(officer, officer.postback(f"bcast:{draft.id}:cancel"))
    await p.line_send(officer, officer.postback(f"bcast:{draft.id}:send"))
    said = " ".join(line_texts(p, officer.user_id, since))
    assert "ยกเลิกประกาศ" in said and "เปลี่ยนไม่ได้แล้ว" in said
    assert await _rows(p.core) == []


async def test_a_scheduled_broadcast_goes_at_its_time_outside_quiet_hours(
    platforms: Platforms,
) -> None:
    p = platforms
    await _people(p.core, 2)
    coordinator = await join_as_staff(p)
    await p.line_say(coordinator, "ส่งประกาศ", "ผู้ใหญ่บ้าน", "เสร็จ", "ทั้งพื้นที่ของฉัน",
                     "พรุ่งนี้ตรวจสุขภาพฟรี", "ข้าม", "ตั้งเวลาส่ง", "พรุ่งนี้", "07:00",
                     "ยืนยัน")  # fmt: skip
    since = len(p.line.calls)
    await p.line_send(coordinator, coordinator.postback("bcast:1:send"))
    assert any("ตั้งเวลาส่งประกาศ #1" in t for t in line_texts(p, coordinator.user_id, since))
    await p.line_send(coordinator, coordinator.postback("bcast:1:status"))
    assert any("ตั้งเวลาไว้" in t for t in line_texts(p, coordinator.user_id, since))
    assert await queue_broadcasts(p.core) == 0
    p.clock.now = dt.datetime(2026, 3, 21, 6, 59, tzinfo=BKK).astimezone(dt.UTC)
    assert await queue_broadcasts(p.core) == 0
    p.clock.advance(minutes=1)
    assert await queue_broadcasts(p.core) == 2
    assert await queue_broadcasts(p.core) == 0  # once
    [row] = await _rows(p.core)
    assert row.recipient_count == 2 and row.next_attempt_at == p.clock.now


async def test_broadcast_rows_written_in_quiet_hours_wait(core: Core, clock: Clock) -> None:
    await _people(core, 2)
    clock.now = dt.datetime(2026, 3, 20, 23, 0, tzinfo=BKK).astimezone(dt.UTC)
    async with core.sessions() as session, session.begin():
        await broadcasts.create(session, creator=None, roles=["reporter"], area="50",
                                text="x", image=None, send_at=clock.now, status="scheduled",
                                now=clock.now)  # fmt: skip
    assert await queue_broadcasts(core) == 2
    [row] = await _rows(core)
    assert row.next_attempt_at == dt.datetime(2026, 3, 21, 7, 0, tzinfo=BKK).astimezone(dt.UTC)


async def test_send_now_in_quiet_hours_says_when_it_goes(platforms: Platforms) -> None:
    p = platforms
    await _people(p.core, 2)
    coordinator = await join_as_staff(p)
    p.clock.now = dt.datetime(2026, 3, 20, 22, 0, tzinfo=BKK).astimezone(dt.UTC)
    await p.line_say(coordinator, "ส่งประกาศ", "ผู้ใหญ่บ้าน", "เสร็จ", "ทั้งพื้นที่ของฉัน",
                     "ประกาศกลางคืน", "ข้าม", "ส่งเลย", "ยืนยัน")  # fmt: skip
    since = len(p.line.calls)
    await p.line_send(coordinator, coordinator.postback("bcast:1:send"))
    assert any("ระบบจะส่งเวลา" in t and "07:00" in t
               for t in line_texts(p, coordinator.user_id, since))  # fmt: skip
    assert await p.deliver() == 0  # held until the morning
    p.clock.now = dt.datetime(2026, 3, 21, 7, 0, tzinfo=BKK).astimezone(dt.UTC)
    assert await p.deliver() == 1  # one multicast row for the two


async def _cli(*args: str, env: dict[str, str]) -> Ran:
    return await run_cli_async(["broadcast", *args], env)


async def test_the_command_line_sends_and_reports(
    core: Core, database_url: str, tmp_path: Path
) -> None:
    core.clock = lambda: dt.datetime.now(dt.UTC)  # the command line runs on real time
    await _people(core, 501)
    await _people(core, 2, platform="telegram", prefix="tg")
    await _people(core, 1, active=False, prefix="gone")
    from handlers.messages import Outgoing
    from storage import outbox

    async with core.sessions() as session, session.begin():
        officer = User(platform="telegram", platform_user_id="31337")
        session.add(officer)
        await session.flush()
        await outbox.enqueue(session, officer, "alert", [Outgoing("an alert")])
    line, telegram = FakeLine(), FakeTelegram("123:cli")
    async with TestServer(line.app()) as line_api, TestServer(telegram.app()) as tg_api:
        env = environment(
            drop=("LINE_", "TELEGRAM_"),
            DATABASE_URL=database_url, FIELDBOT_MEDIA_DIR=str(tmp_path / "media"),
            FIELDBOT_QUIET_HOURS="off", FIELDBOT_LOG_LEVEL="WARNING",
            LINE_CHANNEL_SECRET=LINE_SECRET, LINE_CHANNEL_ACCESS_TOKEN="t",
            LINE_API_BASE_URL=str(line_api.make_url("")).rstrip("/"),
            LINE_DATA_API_BASE_URL=str(line_api.make_url("")).rstrip("/"),
            TELEGRAM_BOT_TOKEN="123:cli", TELEGRAM_WEBHOOK_SECRET="s",
            TELEGRAM_API_BASE_URL=str(tg_api.make_url("")).rstrip("/"),
        )  # fmt: skip
        code, out, _err = await _cli("--role", "reporter", "--area", "50", "--text", "ทดสอบ",
                                     "--dry-run", env=env)  # fmt: skip
        assert code == 0 and "LINE 501, Telegram 2; blocked the bot (skipped): 1" in out
        assert "dry run" in out and line.calls == []

        code, _out, err = await _cli("--role", "mayor", "--area", "50", "--text", "x", env=env)
        assert code == 2 and "unknown role mayor" in err
        code, _out, err = await _cli("--role", "reporter", "--area", "99", "--text", "x", env=env)
        assert code == 2 and "--area 99: no area has this code" in err
        # A name does as a code when it names one area, and says which it took.
        code, out, err = await _cli("--role", "reporter", "--area", "จ.เชียงใหม่", "--text", "x",
                                    "--dry-run", env=env)  # fmt: skip
        assert code == 0 and "LINE 501, Telegram 2" in out
        assert "--area 'จ.เชียงใหม่': 50 เชียงใหม่ / Chiang Mai, a province" in err
        code, out, err = await _cli("--role", "reporter", "--area", "เชียงใหม่", "--text", "x",
                                    "--dry-run", env=env)  # fmt: skip
        # A name a province shares with a subdistrict elsewhere is the province.
        assert code == 0 and "LINE 501, Telegram 2" in out
        assert "--area 'เชียงใหม่': 50 เชียงใหม่ / Chiang Mai, a province" in err
        code, _out, err = await _cli("--role", "reporter", "--area", "50", "--text", "x",
                                     "--at", "tomorrow", env=env)  # fmt: skip
        assert code == 2 and "YYYY-MM-DD HH:MM" in err

        code, out, err = await _cli("--role", "reporter", "--area", "50",
                                    "--text", "ประชุมประจำเดือน", env=env)  # fmt: skip
        assert code == 0, err
        assert "sent 503, failed 0, blocked 1" in out
        assert "broadcast #1" in err  # the progress bar
        multicasts = [c for c in line.calls if c.path == "/v2/bot/message/multicast"]
        assert sorted(len(c.body["to"]) for c in multicasts) == [1, 500]
        # The server's own pushes are the server's: the command line sends only its broadcast.
        async with core.sessions() as session:
            alert = (await session.execute(
                select(OutboxMessage).where(OutboxMessage.kind == "alert")
            )).scalar_one()  # fmt: skip
        assert alert.status == "pending"
        assert not any(c.params.get("text") == "an alert" for c in telegram.calls)

        later = (dt.datetime.now(BKK) + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
        code, out, _err = await _cli("--role", "coordinator", "--area", "TH", "--text", "x",
                                     "--at", later, env=env)  # fmt: skip
        assert code == 2  # no coordinators at all: nobody to send to
        code, out, _err = await _cli("--role", "reporter", "--area", "5001", "--text", "พรุ่งนี้",
                                     "--at", later, env=env)  # fmt: skip
        assert code == 0 and "scheduled" in out

        code, out, _err = await _cli("status", env=env)
        assert code == 0
        lines = out.splitlines()
        assert lines[0].startswith("id\tsend_at\tstatus")
        second, first = lines[1].split("\t"), lines[2].split("\t")
        assert second[0] == "2" and second[2] == "scheduled"
        assert first[0] == "1" and first[2] == "done" and first[4:8] == ["503", "0", "0", "1"]

        # With Telegram's credentials missing here, LINE goes and the rest is left to serve.
        no_tg = {k: v for k, v in env.items() if not k.startswith("TELEGRAM_")}
        code, out, err = await _cli("--role", "reporter", "--area", "50", "--text", "อีกครั้ง",
                                    env=no_tg)  # fmt: skip
        assert code == 0 and "`fieldbot serve` sends it" in err
        async with core.sessions() as session:
            alert = await session.get(OutboxMessage, alert.id)
            assert alert is not None and alert.status == "pending"  # not marked skipped
        code, out, _err = await _cli("status", "1", env=env)
        assert code == 0 and len(out.splitlines()) == 2
        code, _out, err = await _cli("status", "9", env=env)
        assert code == 2 and "no broadcast #9" in err

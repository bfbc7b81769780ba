"""Official village lists: a CSV file read and checked line by line, stored once however often
it is loaded, and the villages that reporting completeness counts (on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

from bot.service import Core
from storage import completeness, villages
from storage.models import Report, User

WHEN = dt.datetime(2026, 3, 20, 2, 0, tzinfo=dt.UTC)
LATER = WHEN + dt.timedelta(days=30)

# ต.ศรีภูมิ (500101) and ต.พระสิงห์ (500102), อ.เมืองเชียงใหม่ (5001); ต.ริมใต้ (500701), อ.แม่ริม.
ENGLISH = """\
code,village_no,name
50010101,1,บ้านเมืองเก่า
50010102,2,บ้านป่าแดง
50010201,1,บ้านพระสิงห์
50070101,1,บ้านริมใต้
"""


async def _load(core: Core, text: str | bytes, *, replace: bool = False) -> villages.Saved:
    parsed = villages.parse(text.encode() if isinstance(text, str) else text)
    async with core.sessions() as session, session.begin():
        await villages.check_subdistricts(session, parsed)
        assert parsed.problems == []
        return await villages.save(session, parsed.rows, WHEN, replace=replace)


async def _listed(core: Core) -> dict[str, str]:
    async with core.sessions() as session:
        return {v.code: v.name_th for v in await villages.in_area(session, "TH")}


async def test_a_list_loads_and_loading_it_again_updates_never_duplicates(core: Core) -> None:
    first = await _load(core, ENGLISH)
    assert (first.added, first.updated, first.unchanged) == (4, 0, 0)
    assert first.districts == {"5001": 3, "5007": 1}
    again = await _load(core, ENGLISH)
    assert (again.added, again.updated, again.unchanged, again.missing) == (0, 0, 4, 0)
    assert len(await _listed(core)) == 4

    # A newer list of อ.เมืองเชียงใหม่: one village renamed, one new, one left out (kept).
    newer = "code,village_no,name\n50010101,1,บ้านเมืองเก่าเหนือ\n50010102,2,บ้านป่าแดง\n"
    newer += "50010103,3,บ้านใหม่\n"
    saved = await _load(core, newer)
    assert (saved.added, saved.updated, saved.unchanged) == (1, 1, 1)
    assert (saved.missing, saved.removed) == (1, 0)
    assert saved.districts == {"5001": 4}
    listed = await _listed(core)
    assert listed["50010101"] == "บ้านเมืองเก่าเหนือ" and "50010201" in listed
    assert len(listed) == 5

    replaced = await _load(core, newer, replace=True)
    assert (replaced.missing, replaced.removed) == (1, 1)
    listed = await _listed(core)
    assert "50010201" not in listed and "50070101" in listed  # another district: untouched
    async with core.sessions() as session:
        assert await villages.counts(session) == {"5001": 3, "5007": 1}


async def test_thai_header_with_a_byte_order_mark_in_any_column_order(core: Core) -> None:
    text = "ชื่อหมู่บ้าน,รหัส,หมู่ที่\r\nบ้านเมืองเก่า,50010101,ม.1\r\n\r\n บ้านป่าแดง ,๕๐๐๑๐๑๐๒,หมู่ ๒\r\n"
    parsed = villages.parse(b"\xef\xbb\xbf" + text.encode())
    assert parsed.problems == []
    assert [(r.line, r.code, r.village_no, r.name) for r in parsed.rows] == [
        (2, "50010101", 1, "บ้านเมืองเก่า"),
        (4, "50010102", 2, "บ้านป่าแดง"),
    ]
    saved = await _load(core, b"\xef\xbb\xbf" + text.encode())
    assert saved.added == 2


def test_a_file_without_a_header_is_read_in_the_usual_column_order() -> None:
    parsed = villages.parse("50010101,1,บ้านเมืองเก่า\n50010102,02,บ้านป่าแดง,extra\n".encode())
    assert parsed.problems == []
    assert [(r.line, r.code, r.village_no) for r in parsed.rows] == [
        (1, "50010101", 1),
        (2, "50010102", 2),
    ]


async def test_each_bad_row_is_named_by_its_line(core: Core) -> None:
    text = "\n".join([
        "code,village_no,name",  # 1
        "50010101,1,บ้านเมืองเก่า",  # 2: fine
        "5001010,2,สั้นไป",  # 3
        "50010103,4,หมู่ไม่ตรง",  # 4
        "99990101,1,ตำบลไม่มีจริง",  # 5
        "50010101,1,ซ้ำ",  # 6
        "",  # 7: blank, skipped
        "50010104,4,",  # 8
        "50010105,ห้า,บ้านห้า",  # 9
        "50010100,0,ศูนย์",  # 10
        "50010106,6",  # 11
    ])  # fmt: skip
    parsed = villages.parse(text.encode())
    async with core.sessions() as session:
        await villages.check_subdistricts(session, parsed)
    said = {p.line: p.message for p in parsed.problems}
    assert sorted(said) == [3, 4, 5, 6, 8, 9, 10, 11]
    assert "'5001010' is not 8 digits" in said[3]
    assert "หมู่ 4 does not match the village code 50010103" in said[4]
    assert "999901, which is not a known subdistrict" in said[5]
    assert "listed on line 2 already" in said[6]
    assert "no name" in said[8]
    assert "'ห้า' is not a number" in said[9]
    assert "ends in 00" in said[10]
    assert "2 column(s) where 3 are needed" in said[11]
    assert [r.line for r in parsed.rows] == [2]
    assert not parsed.fatal


def test_a_file_that_cannot_be_read_at_all_is_one_problem() -> None:
    latin = villages.parse("code,village_no,name\n50010101,1,caf\u00e9\n".encode("cp1252"))
    assert latin.fatal and latin.rows == []
    assert latin.problems[0].line == 2 and "not UTF-8" in latin.problems[0].message
    thai_excel = villages.parse("50010101,1,บ้าน\n".encode("cp874"))  # Excel's Thai CSV
    assert thai_excel.fatal and "CSV UTF-8" in thai_excel.problems[0].message

    header = villages.parse(b"code,moo_no,name\n50010101,1,x\n")
    assert header.fatal and header.rows == []
    assert header.problems[0].line == 1
    assert "village_no: one of villageno" in header.problems[0].message


async def _reporter(core: Core, name: str, subdistrict: str, village: int) -> int:
    async with core.sessions() as session, session.begin():
        user = User(platform="line", platform_user_id=f"U{name}", role="village_head",
                    consent_at=WHEN, province_code=subdistrict[:2], district_code=subdistrict[:4],
                    subdistrict_code=subdistrict, village_no=village)  # fmt: skip
        session.add(user)
        await session.flush()
        return user.id or 0


async def _activity(core: Core, reporter: int, subdistrict: str, village: int) -> None:
    async with core.sessions() as session, session.begin():
        session.add(Report(reference=f"ACT-2569-{reporter:06d}", kind="activity",
                           reporter_id=reporter, province_code=subdistrict[:2],
                           district_code=subdistrict[:4], subdistrict_code=subdistrict,
                           village_no=village, form_id="activity", created_at=WHEN,
                           updated_at=WHEN))  # fmt: skip


async def test_completeness_counts_the_list_where_a_district_has_one(core: Core) -> None:
    # Registered: หมู่ 1 ศรีภูมิ (reported), หมู่ 9 ศรีภูมิ (not on the list), หมู่ 4 ริมเหนือ in
    # แม่ริม, which has no list until the end.
    await _activity(core, await _reporter(core, "a", "500101", 1), "500101", 1)
    await _reporter(core, "b", "500101", 9)
    await _activity(core, await _reporter(core, "c", "500702", 4), "500702", 4)
    since = WHEN - dt.timedelta(days=1)
    async with core.sessions() as session:
        before = await completeness.villages(session, "50", since)
    assert [(v.subdistrict_code, v.village_no, v.reported, v.listed) for v in before] == [
        ("500101", 1, True, False),
        ("500101", 9, False, False),
        ("500702", 4, True, False),
    ]

    await _load(core, ENGLISH.replace("50070101,1,บ้านริมใต้\n", ""))
    async with core.sessions() as session:
        found = await completeness.villages(session, "50", since)
        district = await completeness.villages(session, "5001", since)
        national = await completeness.villages(session, "TH", since)
    assert [(v.subdistrict_code, v.village_no, v.name, v.reported, v.listed) for v in found] == [
        ("500101", 1, "บ้านเมืองเก่า", True, True),
        ("500101", 2, "บ้านป่าแดง", False, True),  # nobody registered: counted, not reported
        ("500102", 1, "บ้านพระสิงห์", False, True),
        ("500702", 4, None, True, False),  # แม่ริม: still by who registered
    ]
    assert district == found[:3] and national == found

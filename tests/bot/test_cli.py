"""The command line as a person uses it: `fieldbot chat` fed by a pipe, then
`fieldbot reports export`, on SQLite and PostgreSQL; `--help`; bad settings. In this process
(`main(argv)`, tests/support/cli.py), but for one run of `python -m bot.cli` as a process."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import time
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

from storage.migrate import head_revision
from tests.support.cli import run_cli
from tests.support.env import environment

THAI = re.compile("[\u0e00-\u0e7f]")
SCRIPT = """\
ภาษาไทย
ยินยอม
สมชาย ใจดี
081 234 5678
ผู้ใหญ่บ้าน
เชียงใหม่
เมืองเชียงใหม่
สุเทพ
ม.3
ยืนยัน
รายงานกิจกรรม
ธนาคารน้ำใต้ดิน
เมื่อวาน
ที่หมู่บ้านของฉัน
สามสิบ
ภาคประชาชน
ขุดบ่อธนาคารน้ำใต้ดิน 5 บ่อ
/photo {photo}
เสร็จ
ยืนยัน
แจ้งปัญหา
ภัยแล้ง
ด่วน
๔๐
น้ำประปาไม่ไหลมา 3 วันแล้ว
ไม่มีรูป
/location 18.79 98.95
ยืนยัน
"""


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return environment(
        drop=("FIELDBOT_", "DATABASE_"),
        DATABASE_URL=database_url,
        FIELDBOT_MEDIA_DIR=str(tmp_path / "media"),
    )


def test_piped_chat_stores_reports_visible_in_export(
    database_url: str, tmp_path: Path, photo_file: Path
) -> None:
    env = _env(database_url, tmp_path)
    chat = run_cli(["chat", "--user", "somchai"], env, SCRIPT.format(photo=photo_file))
    assert chat.code == 0, chat.err
    assert "> ยืนยัน" in chat.out  # piped input is echoed, so the output reads as a transcript
    assert "ลงทะเบียนเรียบร้อย" in chat.out
    assert "ACT-" in chat.out and "PRB-" in chat.out

    exported = run_cli(["reports", "export", "--out", "-"], env)
    assert exported.code == 0, exported.err
    rows = list(csv.reader(io.StringIO(exported.out)))
    header, body = rows[0], rows[1:]
    assert header[0] == "เลขที่"  # the default language only
    assert len(body) == 2
    by_kind = {row[1]: dict(zip(header, row, strict=True)) for row in body}
    activity = by_kind["กิจกรรม"]
    assert activity["จังหวัด"] == "เชียงใหม่"
    assert activity["ตำบล"] == "สุเทพ"
    assert activity["หมู่ที่"] == "3"
    assert activity["ผู้เข้าร่วม"] == "30"
    assert activity["กิจกรรม/ปัญหา"].startswith("ธนาคารน้ำใต้ดิน")
    assert re.fullmatch(r"2026-\d\d-\d\d \d\d:\d\d", activity["วันเวลาที่ส่ง"])
    assert re.fullmatch(r"2026-\d\d-\d\d", activity["วันที่ทำกิจกรรม"])
    assert activity["รูปภาพ"] == "1" and activity["จำนวนรูป"] == "1"  # no links, no files
    assert str(tmp_path / "media") not in exported.out  # never a path on the server
    assert "--photos DIR" in exported.err and "FIELDBOT_PUBLIC_URL" in exported.err
    problem = by_kind["ปัญหา"]
    assert problem["ครัวเรือนที่เดือดร้อน"] == "40"
    assert problem["ละติจูด"] == "18.79"
    assert problem["ระยะเวลาดำเนินการ (วัน)"] == "0" and problem["ผู้รับเรื่อง"] == ""
    assert activity["ระยะเวลาดำเนินการ (วัน)"] == ""  # an activity is no case

    english = run_cli(["reports", "export", "--lang", "en", "--be", "--out", "-"], env)
    assert english.code == 0, english.err
    header, *body = list(csv.reader(io.StringIO(english.out)))
    assert not [h for h in header if THAI.search(h)], header
    by_kind = {row[1]: dict(zip(header, row, strict=True)) for row in body}
    assert set(by_kind) == {"Activity", "Problem"}
    activity = by_kind["Activity"]
    assert activity["Province"] == "Chiang Mai" and activity["Role"] == "Village head"
    assert re.fullmatch(r"\d{1,2}/\d{1,2}/2569 \d\d:\d\d", activity["Submitted at"])
    assert re.fullmatch(r"\d{1,2}/\d{1,2}/2569", activity["Activity date"])
    assert by_kind["Problem"]["Status"] == "waiting"

    only_problems = run_cli(
        ["reports", "export", "--kind", "problem", "--district", "5001", "--out", "-"], env
    )
    assert len(list(csv.reader(io.StringIO(only_problems.out)))) == 2

    xlsx = tmp_path / "reports.xlsx"
    photos = tmp_path / "desk photos"
    made = run_cli(
        ["reports", "export", "--format", "xlsx", "--be", "--photos", str(photos),
         "--out", str(xlsx)], env,
    )  # fmt: skip
    assert made.code == 0, made.err
    assert "copied 1 photo(s)" in made.err and "--photos DIR" not in made.err
    sheet = load_workbook(xlsx).active
    assert isinstance(sheet, Worksheet)
    assert sheet.max_row == 3
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:{_last(sheet)}3"
    cells = {str(c.value): i for i, c in enumerate(sheet[1], start=1)}
    submitted = sheet.cell(2, cells["วันเวลาที่ส่ง"])
    assert isinstance(submitted, Cell) and submitted.is_date
    assert submitted.number_format == "d/m/bbbb hh:mm"
    occurred = sheet.cell(2, cells["วันที่ทำกิจกรรม"])
    assert isinstance(occurred, Cell) and occurred.is_date and occurred.number_format == "d/m/bbbb"
    (copied,) = photos.iterdir()
    assert copied.read_bytes() == photo_file.read_bytes()
    assert sheet.cell(2, cells["รูปภาพ"]).value == copied.name
    assert re.fullmatch(r"ACT-\d+-\d+-1\.png", copied.name), copied.name

    future = run_cli(["reports", "export", "--since", "2999-01-01", "--out", "-"], env)
    assert len(list(csv.reader(io.StringIO(future.out)))) == 1  # header only

    linked = {**env, "FIELDBOT_PUBLIC_URL": "https://bot.example.org",
              "FIELDBOT_SECRET_KEY": "k" * 32}  # fmt: skip
    for days in ("1", "20"):
        result = run_cli(["reports", "export", "--link-days", days, "--out", "-"], linked)
        assert result.code == 0, result.err
        header, *body = list(csv.reader(io.StringIO(result.out)))
        link = next(r for r in body if r[1] == "กิจกรรม")[header.index("รูปภาพ")]
        assert link.startswith("https://bot.example.org/media/") and "&sig=" in link
        found = re.search(r"exp=(\d+)", link)
        assert found is not None, link
        left = int(found.group(1)) - time.time()
        assert int(days) * 86400 <= left <= (int(days) + 1) * 86400, left
        assert str(tmp_path / "media") not in result.out


def _last(sheet: Worksheet) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(sheet.max_column)


def test_export_options_refuse_bad_input_in_one_line(tmp_path: Path) -> None:
    env = _env(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path)
    no_links = run_cli(["reports", "export", "--link-days", "3", "--out", "-"], env)
    assert no_links.code != 0 and "Traceback" not in no_links.err
    assert no_links.err.strip().splitlines()[-1].startswith("fieldbot: --link-days: photo links")
    (tmp_path / "a-file").write_text("x")
    not_dir = run_cli(["reports", "export", "--photos", str(tmp_path / "a-file"), "--out", "-"],
                      env)  # fmt: skip
    assert not_dir.code != 0 and "is a file, not a directory" in not_dir.err
    for option, value in (("--lang", "fr"), ("--link-days", "0"), ("--link-days", "x")):
        refused = run_cli(["reports", "export", option, value, "--out", "-"], env)
        assert refused.code == 2 and option in refused.err and "Traceback" not in refused.err
    both = run_cli(["reports", "export", "--photos", "p", "--link-days", "3", "--out", "-"], env)
    assert both.code == 2 and "not allowed with argument" in both.err


def test_fieldbot_runs_as_a_process_of_its_own(tmp_path: Path) -> None:
    """The command as the shell starts it: its help with exit status 0, and a bad setting
    refused with exit status 2 and one line on standard error."""

    def fieldbot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False,
        )  # fmt: skip

    shown = fieldbot("--help", env=environment())
    assert shown.returncode == 0, shown.stderr
    assert "usage: fieldbot" in shown.stdout and "reports" in shown.stdout
    env = _env(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path)
    bad = fieldbot("db", "current", env={**env, "FIELDBOT_TIMEZONE": "Mars/Olympus"})
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("fieldbot: invalid setting: FIELDBOT_TIMEZONE")
    assert "Traceback" not in bad.stderr
    # Read by a pipe that closes early (`| head`): no "cannot reach the database".
    reader = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "areas", "search", "เมือง", "--limit", "100"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.close()  # before the command writes: its first line finds the pipe closed
    assert reader.wait(timeout=120) in (0, 141)
    assert b"database" not in reader.stderr.read()


def test_help_explains_commands() -> None:
    result = run_cli(["--help"], environment())
    assert result.code == 0
    for command in ("serve", "chat", "db", "reports"):
        assert command in result.out
    export_help = run_cli(["reports", "export", "--help"], environment())
    for option in ("--since", "--format", "--lang", "--be", "--photos", "--link-days", "--out"):
        assert option in export_help.out
    assert "Buddhist Era" in export_help.out and "FIELDBOT_PUBLIC_URL" in export_help.out


def test_db_upgrade_and_bad_settings(tmp_path: Path) -> None:
    env = _env(f"sqlite:///{tmp_path / 'new.db'}", tmp_path)
    upgraded = run_cli(["db", "upgrade"], env)
    assert upgraded.code == 0, upgraded.err
    assert head_revision() in upgraded.out
    current = run_cli(["db", "current"], env)
    assert current.out.strip() == head_revision()

    bad = run_cli(["db", "current"], {**env, "FIELDBOT_TIMEZONE": "Mars/Olympus"})
    assert bad.code == 2
    assert "FIELDBOT_TIMEZONE" in bad.err or "timezone" in bad.err.lower()


def test_bad_since_date_is_explained(tmp_path: Path) -> None:
    env = _env(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path)
    result = run_cli(["reports", "export", "--since", "someday", "--out", "-"], env)
    assert result.code != 0
    assert "cannot read the date" in result.err


def test_failures_are_one_clear_line_not_a_traceback(tmp_path: Path) -> None:
    env = _env(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path)
    no_dir = run_cli(["reports", "export", "--out", str(tmp_path / "missing" / "x.csv")], env)
    assert no_dir.code == 1
    assert "No such file or directory" in no_dir.err and "Traceback" not in no_dir.err

    unreachable = {**env, "DATABASE_URL": "postgresql://postgres:s3cret@127.0.0.1:1/nowhere"}
    down = run_cli(["db", "current"], unreachable)
    assert down.code == 1
    assert "cannot reach the database" in down.err and "Traceback" not in down.err
    assert "s3cret" not in down.err  # the password is never printed

    level = run_cli(["db", "current"], {**env, "FIELDBOT_LOG_LEVEL": "verbose"})
    assert level.code == 2 and "FIELDBOT_LOG_LEVEL" in level.err

    empty = run_cli(["db", "current"], {**env, "TELEGRAM_BOT_TOKEN": " "})
    assert empty.code == 2 and "Traceback" not in empty.err
    assert empty.err.startswith("fieldbot: invalid setting: TELEGRAM_BOT_TOKEN: ")
    assert "unset it to turn the Telegram channel off, or give it a value" in empty.err


def test_platform_set_up_commands_say_what_is_missing(tmp_path: Path) -> None:
    env = _env(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path)
    env = {k: v for k, v in env.items() if not k.startswith(("LINE_", "TELEGRAM_"))}
    line = run_cli(["line", "setup-richmenu"], env)
    assert line.code != 0 and "LINE_CHANNEL_ACCESS_TOKEN" in line.err
    telegram = run_cli(["telegram", "set-webhook", "https://example.org/hook"], env)
    assert telegram.code != 0 and "TELEGRAM_WEBHOOK_SECRET" in telegram.err


def test_invite_join_and_users_commands(database_url: str, tmp_path: Path) -> None:
    env = _env(database_url, tmp_path)
    made = run_cli(["invite", "create", "--role", "officer", "--area", "5001"], env)
    assert made.code == 0, made.err
    code = made.out.strip().splitlines()[-1]
    assert len(code) == 11

    chat = run_cli(
        ["chat", "--user", "officer1"],
        env,
        f"/join {code}\nภาษาไทย\nยินยอม\nปลัดสมศักดิ์ ดีเลิศ\nข้าม\nยืนยัน\n",
    )
    assert "คุณเป็นเจ้าหน้าที่ของ อ.เมืองเชียงใหม่ จ.เชียงใหม่ แล้ว" in chat.out, chat.out

    listed = run_cli(["users", "list", "--role", "officer"], env)
    rows = listed.out.strip().splitlines()
    assert len(rows) == 2 and "ปลัดสมศักดิ์" in rows[1] and "5001" in rows[1]
    user_id = rows[1].split("\t")[0]
    assert run_cli(["users", "revoke", user_id], env).code == 0
    assert len(run_cli(["users", "list", "--role", "officer"], env).out.splitlines()) == 1
    granted = run_cli(["users", "grant", user_id, "--role", "coordinator", "--area", "TH"], env)
    assert granted.code == 0 and "coordinator of TH" in granted.out

    wrong = run_cli(["invite", "create", "--role", "officer", "--area", "50"], env)
    assert wrong.code != 0 and "not an area for an officer" in wrong.err
    bad_time = run_cli(
        ["invite", "create", "--role", "admin", "--area", "TH", "--expires", "x"], env
    )
    assert bad_time.code == 2 and "use a number" in bad_time.err
    for option, value, said in (
        ("--uses", "99999999999999999999", "a whole number from 1 to 10000"),
        ("--expires", "999999999d", "up to 365d"),
        ("--expires", "0d", "up to 365d"),
    ):
        refused = run_cli(
            ["invite", "create", "--role", "admin", "--area", "TH", option, value], env
        )
        assert refused.code == 2 and said in refused.err, refused.err
        assert "Traceback" not in refused.err
    too_big = run_cli(["users", "grant", "99999999999", "--role", "admin", "--area", "TH"], env)
    assert too_big.code == 2 and "an id is a whole number" in too_big.err


def test_area_options_take_a_name_that_names_one_area(database_url: str, tmp_path: Path) -> None:
    """Every --area takes a name as well as a code (bot/area_option.py): Thai or English, the
    level the option needs preferred; a name of several areas is refused with their codes."""
    env = _env(database_url, tmp_path)
    made = run_cli(["invite", "create", "--role", "officer", "--area", "แม่ริม"], env)
    assert made.code == 0, made.err
    assert "invite for an officer of 5007" in made.out  # the district, not a subdistrict
    assert "--area 'แม่ริม': 5007 แม่ริม / Mae Rim, a district" in made.err
    english = run_cli(["invite", "create", "--role", "coordinator", "--area", "Chiang Mai"], env)
    assert english.code == 0 and "invite for a coordinator of 50:" in english.out
    country = run_cli(["invite", "create", "--role", "admin", "--area", "ประเทศไทย"], env)
    assert country.code == 0 and "invite for an admin of TH" in country.out

    several = run_cli(["invite", "create", "--role", "officer", "--area", "เมือง"], env)
    assert several.code == 2 and several.out == ""
    assert "areas have this name; give the code of the one you mean:" in several.err
    districts = [line for line in several.err.splitlines() if line.startswith("  ")]
    assert len(districts) == 13 and districts[-1].startswith("  … and ")  # 12 shown, and more
    assert all("  district  " in line for line in districts[:-1])
    unknown = run_cli(["invite", "create", "--role", "officer", "--area", "ไม่มีที่ไหนเลย"], env)
    assert unknown.code == 2 and "no area has a name like this" in unknown.err
    # A role is never given on a guess: เชียงใหม่ is not the name of อ.เมืองเชียงใหม่.
    guessed = run_cli(["invite", "create", "--role", "officer", "--area", "เชียงใหม่"], env)
    assert guessed.code == 2 and "is not the full name of an area" in guessed.err
    assert "5001 เมืองเชียงใหม่" in guessed.err
    typo = run_cli(["invite", "create", "--role", "officer", "--area", "แม่ริn"], env)
    assert typo.code == 2 and typo.out == ""
    province = run_cli(["invite", "create", "--role", "officer", "--area", "จ.ลำพูน"], env)
    assert province.code == 2
    assert "is ลำพูน / Lamphun, a province: not an area for an officer" in province.err

    chat = run_cli(["chat", "--user", "officer1"], env, "ภาษาไทย\nยินยอม\nสมศรี\nข้าม\n"
                   "ผู้ใหญ่บ้าน\nเชียงใหม่\nแม่ริม\nริมใต้\nม.2\nยืนยัน\n")  # fmt: skip
    assert chat.code == 0, chat.err
    listed = run_cli(["users", "list", "--area", "อ.แม่ริม"], env)
    assert listed.code == 0 and len(listed.out.splitlines()) == 2 and "สมศรี" in listed.out
    user_id = listed.out.splitlines()[1].split("\t")[0]
    granted = run_cli(["users", "grant", user_id, "--role", "officer", "--area", "สันทราย"], env)
    assert granted.code == 0 and "officer of 5014" in granted.out
    revoked = run_cli(["users", "revoke", user_id, "--area", "San Sai"], env)
    assert revoked.code == 0 and "1 staff role(s) taken away" in revoked.out


def test_export_areas_are_checked_not_exported_as_nothing(
    database_url: str, tmp_path: Path
) -> None:
    env = _env(database_url, tmp_path)
    for option, value, said in (
        ("--province", "xyz", "no area has a name like this"),
        ("--district", "50", "--district takes a district here"),
        ("--province", "5001", "--province takes a province here"),
        ("--area", "99", "no area has this code"),
    ):
        refused = run_cli(["reports", "export", "--out", "-", option, value], env)
        assert refused.code == 2 and said in refused.err, refused.err
    named = run_cli(["reports", "export", "--out", "-", "--area", "เชียงใหม่"], env)
    assert named.code == 0 and "50 เชียงใหม่ / Chiang Mai, a province" in named.err
    apart = run_cli(["reports", "export", "--out", "-", "--province", "51", "--district", "5001"],
                    env)  # fmt: skip
    assert apart.code != 0 and "is not in province 51" in apart.err


def test_every_command_and_subcommand_has_a_description() -> None:
    """`--help` on any command says what it does, not only its usage line."""
    import argparse

    from bot.cli import _parser

    missing = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    if not sub.description:
                        missing.append(" ".join([*path, name]))
                    walk(sub, [*path, name])

    walk(_parser(), [])
    assert missing == []
    # `broadcast status` is a subcommand with its own page, not the page of sending one.
    status = run_cli(["broadcast", "status", "--help"], environment())
    assert status.code == 0
    assert status.out.startswith("usage: fieldbot broadcast status [-h] [ID]")
    assert "How broadcasts went, one line each" in status.out
    assert "--role" not in status.out and "--text" not in status.out
    sending = run_cli(["broadcast", "--help"], environment())
    assert (
        "--role" in sending.out and "status       sent, pending, failed and blocked" in sending.out
    )
    mixed = run_cli(["broadcast", "status", "3", "--text", "x"], environment())
    assert mixed.code == 2 and "unrecognized arguments: --text x" in mixed.err
    before = run_cli(["broadcast", "--text", "x", "--dry-run", "status"], environment())
    assert before.code == 2
    assert "`broadcast status` sends nothing: leave out --text, --dry-run" in before.err


def test_areas_search_finds_codes_by_name_with_typos() -> None:
    found = run_cli(["areas", "search", "เชียงไหม่", "--limit", "3"], environment())
    assert found.code == 0, found.err
    first = found.out.splitlines()[0].split()
    assert first[:3] == ["50", "province", "เชียงใหม่"]
    english = run_cli(["areas", "search", "mae rim", "--limit", "1"], environment())
    assert english.out.startswith("5007") and "(เชียงใหม่ / Chiang Mai)" in english.out
    sub = run_cli(["areas", "search", "สุเทพ", "--limit", "1"], environment())
    assert sub.out.startswith("500108  subdistrict")
    nothing = run_cli(["areas", "search", "zzzz"], environment())
    assert nothing.code == 1 and "no area is named like" in nothing.err


# ต.ศรีภูมิ (500101) and ต.พระสิงห์ (500102) of อ.เมืองเชียงใหม่, as the province's office
# writes them: a Thai header, Excel's byte-order mark, Thai digits here and there.
VILLAGES_TH = "\ufeffรหัส,หมู่,ชื่อหมู่บ้าน\n50010101,1,บ้านเมืองเก่า\n50010102,๒,บ้านป่าแดง\n" + (
    "50010201,หมู่ 1,บ้านพระสิงห์\n"
)


def test_villages_import_checks_every_row_and_loads_a_list_once(
    database_url: str, tmp_path: Path
) -> None:
    env = _env(database_url, tmp_path)
    good = tmp_path / "villages.csv"
    good.write_text(VILLAGES_TH, encoding="utf-8")
    loaded = run_cli(["villages", "import", str(good)], env)
    assert loaded.code == 0, loaded.err
    lines = loaded.out.splitlines()
    assert lines[0] == f"loaded 3 villages from {good}: 3 new, 0 with a new name, 0 unchanged"
    assert "5001\t3\tเมืองเชียงใหม่, เชียงใหม่ / Mueang Chiang Mai, Chiang Mai" in lines
    assert lines[-1] == "reporting completeness now counts every listed village of this district"
    # Two subdistricts of อ.เมืองเชียงใหม่'s sixteen: said, not trusted silently.
    assert "warning: district 5001" in loaded.err and "in 2 of its 16 subdistricts" in loaded.err

    again = run_cli(["villages", "import", str(good)], env)
    assert again.code == 0 and "0 new, 0 with a new name, 3 unchanged" in again.out
    listed = run_cli(["villages", "list"], env)
    assert listed.out.splitlines()[1:] == [
        "5001\t3\tเมืองเชียงใหม่, เชียงใหม่ / Mueang Chiang Mai, Chiang Mai",
        "3 villages listed in 1 district",
    ]

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,village_no,name\n50010103,3,บ้านใหม่\n5001010,4,สั้น\n50010105,6,ผิดหมู่\n"
        "99990101,1,ไม่มีตำบลนี้\n\n50010103,3,ซ้ำ\n",
        encoding="utf-8",
    )
    refused = run_cli(["villages", "import", str(bad)], env)
    assert refused.code == 1 and refused.out == ""
    assert refused.err.splitlines() == [
        f"fieldbot: {bad}: 4 of 5 rows cannot be loaded:",
        "  line 3: the village code '5001010' is not 8 digits (subdistrict code 6 and หมู่ "
        "number 2, such as 50010103)",
        "  line 4: หมู่ 6 does not match the village code 50010105, whose last two digits say หมู่ 5",
        "  line 5: the village code 99990101 begins with 999901, which is not a known "
        "subdistrict code",
        "  line 7: the village code 50010103 is listed on line 2 already",
        "nothing loaded: mend those lines, or give --skip-bad to load the other 1",
    ]
    tried = run_cli(["villages", "import", str(bad), "--skip-bad", "--dry-run"], env)
    assert tried.code == 0 and "would load 1 village from" in tried.out
    assert tried.out.splitlines()[-1] == "dry run: nothing loaded"
    assert run_cli(["villages", "list", "--area", "5001"], env).out.count("\n") == 5  # 3 + 2
    replacing = run_cli(["villages", "import", str(bad), "--skip-bad", "--replace"], env)
    assert replacing.code == 1 and "--replace needs a file without bad rows" in replacing.err
    skipped = run_cli(["villages", "import", str(bad), "--skip-bad"], env)
    assert skipped.code == 0 and "loaded 1 village from" in skipped.out
    assert "4 bad rows left out (listed above)" in skipped.out
    assert "5001\t4\t" in skipped.out

    newer = tmp_path / "newer.csv"
    newer.write_text("50010101,1,บ้านเมืองเก่าเหนือ\n50010102,2,บ้านป่าแดง\n", encoding="utf-8")
    replaced = run_cli(["villages", "import", str(newer), "--replace"], env)
    assert replaced.code == 0, replaced.err
    assert "0 new, 1 with a new name, 1 unchanged" in replaced.out
    assert "removed 2 villages of these districts that the file leaves out" in replaced.out

    by_name = run_cli(["villages", "list", "--area", "อ.เมืองเชียงใหม่"], env)
    assert by_name.out.splitlines() == [
        "code\tหมู่\tname\tsubdistrict",
        "50010101\t1\tบ้านเมืองเก่าเหนือ\tศรีภูมิ",
        "50010102\t2\tบ้านป่าแดง\tศรีภูมิ",
        "2 villages",
    ]
    province = run_cli(["villages", "list", "--area", "จ.เชียงใหม่"], env)
    assert "no list yet for 24 districts of 50: " in province.out


def test_villages_import_refuses_a_file_it_cannot_read(tmp_path: Path) -> None:
    env = _env(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path)
    excel = tmp_path / "thai-excel.csv"
    excel.write_bytes("รหัส,หมู่,ชื่อหมู่บ้าน\n50010101,1,บ้านเมืองเก่า\n".encode("cp874"))
    refused = run_cli(["villages", "import", str(excel)], env)
    assert refused.code == 1
    assert refused.err.splitlines() == [
        f"fieldbot: {excel} cannot be read:",
        '  line 1: the file is not UTF-8 text; in Excel, save it as "CSV UTF-8 (comma delimited)"',
        "nothing loaded",
    ]
    header = tmp_path / "header.csv"
    header.write_text("code,number,name\n50010101,1,บ้านเมืองเก่า\n", encoding="utf-8")
    unread = run_cli(["villages", "import", str(header)], env)
    assert unread.code == 1 and "line 1: the header row lacks a column (village_no: " in unread.err
    missing = run_cli(["villages", "import", str(tmp_path / "nowhere.csv")], env)
    assert missing.code == 1 and "No such file or directory" in missing.err
    assert "Traceback" not in missing.err + unread.err + refused.err

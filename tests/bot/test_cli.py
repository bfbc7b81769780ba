"""The command line as a person uses it: `fieldbot chat` fed by a pipe, then
`fieldbot reports export`, on SQLite and PostgreSQL; `--help`; bad settings."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from storage.migrate import head_revision

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


def _fieldbot(
    args: list[str], env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FIELDBOT_", "DATABASE_"))}
    env.update(DATABASE_URL=database_url, FIELDBOT_MEDIA_DIR=str(tmp_path / "media"))
    return env


def test_piped_chat_stores_reports_visible_in_export(
    database_url: str, tmp_path: Path, photo_file: Path
) -> None:
    env = _env(database_url, tmp_path)
    chat = _fieldbot(["chat", "--user", "somchai"], env, SCRIPT.format(photo=photo_file))
    assert chat.returncode == 0, chat.stderr
    assert "> ยืนยัน" in chat.stdout  # piped input is echoed, so the output reads as a transcript
    assert "ลงทะเบียนเรียบร้อย" in chat.stdout
    assert "ACT-" in chat.stdout and "PRB-" in chat.stdout

    exported = _fieldbot(["reports", "export", "--out", "-"], env)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.reader(io.StringIO(exported.stdout)))
    header, body = rows[0], rows[1:]
    assert header[0] == "เลขที่ / Reference"
    assert len(body) == 2
    by_kind = {row[1]: dict(zip(header, row, strict=True)) for row in body}
    activity = by_kind["กิจกรรม / Activity"]
    assert activity["จังหวัด / Province"] == "เชียงใหม่ / Chiang Mai"
    assert activity["ตำบล / Subdistrict"].startswith("สุเทพ")
    assert activity["หมู่ที่ / Village no."] == "3"
    assert activity["ผู้เข้าร่วม / Participants"] == "30"
    assert activity["กิจกรรม/ปัญหา / Activity/problem"].startswith("ธนาคารน้ำใต้ดิน")
    photo_path = Path(activity["รูปภาพ / Photos"])
    assert photo_path.read_bytes() == photo_file.read_bytes()
    problem = by_kind["ปัญหา / Problem"]
    assert problem["ครัวเรือนที่เดือดร้อน / Households affected"] == "40"
    assert problem["ละติจูด / Latitude"] == "18.79"

    only_problems = _fieldbot(
        ["reports", "export", "--kind", "problem", "--district", "5001", "--out", "-"], env
    )
    assert len(list(csv.reader(io.StringIO(only_problems.stdout)))) == 2

    xlsx = tmp_path / "reports.xlsx"
    made = _fieldbot(["reports", "export", "--format", "xlsx", "--out", str(xlsx)], env)
    assert made.returncode == 0, made.stderr
    sheet = load_workbook(xlsx).active
    assert sheet is not None
    assert sheet.max_row == 3

    future = _fieldbot(["reports", "export", "--since", "2999-01-01", "--out", "-"], env)
    assert len(list(csv.reader(io.StringIO(future.stdout)))) == 1  # header only


def test_help_explains_commands() -> None:
    result = _fieldbot(["--help"], dict(os.environ))
    assert result.returncode == 0
    for command in ("serve", "chat", "db", "reports"):
        assert command in result.stdout
    export_help = _fieldbot(["reports", "export", "--help"], dict(os.environ))
    assert "--since" in export_help.stdout and "--format" in export_help.stdout


def test_db_upgrade_and_bad_settings(tmp_path: Path) -> None:
    env = _env(f"sqlite:///{tmp_path / 'new.db'}", tmp_path)
    upgraded = _fieldbot(["db", "upgrade"], env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert head_revision() in upgraded.stdout
    current = _fieldbot(["db", "current"], env)
    assert current.stdout.strip() == head_revision()

    bad = _fieldbot(["db", "current"], {**env, "FIELDBOT_TIMEZONE": "Mars/Olympus"})
    assert bad.returncode == 2
    assert "FIELDBOT_TIMEZONE" in bad.stderr or "timezone" in bad.stderr.lower()


def test_bad_since_date_is_explained(tmp_path: Path) -> None:
    env = _env(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path)
    result = _fieldbot(["reports", "export", "--since", "someday", "--out", "-"], env)
    assert result.returncode != 0
    assert "cannot read the date" in result.stderr


def test_failures_are_one_clear_line_not_a_traceback(tmp_path: Path) -> None:
    env = _env(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path)
    no_dir = _fieldbot(["reports", "export", "--out", str(tmp_path / "missing" / "x.csv")], env)
    assert no_dir.returncode == 1
    assert "No such file or directory" in no_dir.stderr and "Traceback" not in no_dir.stderr

    unreachable = {**env, "DATABASE_URL": "postgresql://postgres:s3cret@127.0.0.1:1/nowhere"}
    down = _fieldbot(["db", "current"], unreachable)
    assert down.returncode == 1
    assert "cannot reach the database" in down.stderr and "Traceback" not in down.stderr
    assert "s3cret" not in down.stderr  # the password is never printed

    level = _fieldbot(["db", "current"], {**env, "FIELDBOT_LOG_LEVEL": "verbose"})
    assert level.returncode == 2 and "FIELDBOT_LOG_LEVEL" in level.stderr

    empty = _fieldbot(["db", "current"], {**env, "TELEGRAM_BOT_TOKEN": " "})
    assert empty.returncode == 2 and "Traceback" not in empty.stderr
    assert empty.stderr.startswith("fieldbot: invalid setting: TELEGRAM_BOT_TOKEN: ")
    assert "unset it to turn the Telegram channel off, or give it a value" in empty.stderr


def test_platform_set_up_commands_say_what_is_missing(tmp_path: Path) -> None:
    env = _env(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path)
    env = {k: v for k, v in env.items() if not k.startswith(("LINE_", "TELEGRAM_"))}
    line = _fieldbot(["line", "setup-richmenu"], env)
    assert line.returncode != 0 and "LINE_CHANNEL_ACCESS_TOKEN" in line.stderr
    telegram = _fieldbot(["telegram", "set-webhook", "https://example.org/hook"], env)
    assert telegram.returncode != 0 and "TELEGRAM_WEBHOOK_SECRET" in telegram.stderr


def test_invite_join_and_users_commands(database_url: str, tmp_path: Path) -> None:
    env = _env(database_url, tmp_path)
    made = _fieldbot(["invite", "create", "--role", "officer", "--area", "5001"], env)
    assert made.returncode == 0, made.stderr
    code = made.stdout.strip().splitlines()[-1]
    assert len(code) == 11

    chat = _fieldbot(
        ["chat", "--user", "officer1"],
        env,
        f"/join {code}\nภาษาไทย\nยินยอม\nปลัดสมศักดิ์ ดีเลิศ\nข้าม\nยืนยัน\n",
    )
    assert "คุณเป็นเจ้าหน้าที่ของ อ.เมืองเชียงใหม่ จ.เชียงใหม่ แล้ว" in chat.stdout, chat.stdout

    listed = _fieldbot(["users", "list", "--role", "officer"], env)
    rows = listed.stdout.strip().splitlines()
    assert len(rows) == 2 and "ปลัดสมศักดิ์" in rows[1] and "5001" in rows[1]
    user_id = rows[1].split("\t")[0]
    assert _fieldbot(["users", "revoke", user_id], env).returncode == 0
    assert len(_fieldbot(["users", "list", "--role", "officer"], env).stdout.splitlines()) == 1
    granted = _fieldbot(["users", "grant", user_id, "--role", "coordinator", "--area", "TH"], env)
    assert granted.returncode == 0 and "coordinator of TH" in granted.stdout

    wrong = _fieldbot(["invite", "create", "--role", "officer", "--area", "50"], env)
    assert wrong.returncode != 0 and "not an area for an officer" in wrong.stderr
    bad_time = _fieldbot(
        ["invite", "create", "--role", "admin", "--area", "TH", "--expires", "x"], env
    )
    assert bad_time.returncode == 2 and "use a number" in bad_time.stderr
    for option, value, said in (
        ("--uses", "99999999999999999999", "a whole number from 1 to 10000"),
        ("--expires", "999999999d", "up to 365d"),
        ("--expires", "0d", "up to 365d"),
    ):
        refused = _fieldbot(
            ["invite", "create", "--role", "admin", "--area", "TH", option, value], env
        )
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    too_big = _fieldbot(["users", "grant", "99999999999", "--role", "admin", "--area", "TH"], env)
    assert too_big.returncode == 2 and "an id is a whole number" in too_big.stderr

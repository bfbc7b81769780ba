"""The `fieldbot` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from tqdm import tqdm

from bot import redact
from bot.channels import catalog, registry
from bot.config import ChannelOffError, Settings, explain
from bot.lists import ConfigError
from handlers import vocab

if TYPE_CHECKING:
    from bot.service import Core
    from storage import export

log = logging.getLogger("fieldbot")

AREA_NAMES = (
    "A name does as well as a code when it names one area (Thai or English, typos forgiven: "
    "`fieldbot areas search`)."
)
DESCRIPTION = """\
fieldbot — a chat field-reporting bot for the pilot-district programme
"บำบัดทุกข์ บำรุงสุข". Settings come from the environment or a .env file (see README)."""


RETENTION_HELP = """\
Do now what `fieldbot serve` does every day at FIELDBOT_RETENTION_CRON (default "15 3 * * *",
in FIELDBOT_TIMEZONE), and print what was done:

  pushes      a push sent, skipped, failed or cancelled longer ago than
              FIELDBOT_RETENTION_OUTBOX_DAYS (default 30 days, at least 1) loses its
              content; the row stays, for the delivery counts. Pushes not sent yet are
              never touched.
  events      platform events handled longer ago than FIELDBOT_RETENTION_EVENT_DAYS
              (default 2 days, at least 1) are forgotten (they are kept to recognise a
              redelivery), and the replies delivered by then with them.
  people      a person who has not written for FIELDBOT_RETENTION_PERSON_DAYS (default
              1825 days: five years; at least 30) is erased as `fieldbot privacy erase`
              erases (the officer of an open case of theirs is told), and recorded in the
              register of requests (via "retention"). Staff who used the desk within the
              period are kept.
  reports     a report filed longer ago than FIELDBOT_RETENTION_REPORT_DAYS (default 1825
              days, at least 30) stays, anonymous: it no longer leads to its reporter, their
              name and phone go from its texts and case notes, and the pushes about it lose
              their content. Its place, photos, case history and statistics stay.

Running it again at once finds nothing more to do."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fieldbot",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    registry.add_commands(commands)  # each channel's own (`chat`, platform set-up)

    serve = commands.add_parser(
        "serve",
        help="run the bot server (webhooks, health check)",
        description="Run the bot server. Migrates the database first. Channels without "
        "credentials are off; GET /healthz reports what is on.",
    )
    serve.add_argument("--host", help="address to listen on (default FIELDBOT_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default FIELDBOT_PORT or 8080)")
    serve.add_argument(
        "--workers",
        type=_count(64),
        default=1,
        help="server processes sharing the port, one per core (default 1; more than one "
        "needs PostgreSQL: SQLite takes one writer at a time)",
    )

    db = commands.add_parser(
        "db", help="database commands",
        description="The database's schema: bring it up to date, or see which revision it is at.",
    )  # fmt: skip
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    db_commands.add_parser(
        "upgrade", help="apply migrations and load the area list",
        description="Apply every migration not applied yet (Alembic) and load the national area "
        "list; `fieldbot serve` does this at start too. Safe to run again.",
    )  # fmt: skip
    db_commands.add_parser(
        "current", help="show the schema revision of the database",
        description="Print the Alembic revision the database is at.",
    )  # fmt: skip

    reports = commands.add_parser(
        "reports", help="report commands",
        description="Activity and problem reports as the desk needs them (see `reports export`).",
    )  # fmt: skip
    report_commands = reports.add_subparsers(
        dest="reports_command", required=True, metavar="REPORTS_COMMAND"
    )
    export = report_commands.add_parser(
        "export",
        help="export reports to CSV or XLSX",
        description="Export reports, one row per report: headers, labels and area names in one "
        "language; times in FIELDBOT_TIMEZONE; for a problem, its casework (who took it and "
        "when, when it was resolved and how, the reporter's rating, times reopened, days open). "
        "XLSX has date cells, a frozen header row, a filter and fitted columns. Photos are "
        "never server paths: links when FIELDBOT_PUBLIC_URL is set, copied files with --photos "
        "DIR, else only their number.",
        epilog="example: fieldbot reports export --format xlsx --lang en --be --kind problem "
        "--since 2026-01-01 --photos photos --out reports.xlsx",
    )
    export.add_argument(
        "--format", choices=("csv", "xlsx"), default="csv", help="file format (default csv)"
    )
    export.add_argument("--kind", choices=("activity", "problem"), help="only this kind")
    export.add_argument(
        "--area", metavar="AREA",
        help=f"only this area: TH, a province or a district. {AREA_NAMES}",
    )  # fmt: skip
    export.add_argument("--province", metavar="AREA", help="only this province (50, เชียงใหม่)")
    export.add_argument("--district", metavar="AREA", help="only this district (5001, เมืองเชียงใหม่)")
    export.add_argument(
        "--since",
        metavar="DATE",
        help="only reports submitted on or after DATE (2026-03-15, 15/3/2569, 15 มี.ค. 69)",
    )
    export.add_argument(
        "--lang",
        choices=("th", "en"),
        help="the language of headers, labels and area names "
        "(default FIELDBOT_DEFAULT_LANGUAGE, else th)",
    )
    export.add_argument(
        "--be",
        action="store_true",
        help="years in the Buddhist Era (15/3/2569 14:30): in XLSX through the date cells' "
        "format (they stay dates), in CSV as text; without it dates read 2026-03-15 14:30",
    )
    photos = export.add_mutually_exclusive_group()
    photos.add_argument(
        "--photos",
        metavar="DIR",
        type=Path,
        help="copy each report's photos into DIR (made if missing) as REFERENCE-N.jpg, and "
        "list those file names in the photos column",
    )
    photos.add_argument(
        "--link-days",
        metavar="N",
        type=_count(365),
        help="with FIELDBOT_PUBLIC_URL set, the photos column holds signed links that work "
        "for N days, rounded up to midnight UTC (default "
        "FIELDBOT_MEDIA_LINK_DAYS, 30)",
    )
    export.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="output file; '-' writes CSV to standard output",
    )
    areas = commands.add_parser(
        "areas", help="look up area codes",
        description="The national area list (Department of Provincial Administration codes).",
    )  # fmt: skip
    area_commands = areas.add_subparsers(dest="areas_command", required=True,
                                         metavar="AREAS_COMMAND")  # fmt: skip
    search = area_commands.add_parser(
        "search", help="find a code by name",
        description="Find provinces (2-digit codes), districts (4) and subdistricts (6) by their "
        "Thai or English name, typos forgiven, best first: the codes --area options take.",
    )  # fmt: skip
    search.add_argument("text", help="a name, or part of one (เชียงไหม่, mae rim)")
    search.add_argument("--limit", type=_count(100), default=10, help="how many (default 10)")

    villages = commands.add_parser(
        "villages", help="official village lists: load one, see what is listed",
        description="The official lists of villages (หมู่บ้าน) of districts or provinces. Where "
        "a district has a list, reporting completeness (ความครบถ้วน in the chat) counts every "
        "village on it, those where nobody has registered too, and names them; where it has "
        "none, it can count only the villages where someone has registered.",
    )  # fmt: skip
    village_commands = villages.add_subparsers(dest="villages_command", required=True,
                                               metavar="VILLAGES_COMMAND")  # fmt: skip
    load = village_commands.add_parser(
        "import", help="load an official village list from a CSV file",
        description="Load the villages of a district or a province from a CSV file (UTF-8, "
        "with or without a byte-order mark: Excel's \"CSV UTF-8\"). Three columns: the village "
        "code (8 digits: the subdistrict's 6 and the หมู่ number's 2, such as 50010103), the "
        "หมู่ number, and the village's Thai name. A first row naming the columns is read as a "
        "header, in English (code,village_no,name) or Thai (รหัส,หมู่,ชื่อหมู่บ้าน), in any "
        "order; without one the columns are taken in that order. Every row is checked first: "
        "the subdistrict must be known, the หมู่ number must be the code's last two digits, no "
        "code twice. When a row is bad, its line and why are printed and nothing is loaded "
        "(unless --skip-bad). Loading a list again updates it: a village already listed takes "
        "its new name, and none is listed twice.",
        epilog="example: fieldbot villages import villages-chiangmai.csv --dry-run",
    )  # fmt: skip
    load.add_argument("file", type=Path, metavar="FILE.csv", help="the list to load")
    load.add_argument(
        "--skip-bad", action="store_true",
        help="load the good rows and leave out the bad ones (which are still listed)",
    )  # fmt: skip
    load.add_argument(
        "--replace", action="store_true",
        help="the file is the whole list of every district it names: villages of those "
        "districts listed before that it leaves out are removed (without it they are kept). "
        "Not with bad rows, even with --skip-bad",
    )  # fmt: skip
    load.add_argument(
        "--dry-run", action="store_true",
        help="check the file and say what it would change; load nothing",
    )  # fmt: skip
    shown = village_commands.add_parser(
        "list", help="the listed villages of an area, or which districts have a list",
        description="Without --area: one line per district that has a list (its code, how "
        "many villages, its name). With --area: the villages listed there (code, หมู่, name, "
        "subdistrict), and, for a province, its districts that have no list yet.",
    )  # fmt: skip
    shown.add_argument(
        "--area", metavar="AREA",
        help=f"a province, district or subdistrict. {AREA_NAMES}",
    )  # fmt: skip

    invite = commands.add_parser(
        "invite", help="invitation codes for staff roles",
        description="One-time codes that make someone an officer, coordinator or admin of an "
        "area when they type /join CODE in the chat (see `invite create`).",
    )  # fmt: skip
    invite_commands = invite.add_subparsers(dest="invite_command", required=True, metavar="CMD")
    create = invite_commands.add_parser(
        "create",
        help="make an invitation code",
        description="Make a code that gives a staff role. The user sends '/join CODE' (or "
        "'เข้าร่วม CODE') in chat. The last line of the output is the code alone.",
    )
    create.add_argument("--role", required=True, choices=vocab.STAFF_ROLES)
    create.add_argument(
        "--area", required=True, metavar="AREA",
        help="officer: a district (code such as 5001, or name); coordinator: a province (code "
        f"such as 50, or name) or TH; admin: TH. {AREA_NAMES}",
    )  # fmt: skip
    create.add_argument(
        "--expires",
        default="7d",
        type=_duration,
        help="how long the code works: 30m, 12h, 7d (default 7d)",
    )
    create.add_argument(
        "--uses",
        default=1,
        type=_count(MAX_USES),
        help=f"how many people may use it (1 to {MAX_USES}; default 1)",
    )

    desk_parser = commands.add_parser(
        "desk", help="the web desk: sign-in links and sessions",
        description="The web desk at /desk/ on the `fieldbot serve` server. Staff get a "
        "sign-in link by typing /desk in the chat; an admin can make one here.",
    )  # fmt: skip
    desk_commands = desk_parser.add_subparsers(dest="desk_command", required=True, metavar="CMD")
    link = desk_commands.add_parser(
        "link", help="make a one-time sign-in link for a staff member",
        description="Print a sign-in link for the user (it works once, within 10 minutes). "
        "It points at FIELDBOT_PUBLIC_URL, else at FIELDBOT_HOST:FIELDBOT_PORT.",
        epilog="example: fieldbot desk link --user 42",
    )  # fmt: skip
    link.add_argument("--user", type=_row_id, required=True, help="the user's id (users list)")
    end = desk_commands.add_parser(
        "revoke", help="sign a person out of the desk everywhere",
        description="End every desk session of the user, and spend their unused links.",
    )  # fmt: skip
    end.add_argument("--user", type=_row_id, required=True, help="the user's id (users list)")

    privacy = commands.add_parser(
        "privacy", help="personal-data requests: a person's copy, erasure, the register",
        description="For a request that came on paper, at the district office: a person's "
        "complete copy of their data, or the erasure of it, each recorded in the register of "
        "requests (PDPA: answered within 30 days).",
    )  # fmt: skip
    privacy_commands = privacy.add_subparsers(dest="privacy_command", required=True, metavar="CMD")
    copy = privacy_commands.add_parser(
        "export", help="everything held about a person, as JSON or as a ZIP",
        description="Print (or write to --out) everything held about the user as JSON: "
        "profile, consent, staff roles, their reports, what was sent to them. --zip writes "
        "the ZIP the person's own link (\"ข้อมูลของฉัน\" in the chat) gives: that JSON as "
        "my-data.json, and their reports as my-reports.csv in their language.",
        epilog="examples: fieldbot privacy export 42 --out person-42.json; "
        "fieldbot privacy export 42 --zip person-42.zip",
    )  # fmt: skip
    copy.add_argument("user_id", type=_row_id, help="the user's id (users list)")
    copy.add_argument(
        "--out", metavar="FILE", help="write the JSON here (default: standard output)"
    )
    copy.add_argument(
        "--zip", metavar="FILE", dest="zip_file",
        help="write the ZIP (my-data.json and my-reports.csv) here instead",
    )  # fmt: skip
    wipe = privacy_commands.add_parser(
        "erase", help="remove a person's identity and contact details",
        description="Remove the user's name, phone, platform id, village and consent, their "
        "drafts, platform events and unsent pushes, and empty every push that names them; "
        "their reports stay as anonymous records. Cannot be undone.",
        epilog="example: fieldbot privacy erase 42 --yes",
    )  # fmt: skip
    wipe.add_argument("user_id", type=_row_id, help="the user's id (users list)")
    wipe.add_argument("--yes", action="store_true", help="do it (without it: say what would go)")
    register = privacy_commands.add_parser(
        "requests", help="the register of requests, with their 30-day deadline",
        description="Every request to see, export, correct or erase data, or to withdraw "
        "consent: when, how, what was done or why it was refused, and the deadline (for "
        "those still waiting).",
    )  # fmt: skip
    register.add_argument("--user", type=int, metavar="ID", help="only this person's requests")
    keep = privacy_commands.add_parser(
        "retention", help="enforce the retention periods now (the server does it daily)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=RETENTION_HELP,
        epilog="example: fieldbot privacy retention --dry-run",
    )  # fmt: skip
    keep.add_argument("--dry-run", action="store_true", help="say what it would do; change nothing")

    users = commands.add_parser(
        "users",
        help="list users; grant or revoke staff roles",
        description="A person has one home village (where their reports come from, set when "
        "they register) and any number of staff roles, each for an area (what they may see and "
        "act on). Granting or revoking a role never moves their home village.",
    )
    user_commands = users.add_subparsers(dest="users_command", required=True, metavar="CMD")
    listing = user_commands.add_parser(
        "list",
        help="list users with their home village and every staff role they hold",
        description="One line per user: id, platform, name, village role, home (subdistrict "
        "code/หมู่ number), staff roles (role:area, comma-separated), and whether the bot can "
        "reach them.",
    )
    listing.add_argument("--role", help="village role (village_head, …) or staff role (officer, …)")
    listing.add_argument(
        "--area", metavar="AREA",
        help=f"a district, a province or TH: where their home village is, or a role's area. "
        f"{AREA_NAMES}",
    )  # fmt: skip
    give = user_commands.add_parser(
        "grant",
        help="add a staff role for an area (besides those the user holds)",
        description="Add one staff role for one area. The user keeps their other roles and "
        "their home village. Granting a role they hold already changes nothing.",
        epilog="example: fieldbot users grant 42 --role officer --area 5002",
    )
    give.add_argument("user_id", type=_row_id, help="the user's id (first column of 'users list')")
    give.add_argument("--role", required=True, choices=vocab.STAFF_ROLES)
    give.add_argument(
        "--area", required=True, metavar="AREA",
        help="officer: a district (code such as 5001, or name); coordinator: a province (code "
        f"such as 50, or name) or TH; admin: TH. {AREA_NAMES}",
    )  # fmt: skip
    take = user_commands.add_parser(
        "revoke",
        help="take staff roles away: one (--role and --area), of a role or an area, or all",
        description="Without --role and --area, every staff role of the user goes; with them, "
        "only the matching ones. The home village stays.",
        epilog="example: fieldbot users revoke 42 --role officer --area 5002",
    )
    take.add_argument("user_id", type=_row_id, help="the user's id (first column of 'users list')")
    take.add_argument("--role", choices=vocab.STAFF_ROLES)
    take.add_argument(
        "--area",
        metavar="AREA",
        help=f"the area of the role to take away: a district, a province or TH. {AREA_NAMES}",
    )

    box = commands.add_parser(
        "outbox",
        help="the outbox: pushes and replies waiting, sent or failed; try again or stop",
        description="Every message the bot sends goes through the outbox. Alerts and "
        "escalations are retried until they are delivered (or the person blocked the bot); "
        "other messages are given up after a few tries and show as failed.",
    )
    box_commands = box.add_subparsers(dest="outbox_command", required=True, metavar="CMD")
    box_commands.add_parser(
        "status",
        help="messages by platform, kind and state; the oldest alert not yet delivered",
        description="How many messages there are of each platform, kind and state, and the "
        "oldest alert or escalation not yet delivered (how long it waits, its tries, its last "
        "error). 'outbox list' shows the rows themselves, with their ids.",
    )
    rows = box_commands.add_parser(
        "list",
        help="the latest failed (or other) messages, with the id that retry and cancel take",
        description="One line per message, newest first: id, platform, kind, state, tries, "
        "when it was written, last error. Message text is not shown (it is personal data).",
    )
    rows.add_argument(
        "--status",
        action="append",
        choices=("pending", "sending", "sent", "failed", "skipped", "cancelled"),
        help="which states (may be given more than once; default: failed)",
    )
    rows.add_argument("--limit", type=_count(1000), default=20, help="how many (default 20)")
    again = box_commands.add_parser(
        "retry",
        help="send failed (or cancelled) messages again",
        description="Make messages due again now, with their tries counted afresh. --failed "
        "takes every failed row; a row an operator cancelled comes back only by its --id.",
    )
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", type=_row_id, metavar="N", help="the row N (see 'outbox list')")
    which.add_argument("--failed", action="store_true", help="every failed row")
    stop = box_commands.add_parser(
        "cancel",
        help="stop trying to send a message",
        description="Stop trying to send the row N (an alert to a phone number that is gone, "
        "say). 'outbox retry --id N' takes it up again.",
    )
    stop.add_argument(
        "--id", type=_row_id, metavar="N", required=True, help="the row to stop (see 'outbox list')"
    )

    cast = commands.add_parser(
        "broadcast",
        help="send a message to everyone of some roles in an area; or show how broadcasts went",
        description="Send a broadcast through the outbox: one call per person, or per many "
        "people where the platform multicasts; console users see it in `fieldbot chat`; people "
        "who blocked the bot are counted and skipped. Without --at it goes now, and a progress "
        "bar follows it (outside quiet hours, FIELDBOT_QUIET_HOURS; inside them the rows wait "
        "and `fieldbot serve` sends them when the hours end). `fieldbot broadcast status` shows "
        "how broadcasts went.",
        epilog="example: fieldbot broadcast --role village_head,volunteer --area จ.เชียงใหม่ "
        '--text "ประชุมประจำเดือน วันจันทร์ 9 โมง" --at "2026-04-01 09:00"',
    )
    cast_commands = cast.add_subparsers(
        dest="broadcast_command", required=False, metavar="[status [ID]]"
    )
    cast_status = cast_commands.add_parser(
        "status",
        help="sent, pending, failed and blocked people per broadcast",
        description="How broadcasts went, one line each: the latest 20, or the one numbered ID. "
        "A line gives the broadcast's number, when it was (or will be) sent, its state and how "
        "many people it reaches; then how many of them it was sent to, how many still wait for "
        "it, how many it failed to reach and how many blocked the bot; then its roles and area. "
        "It sends nothing.",
        epilog="example: fieldbot broadcast status 12",
    )
    cast_status.add_argument(
        "id", nargs="?", type=_row_id, metavar="ID", help="only this broadcast (its number)"
    )
    cast.add_argument(
        "--role",
        help="who gets it, comma-separated: reporter (every village role), village_head, "
        "kamnan, assistant_head, health_volunteer, volunteer, officer, coordinator, admin",
    )
    cast.add_argument(
        "--area", metavar="AREA",
        help="TH (the country), or a province (50), district (5001) or subdistrict (500101). "
        f"{AREA_NAMES}",
    )  # fmt: skip
    cast.add_argument("--text", help="the message, as recipients will read it")
    cast.add_argument("--image", type=Path, help="a photo to send with it (JPEG or PNG)")
    cast.add_argument(
        "--at", help='send later, at "YYYY-MM-DD HH:MM" in FIELDBOT_TIMEZONE (default: now)'
    )
    cast.add_argument(
        "--dry-run", action="store_true", help="count the recipients per platform; send nothing"
    )

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        for line in explain(error).splitlines():
            print(f"fieldbot: invalid setting: {line}", file=sys.stderr)
        return 2
    redact.register_settings(settings)
    configure_logging(settings.log_level)
    try:
        if args.command == "serve" and args.workers > 1:
            return _serve_workers(args, settings)
        return asyncio.run(_run(args, settings))
    except ConfigError as error:
        print(f"fieldbot: configuration error: {error}", file=sys.stderr)
        return 2
    except ChannelOffError as error:
        print(f"fieldbot: {redact.redact(str(error))}", file=sys.stderr)
        return 2
    except DBAPIError as error:
        print(f"fieldbot: database error: {error.orig or error}", file=sys.stderr)
        print(f"  (DATABASE_URL points at {_safe_url(settings)})", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `fieldbot … | head`: the reader has what it wanted
        # Python would complain again when it flushes standard output at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell reports a command stopped by SIGPIPE
    except OSError as error:
        if isinstance(error, ConnectionError) or error.errno in (111, 113, 110):
            print(
                f"fieldbot: cannot reach the database at {_safe_url(settings)}: {error}",
                file=sys.stderr,
            )
        else:
            print(f"fieldbot: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception:
        # Python would print the traceback itself, past the redaction of the log handler.
        log.exception("fieldbot stopped on an unexpected error")
        return 1


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# httpx logs every request URL at INFO, and some platforms' URLs carry the bot token; aiosqlite
# logs every statement with its values (names, phone numbers) at DEBUG; APScheduler logs
# every run of every job (the escalation check runs each minute).
QUIET_LOGGERS = ("alembic", "aiosqlite", "apscheduler", "asyncio", "httpx", "httpcore",
                 *catalog.quiet_loggers())  # fmt: skip


def configure_logging(level: str, stream: TextIO | None = None) -> logging.Handler:
    """Log lines to stderr (or `stream`), each one redacted first (bot.redact); returns the
    handler. What `logging.basicConfig` did before, with the filter on its handler."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(redact.RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler


def _serve_workers(args: argparse.Namespace, settings: Settings) -> int:
    if make_url(settings.database_url).get_backend_name() != "postgresql":
        print(
            "fieldbot: --workers needs PostgreSQL (DATABASE_URL=postgresql+asyncpg://…): "
            "SQLite takes one writer at a time, so more processes would only wait for each other",
            file=sys.stderr,
        )
        return 2
    from bot import workers

    host, port = args.host or settings.host, args.port or settings.port
    return workers.run(settings, host, port, args.workers, configure_logging)


def _safe_url(settings: Settings) -> str:
    return make_url(settings.database_url).render_as_string(hide_password=True)


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        from bot.server import serve

        await serve(settings, args.host or settings.host, args.port or settings.port)
        return 0
    if args.command == "db":
        return await _db(args, settings)
    if args.command == "reports":
        return await _export(args, settings)
    if args.command == "areas":
        return _areas(args)
    if args.command == "villages":
        from bot.villages_cli import villages_command

        return await villages_command(args, settings)
    if args.command == "invite":
        return await _invite(args, settings)
    if args.command == "users":
        return await _users(args, settings)
    if args.command == "desk":
        return await _desk(args, settings)
    if args.command == "privacy":
        return await _privacy(args, settings)
    if args.command == "outbox":
        return await _outbox(args, settings)
    if args.command == "broadcast":
        from bot.broadcast_cli import broadcast_command

        return await broadcast_command(args, settings)
    plugin: registry.ChannelPlugin | None = getattr(args, "channel_plugin", None)
    if plugin is not None:
        return await plugin.run_command(args, settings)
    raise AssertionError(args.command)


async def _db(args: argparse.Namespace, settings: Settings) -> int:
    from storage.db import create_engine, session_factory
    from storage.migrate import current_revision, upgrade

    engine = create_engine(settings.database_url)
    try:
        if args.db_command == "upgrade":
            from storage.areas import sync_areas

            await upgrade(engine)
            async with session_factory(engine)() as session, session.begin():
                loaded = await sync_areas(session)
            print(
                f"database at revision {await current_revision(engine)}"
                + ("; areas loaded from geothai" if loaded else "")
            )
        else:
            print(await current_revision(engine) or "empty (run: fieldbot db upgrade)")
    finally:
        await engine.dispose()
    return 0


MAX_ID = 2_147_483_647  # the largest row id either database hands out
MAX_USES = 10_000
MAX_VALID = dt.timedelta(days=365)


def _whole(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 10


def _row_id(text: str) -> int:
    """A row's id: a whole number from 1 (a larger one than any id is refused here, not by
    the database)."""
    if not _whole(text) or not 1 <= int(text) <= MAX_ID:
        raise argparse.ArgumentTypeError(f"{text!r}: an id is a whole number from 1 to {MAX_ID}")
    return int(text)


def _count(most: int) -> Callable[[str], int]:
    def count(text: str) -> int:
        if not _whole(text) or not 1 <= int(text) <= most:
            raise argparse.ArgumentTypeError(f"{text!r}: a whole number from 1 to {most}")
        return int(text)

    return count


def _duration(text: str) -> dt.timedelta:
    units = {"m": "minutes", "h": "hours", "d": "days"}
    number, unit = text[:-1], text[-1:].lower()
    if unit not in units or not (number.isascii() and number.isdigit()) or len(number) > 9:
        raise argparse.ArgumentTypeError(f"{text!r}: use a number and m, h or d (e.g. 7d)")
    length = dt.timedelta(**{units[unit]: int(number)})
    if not dt.timedelta(0) < length <= MAX_VALID:
        raise argparse.ArgumentTypeError(f"{text!r}: from 1m up to {MAX_VALID.days}d")
    return length


def _a(role: str) -> str:
    """The role with its article: "an officer", "a coordinator"."""
    return f"{'an' if role[:1] in 'aeiou' else 'a'} {role}"


# The areas a staff role may hold (storage.staff.area_fits_role says the same of a code).
ROLE_LEVELS = {"officer": ("district",), "coordinator": ("national", "province"),
               "admin": ("national",)}  # fmt: skip
ROLE_AREAS = (
    "officer: a district, such as 5001; coordinator: a province, such as 50, or TH; admin: TH"
)
# `users list` and `users revoke`: a role's area, or a home village's district or province.
STAFF_AREA_LEVELS = ("national", "province", "district")


def _check_area(role: str, text: str) -> str:
    """The area of a role being given: a code or a name (bot/area_option.py), of the level the
    role needs."""
    from bot.area_option import area_option

    return area_option(
        text, ROLE_LEVELS[role], other_level=f"not an area for {_a(role)} ({ROLE_AREAS})",
        exact=True,
    )  # fmt: skip


def _areas(args: argparse.Namespace) -> int:
    from bot.area_option import describe
    from handlers.areas import AreaDirectory

    directory = AreaDirectory()
    found = directory.search(args.text, limit=args.limit)
    if not found:
        print(f"no area is named like {args.text!r}", file=sys.stderr)
        return 1
    for place in found:
        print(describe(directory, place))
    return 0


async def _invite(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service import build_core
    from storage.staff import create_invite

    area = _check_area(args.role, args.area)
    core = await build_core(settings)
    try:
        async with core.writing(), core.sessions() as session, session.begin():
            code = await create_invite(
                session, args.role, area, expires_in=args.expires, uses=args.uses
            )
    finally:
        await core.close()
    until = (dt.datetime.now(settings.tz) + args.expires).strftime("%Y-%m-%d %H:%M")
    print(f"invite for {_a(args.role)} of {area}: {args.uses} use(s), valid until {until}")
    print("the user sends: /join CODE   (or: เข้าร่วม CODE)")
    print(code)
    return 0


async def _users(args: argparse.Namespace, settings: Settings) -> int:
    from bot.area_option import area_option
    from bot.service import build_core
    from storage import staff
    from storage.models import User

    # The area first: a name that names no one area is refused before the database is opened.
    if args.users_command == "grant":
        area: str | None = _check_area(args.role, args.area)
    else:
        area = area_option(args.area, STAFF_AREA_LEVELS) if args.area else None
    core = await build_core(settings)
    try:
        async with core.writing(), core.sessions() as session, session.begin():
            if args.users_command == "list":
                rows = await staff.list_users(session, args.role, area)
                held = await staff.assignments_of(session, [u.id for u in rows if u.id])
                print("id\tplatform\tname\trole\thome\tstaff\tactive")
                for u in rows:
                    home = u.subdistrict_code or u.district_code or u.province_code or ""
                    if home and u.village_no is not None:
                        home += f"/{u.village_no}"
                    roles = ",".join(f"{r}:{a}" for r, a in held.get(u.id or 0, []))
                    print(
                        f"{u.id}\t{u.platform}\t{u.display_name or ''}\t{u.role or ''}\t"
                        f"{home}\t{roles}\t{'yes' if u.active else 'no'}"
                    )
                return 0
            user = await session.get(User, args.user_id)
            if user is None:
                raise SystemExit(f"fieldbot: no user with id {args.user_id}")
            if args.users_command == "grant":
                assert area is not None
                added = await staff.grant(session, user, args.role, area)
                already = "" if added else " (already)"
                print(f"user {user.id} is {_a(args.role)} of {area}{already}")
            else:
                removed = await staff.revoke(session, user, args.role, area)
                print(f"user {user.id}: {removed} staff role(s) taken away")
            left = await staff.assignments(session, user.id or 0)
            print("staff roles now: " + (", ".join(f"{r} of {a}" for r, a in left) or "none"))
    finally:
        await core.close()
    return 0


async def _privacy(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from bot.service import build_core
    from domain import data_copy, privacy
    from storage.models import User

    core = await build_core(settings)
    refused = ""
    try:
        if args.privacy_command == "retention":
            return await _retention(core, dry_run=args.dry_run)
        async with core.writing(), core.sessions() as session, session.begin():
            now = core.clock()
            if args.privacy_command == "requests":
                print("id\tuser\tkind\tvia\trequested\tdeadline\toutcome\tnote")
                for r in await privacy.requests(session):
                    if args.user is not None and r.user_id != args.user:
                        continue
                    local = r.requested_at.astimezone(settings.tz)
                    due = (r.requested_at + privacy.DEADLINE).astimezone(settings.tz)
                    # The deadline matters while a request waits; a done one shows "-".
                    deadline = f"{due:%Y-%m-%d}" if r.done_at is None else "-"
                    print(f"{r.id}\t{r.user_id}\t{r.kind}\t{r.via}\t{local:%Y-%m-%d %H:%M}\t"
                          f"{deadline}\t{r.outcome}\t{r.note or ''}")  # fmt: skip
                return 0
            user = await session.get(User, args.user_id)
            if user is None:
                raise SystemExit(f"fieldbot: no user with id {args.user_id}")
            if user.platform == privacy.ERASED:  # a refusal, and the register keeps it
                if args.privacy_command == "export" or args.yes:  # (a look is no request)
                    await privacy.record(session, args.user_id, args.privacy_command, "cli",
                                         now, outcome="refused", note="erased already")  # fmt: skip
                refused = f"fieldbot: user {args.user_id} was erased already: nothing held"
        if refused:
            raise SystemExit(refused)
        async with core.writing(), core.sessions() as session, session.begin():
            user = await session.get(User, args.user_id)
            assert user is not None
            if args.privacy_command == "export":
                data = await privacy.copy_of(session, user)
                await privacy.record(session, args.user_id, "export", "cli", now)
                text = json.dumps(data, ensure_ascii=False, indent=2)
                if args.zip_file:
                    packed = data_copy.archive(data, i18n=core.i18n, tz=settings.tz)
                    Path(args.zip_file).write_bytes(packed)  # noqa: ASYNC240
                    print(f"wrote the data of user {args.user_id} to {args.zip_file}",
                          file=sys.stderr)  # fmt: skip
                    if not args.out:
                        return 0
                if args.out:
                    Path(args.out).write_text(text + "\n", encoding="utf-8")  # noqa: ASYNC240
                    print(f"wrote the data of user {args.user_id} to {args.out}", file=sys.stderr)
                else:
                    print(text)
                return 0
            if not args.yes:  # who it is, for the clerk to check against the paper
                copy = await privacy.copy_of(session, user)
                profile = copy["profile"]
                village = (f"{profile['subdistrict_code']} หมู่ {profile['village_no']}"
                           if profile["village_no"] is not None else "-")  # fmt: skip
                print(f"user {args.user_id}: {profile['name'] or '-'}, phone "
                      f"{profile['phone'] or '-'}, village {village}, "
                      f"{len(copy['reports'])} report(s), registered "
                      f"{(profile['registered_at'] or '-')[:10]}")  # fmt: skip
                print(f"would erase user {args.user_id}: name, phone, platform id, village, "
                      "consent, drafts, platform events, unsent pushes, and every push that "
                      "names them; their reports stay, anonymous. Add --yes to do it.")  # fmt: skip
                return 0
            done = await privacy.erase(session, user, now, "cli", env=core.env(13))
        print(f"erased user {args.user_id}: {done.reports_kept} report(s) kept anonymous, "
              f"{done.messages_emptied} message(s) emptied, {done.events_deleted} platform "
              "event(s) deleted")  # fmt: skip
    finally:
        await core.close()
    return 0


# What each count of a retention sweep (domain.retention.Swept) stands for.
SWEPT_LABELS = {
    "messages_emptied": "pushes emptied (over {outbox} ago)",
    "events_forgotten": "platform events forgotten (handled over {events} ago)",
    "replies_forgotten": "replies forgotten (delivered over {events} ago)",
    "events_given_up": "platform events given up (never handled)",
    "people_anonymised": "people anonymised (silent for {person})",
    "reports_anonymised": "reports anonymised (filed over {report} ago)",
    "report_messages_erased": "pushes about those reports erased",
}


async def _retention(core: Core, *, dry_run: bool) -> int:
    from bot.scheduler import counts_line, note_run, sweep_retention
    from storage import reminders

    swept = await sweep_retention(core, dry_run=dry_run)
    policy = core.retention
    days = {  # "1 day", "30 days"
        name: f"{n} day" if (n := getattr(policy, name).days) == 1 else f"{n} days"
        for name in ("outbox", "events", "person", "report")
    }
    if dry_run:
        print("dry run: nothing was changed; a sweep now would do this")
    for name, count in swept.counts().items():
        print(f"{SWEPT_LABELS[name].format(**days)}: {count}")
    if not dry_run:
        now = core.clock()
        period = f"cli {now.isoformat()}"
        async with core.writing(), core.sessions() as session, session.begin():
            await reminders.claim_run(session, "retention", period, now)
        await note_run(core, "retention", period, swept.counts())
        log.info("retention from the command line: %s", counts_line(swept))
    return 0


async def _desk(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service import build_core
    from storage import desk, staff
    from storage.models import User

    core = await build_core(settings)
    try:
        async with core.writing(), core.sessions() as session, session.begin():
            user = await session.get(User, args.user)
            if user is None:
                raise SystemExit(f"fieldbot: no user with id {args.user}")
            now = core.clock()
            if args.desk_command == "revoke":
                ended = await desk.revoke_user(session, args.user, now)
                print(f"user {args.user}: {ended} desk session(s) ended")
                return 0
            if not await staff.assignments(session, args.user):
                raise SystemExit(
                    f"fieldbot: user {args.user} holds no staff role: the desk is for staff "
                    "(see 'users grant')"
                )
            token = await desk.new_link(session, args.user, now)
        print(f"{settings.desk_url}/desk/login?token={token}")
    finally:
        await core.close()
    return 0


async def _outbox(args: argparse.Namespace, settings: Settings) -> int:
    from bot.channels import catalog
    from storage import outbox
    from storage.db import create_engine, reading, session_factory
    from storage.models import utcnow

    engine = create_engine(settings.database_url)
    try:
        sessions = session_factory(engine)
        if args.outbox_command == "retry":
            async with sessions() as session, session.begin():
                count = await outbox.requeue(session, utcnow(), row_id=args.id, failed=args.failed)
            if args.id is not None and not count:
                print(
                    f"fieldbot: no row {args.id} that is not sent yet (and still has its content)",
                    file=sys.stderr,
                )
                return 1
            print(f"{count} message(s) will be sent again now by 'fieldbot serve'")
            return 0
        if args.outbox_command == "cancel":
            async with sessions() as session, session.begin():
                cancelled = await outbox.cancel(session, args.id, utcnow())
            if not cancelled:
                print(f"fieldbot: no row {args.id} waiting to be sent", file=sys.stderr)
                return 1
            print(f"row {args.id} cancelled; 'fieldbot outbox retry --id {args.id}' undoes it")
            return 0
        if args.outbox_command == "list":
            async with reading(sessions) as session:
                found = await outbox.listing(session, args.status or ["failed"], args.limit)
            print("id\tplatform\tkind\tstate\ttries\twritten\tlast error")
            for row in found:
                written = row.created_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
                error = (row.last_error or "").replace("\n", " ")[:200]
                print(f"{row.id}\t{row.platform}\t{row.kind}\t{row.status}\t{row.attempts}\t"
                      f"{written}\t{error}")  # fmt: skip
            if not found:
                print(f"(no {' or '.join(args.status or ['failed'])} messages)")
            return 0
        async with reading(sessions) as session:
            rows = await outbox.counts(session)
            oldest = await outbox.oldest_undelivered(session, catalog.server_platforms())
    finally:
        await engine.dispose()
    table: dict[tuple[str, str], dict[str, int]] = {}
    for platform, kind, status, count in rows:
        table.setdefault((platform, kind), {})[status] = count
    columns = ("pending", "sending", "sent", "failed", "skipped", "cancelled")
    print("platform\tkind\t" + "\t".join(columns))
    for (platform, kind), counts in sorted(table.items()):
        print(f"{platform}\t{kind}\t" + "\t".join(str(counts.get(c, 0)) for c in columns))
    if not table:
        print("(the outbox is empty)")
    if oldest is None:
        print("alerts: none waiting to be delivered")
    else:
        age = _age(utcnow() - oldest.created_at)
        why = f"; last error: {oldest.last_error}" if oldest.last_error else ""
        print(f"oldest alert not delivered: row {oldest.id} ({oldest.kind}, {oldest.platform}, "
              f"{oldest.status}), waiting {age}, {oldest.attempts} tries{why}")  # fmt: skip
    return 0


def _age(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // (24 * 60)} days {minutes // 60 % 24} h"


def _since(text: str | None, settings: Settings) -> dt.datetime | None:
    if text is None:
        return None
    from handlers.thai import parse_date

    today = dt.datetime.now(settings.tz).date()
    try:
        day: dt.date | None = dt.date.fromisoformat(text)
    except ValueError:
        day = parse_date(text, today)
    if day is None:
        raise SystemExit(f"fieldbot: --since: cannot read the date {text!r} (try 2026-03-15)")
    return dt.datetime.combine(day, dt.time(), settings.tz).astimezone(dt.UTC)


def _photo_cells(
    args: argparse.Namespace, settings: Settings
) -> tuple[export.PhotoCell | None, str | None]:
    """What the photos column holds: copied files (--photos), signed links (with a public
    address), or only the number; and a hint for standard error when it is only the number."""
    from bot import media_links
    from storage import export

    if args.photos is not None:
        return export.PhotoCopier(settings.media_dir, args.photos), None
    if not media_links.enabled(settings):
        if args.link_days is not None:
            raise SystemExit(
                "fieldbot: --link-days: photo links need FIELDBOT_PUBLIC_URL and "
                "FIELDBOT_SECRET_KEY; or copy the photos with --photos DIR"
            )
        return None, (
            "fieldbot: the photos column holds only how many photos each report has; set "
            "FIELDBOT_PUBLIC_URL (with FIELDBOT_SECRET_KEY) for links, or give --photos DIR for "
            "the files"
        )
    days = args.link_days or settings.media_link_days
    signing = settings.model_copy(update={"media_link_days": days})
    now = dt.datetime.now(dt.UTC)

    def links(reference: str, paths: Sequence[str]) -> list[str]:
        made = (media_links.public_link(signing, path, now) for path in paths)
        return [link for link in made if link]

    return links, None


def _export_area(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The province and district an export is narrowed to, from --area, --province and
    --district (codes or names; an area that does not exist is refused, never exported as
    nothing)."""
    from bot.area_option import area_option

    province = (
        area_option(args.province, ("province",), option="--province") if args.province else None
    )
    district = (
        area_option(args.district, ("district",), option="--district") if args.district else None
    )
    if args.area:
        area = area_option(args.area, ("national", "province", "district"))
        if len(area) == 2:
            province = area
        elif len(area) == 4:
            district = area
    if province and district and not district.startswith(province):
        raise SystemExit(f"fieldbot: district {district} is not in province {province}")
    return province, district


async def _export(args: argparse.Namespace, settings: Settings) -> int:
    import csv

    from bot.service import build_core
    from storage import export

    if args.out == "-" and args.format != "csv":
        raise SystemExit("fieldbot: --out - writes CSV only; give a file name for xlsx")
    if args.photos is not None and args.photos.exists() and not args.photos.is_dir():
        raise SystemExit(f"fieldbot: --photos: {args.photos} is a file, not a directory")
    province, district = _export_area(args)
    where = export.ExportFilter(args.kind, province, district, _since(args.since, settings))
    lang: str = args.lang or settings.default_language
    photos, hint = _photo_cells(args, settings)
    core = await build_core(settings)

    def label(key: str) -> str:
        return core.i18n.t(lang, key)

    header = export.headers(label)
    written = 0
    try:
        async with core.sessions() as session:
            total = await export.count_reports(session, where)
            rows = export.report_rows(
                session, where, label, settings.tz, lang=lang, photos=photos, now=core.clock()
            )
            with tqdm(
                total=total, unit="report", desc="export", file=sys.stderr, disable=None
            ) as progress:
                if args.format == "xlsx":
                    collected: list[list[export.Cell]] = []
                    async for row in rows:
                        collected.append(row)
                        progress.update()
                    # Building a large workbook takes seconds of CPU: off the event loop.
                    await asyncio.to_thread(
                        export.write_xlsx, Path(args.out), header, collected, be=args.be
                    )
                    written = len(collected)
                else:
                    # utf-8-sig: Excel shows Thai CSV correctly only with the byte-order mark.
                    with (
                        contextlib.nullcontext(sys.stdout)
                        if args.out == "-"
                        else Path(args.out).open("w", encoding="utf-8-sig", newline="")  # noqa: ASYNC230
                    ) as out:
                        writer = csv.writer(out)
                        writer.writerow(header)
                        async for row in rows:
                            writer.writerow(export.csv_cells(row, be=args.be))
                            written += 1
                            progress.update()
    finally:
        await core.close()
    print(f"exported {written} report(s) to {args.out}", file=sys.stderr)
    if isinstance(photos, export.PhotoCopier):
        print(f"copied {photos.copied} photo(s) to {args.photos}", file=sys.stderr)
        if photos.missing:
            print(
                f"fieldbot: {len(photos.missing)} photo file(s) missing from "
                f"FIELDBOT_MEDIA_DIR, left out: {', '.join(photos.missing[:5])}"
                + (" …" if len(photos.missing) > 5 else ""),
                file=sys.stderr,
            )
    if hint and written:
        print(hint, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

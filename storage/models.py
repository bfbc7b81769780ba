"""SQLModel tables. Times are stored in UTC; area codes follow the Department of Provincial
Administration (province 2 digits, district 4, subdistrict 6, village = subdistrict + หมู่ 2)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

# The platform a person is listed under once their data is erased (domain.privacy): their row
# stays, anonymised, so that their reports keep a reporter id that leads to no one.
ERASED = "erased"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no zone, so we add it back)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _optional_when() -> Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=True))


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (sa.UniqueConstraint("platform", "platform_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    platform_user_id: str = Field(max_length=128)
    display_name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    role: str | None = Field(default=None, max_length=32, index=True)  # the village role
    # The home village, where the person's reports come from: set by registration and the area
    # form only, never by a staff role (those are StaffRole rows, any number of them).
    province_code: str | None = Field(default=None, max_length=2, index=True)
    district_code: str | None = Field(default=None, max_length=4, index=True)
    subdistrict_code: str | None = Field(default=None, max_length=6)
    village_no: int | None = Field(default=None)
    language: str | None = Field(default=None, max_length=8)
    consent_at: dt.datetime | None = _optional_when()
    consent_notice_version: str | None = Field(default=None, max_length=16)
    consent_refused_at: dt.datetime | None = _optional_when()
    # Optional uses the person may withdraw from apart from deleting everything (PDPA s.19):
    # the scheduled reminders, and broadcasts.
    reminders_ok: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    broadcasts_ok: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    # The day the person last wrote (kept to the day, so that most steps write nothing): the
    # retention job anonymises those silent longer than the retention period.
    seen_on: dt.date | None = Field(default=None)
    active: bool = Field(default=True)
    join_failures: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    join_blocked_until: dt.datetime | None = _optional_when()
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    updated_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )


class StaffRole(SQLModel, table=True):
    """One staff assignment: what a person may see and act on, apart from their home village.
    A person holds any number (an officer of two districts, an officer who also coordinates a
    province)."""

    __tablename__ = "staff_roles"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "role", "area", name="uq_staff_roles_user_role_area"),
        # "The officers of district D", "the coordinators of province P or TH".
        sa.Index("ix_staff_roles_role_area", "role", "area"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: the unique constraint's index starts with user_id.
    user_id: int = Field(foreign_key="users.id")
    role: str = Field(max_length=16)  # officer | coordinator | admin
    area: str = Field(max_length=6)  # district (4 digits), province (2) or TH
    granted_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )


class Area(SQLModel, table=True):
    __tablename__ = "areas"

    code: str = Field(primary_key=True, max_length=6)
    level: str = Field(max_length=16)  # province | district | subdistrict
    name_th: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    parent_code: str | None = Field(default=None, max_length=6, index=True)


class Village(SQLModel, table=True):
    """A village of an official list, loaded by `fieldbot villages import`. Where a district
    has a list, reporting completeness counts every village on it (those where nobody is
    registered too); elsewhere it knows only the villages where someone registered. The code
    is the subdistrict's (6 digits) and the หมู่ number (2 digits); the other codes are its
    first digits, kept for the look-ups by district and province."""

    __tablename__ = "villages"

    code: str = Field(primary_key=True, max_length=8)
    province_code: str = Field(max_length=2, index=True)
    district_code: str = Field(max_length=4, index=True)
    subdistrict_code: str = Field(max_length=6)
    village_no: int
    name_th: str = Field(max_length=200)
    imported_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )


class DeskLink(SQLModel, table=True):
    """A one-time sign-in link to the web desk, sent to a staff member in chat (or made by
    `fieldbot desk link`): only its SHA-256 is kept, it works once, within its expiry."""

    __tablename__ = "desk_links"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    expires_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    used_at: dt.datetime | None = _optional_when()


class DataCopy(SQLModel, table=True):
    """A one-time link to a person's own copy of their data (JSON and CSV), asked for in chat
    ("ข้อมูลของฉัน"): only its SHA-256 is kept; it works once, within its expiry."""

    __tablename__ = "data_copies"

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    expires_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    used_at: dt.datetime | None = _optional_when()


class DeskSession(SQLModel, table=True):
    """A signed-in desk session: the cookie holds a random id, the table its SHA-256. It ends
    when revoked (signing out, `fieldbot desk revoke`) or after its idle time; `csrf` is the
    token its forms carry."""

    __tablename__ = "desk_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    csrf: str = Field(max_length=64)
    language: str | None = Field(default=None, max_length=8)
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    seen_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    revoked_at: dt.datetime | None = _optional_when()


class PrivacyRequest(SQLModel, table=True):
    """The register of personal-data requests (PDPA: access, correction, erasure, withdrawal of
    consent): who asked, how, when, what was done, or why it was refused. The law gives the
    controller 30 days to answer."""

    __tablename__ = "privacy_requests"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    kind: str = Field(max_length=16)  # see | export | correct | erase | withdraw
    via: str = Field(max_length=16)  # chat | cli | desk
    requested_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    done_at: dt.datetime | None = _optional_when()
    outcome: str = Field(default="pending", max_length=16)  # pending | done | refused
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))


class Meta(SQLModel, table=True):
    __tablename__ = "meta"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=500)


class Report(SQLModel, table=True):
    __tablename__ = "reports"
    # The weekly reminder asks: has this village an activity report since …?
    __table_args__ = (
        sa.Index(
            "ix_reports_village_activity", "subdistrict_code", "village_no", "kind", "created_at"
        ),
        # The desk's list of cases: its filters and sort keys, so that counting and sorting
        # read this index alone (storage.desk.find_cases).
        sa.Index(
            "ix_reports_desk_list",
            "kind",
            "status",
            "urgency",
            "problem_category",
            "province_code",
            "district_code",
            "created_at",
            "updated_at",
            "reference",
        ),
        # …and a category's cases over a span of dates, sought directly.
        sa.Index("ix_reports_desk_category", "kind", "problem_category", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=32, unique=True)
    kind: str = Field(max_length=16, index=True)  # activity | problem
    reporter_id: int = Field(foreign_key="users.id", index=True)
    province_code: str | None = Field(default=None, max_length=2, index=True)
    district_code: str | None = Field(default=None, max_length=4, index=True)
    subdistrict_code: str | None = Field(default=None, max_length=6)
    village_no: int | None = Field(default=None)
    village_code: str | None = Field(default=None, max_length=8, index=True)
    activity_type: str | None = Field(default=None, max_length=64)
    problem_category: str | None = Field(default=None, max_length=64)
    urgency: str | None = Field(default=None, max_length=16)
    occurred_on: dt.date | None = Field(default=None)
    participants: int | None = Field(default=None)
    households: int | None = Field(default=None)
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    latitude: float | None = Field(default=None)
    longitude: float | None = Field(default=None)
    answers: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON(), nullable=False)
    )
    status: str = Field(default="received", max_length=32, index=True)
    # Case handling (problem reports only).
    handled_by_id: int | None = Field(default=None, foreign_key="users.id")
    acknowledged_at: dt.datetime | None = _optional_when()
    resolved_at: dt.datetime | None = _optional_when()
    reopen_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    rating: int | None = Field(default=None)
    escalation_level: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    escalated_at: dt.datetime | None = _optional_when()
    form_id: str = Field(max_length=32)
    form_version: int = Field(default=1)
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False, index=True)
    )
    # When the status last changed (set only by storage.cases.change): a case waiting to be
    # acknowledged waits since then, which is what escalation and "overdue" count from.
    updated_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )


class ReportPhoto(SQLModel, table=True):
    __tablename__ = "report_photos"
    __table_args__ = (sa.UniqueConstraint("report_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="reports.id", index=True)
    position: int = Field(default=0)
    sha256: str = Field(max_length=64, index=True)
    path: str = Field(max_length=300)  # relative to FIELDBOT_MEDIA_DIR
    content_type: str = Field(max_length=64)
    size_bytes: int


class Conversation(SQLModel, table=True):
    """One user's form in progress: which form (and version), which step, the answers so far."""

    __tablename__ = "conversations"

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    form_id: str = Field(max_length=32)
    form_version: int
    step_id: str = Field(max_length=64)
    answers: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON(), nullable=False)
    )
    context: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON(), nullable=False)
    )
    started_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    updated_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False, index=True)
    )


class ReferenceCounter(SQLModel, table=True):
    """Last number handed out per prefix and Buddhist-Era year (ACT-2569-000123)."""

    __tablename__ = "reference_counters"

    prefix: str = Field(primary_key=True, max_length=8)
    year: int = Field(primary_key=True)
    last_value: int = Field(default=0)


class InboxEvent(SQLModel, table=True):
    """A platform event (LINE webhook event, Telegram update) stored before its webhook is
    answered: the platform does not send an acknowledged event again, so from the 200 on this row
    is the only copy. Unique per platform event id, so a redelivery is stored once. Handled in
    each sender's order of arrival (`id`); the handling transaction marks it done, together with
    the state change it caused. Kept for a few days after (for deduplication), then pruned."""

    __tablename__ = "inbox"
    __table_args__ = (
        sa.UniqueConstraint("platform", "event_id"),
        sa.Index("ix_inbox_status_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    event_id: str = Field(max_length=128)
    # Whose order the event keeps: the platform's user id (or "chat:<id>" for a group).
    sender: str = Field(max_length=160)
    payload: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending|done|dropped|failed
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    received_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False, index=True)
    )
    handled_at: dt.datetime | None = _optional_when()


class Invite(SQLModel, table=True):
    """A one-time (or few-times) code that gives a staff role for an area. Only the code's hash
    is stored, so a copy of the database gives nobody a role."""

    __tablename__ = "invites"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    area: str = Field(max_length=6)
    uses_left: int = Field(default=1)
    expires_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )


class OutboxMessage(SQLModel, table=True):
    """A push waiting to be sent, written in the same transaction as the change that causes it.
    A dispatcher sends it and records the outcome; nothing pushes outside the outbox."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_due", "platform", "status", "next_attempt_at"),
        # A chat's unfinished replies, which its next reply must not overtake.
        sa.Index("ix_outbox_chat", "platform", "recipient", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    recipient: str = Field(max_length=128)  # the platform's user id
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    kind: str = Field(max_length=32, index=True)  # alert, status, escalation, …
    report_id: int | None = Field(default=None, foreign_key="reports.id", index=True)
    payload: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    status: str = Field(default="pending", max_length=16)  # pending|sending|sent|failed|skipped
    attempts: int = Field(default=0)
    retry_key: str = Field(max_length=36)
    next_attempt_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    claimed_until: dt.datetime | None = _optional_when()
    # Which dispatcher holds the row: a dispatcher whose lease ran out may not finish it.
    claim_token: str | None = Field(default=None, max_length=36)
    # Messages of the row the platform already acknowledged (never sent again on a retry).
    parts_sent: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # A broadcast's rows: LINE sends one row to up to 500 people at once (multicast; their ids
    # are in the payload's "to"), so a row counts how many people it reaches.
    broadcast_id: int | None = Field(default=None, foreign_key="broadcasts.id", index=True)
    recipient_count: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    sent_at: dt.datetime | None = _optional_when()


class CaseEvent(SQLModel, table=True):
    """The audit trail of a case: every change, who made it, when, and why."""

    __tablename__ = "case_events"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="reports.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str = Field(max_length=32)
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    photo: str | None = Field(default=None, max_length=300)
    at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )


class JobRun(SQLModel, table=True):
    """A scheduled job's run for one period (the cron time it stands for). Written before the
    job's pushes, in their transaction: a restart, a misfire or a second instance finds the
    period done and does not run it again."""

    __tablename__ = "job_runs"

    job: str = Field(primary_key=True, max_length=32)
    period: str = Field(primary_key=True, max_length=40)
    ran_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))


class ReminderSent(SQLModel, table=True):
    """One person reminded (or nudged, or sent a digest) for one period: never twice."""

    __tablename__ = "reminders_sent"

    kind: str = Field(primary_key=True, max_length=16)  # weekly | nudge | digest
    period: str = Field(primary_key=True, max_length=40)
    user_id: int = Field(primary_key=True, foreign_key="users.id")
    sent_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )


class Broadcast(SQLModel, table=True):
    """A message from a coordinator (or an officer, or an admin) to everyone of some roles in
    an area, sent now or at a set time through the outbox."""

    __tablename__ = "broadcasts"

    id: int | None = Field(default=None, primary_key=True)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    roles: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON(), nullable=False))
    area: str = Field(max_length=6)  # TH, or a province, district or subdistrict code
    text: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    image: str | None = Field(default=None, max_length=300)  # under FIELDBOT_MEDIA_DIR
    # draft (shown, not confirmed) | scheduled | queued (rows written) | cancelled
    status: str = Field(default="draft", max_length=16, index=True)
    send_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    recipients: int = Field(default=0)  # people the rows reach
    blocked: int = Field(default=0)  # people of the audience who blocked the bot: not sent
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UTCDateTime(), nullable=False)
    )
    queued_at: dt.datetime | None = _optional_when()

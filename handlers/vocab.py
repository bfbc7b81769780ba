"""The bot's vocabulary, written once: roles, areas, urgencies, report kinds and statuses, case
actions, broadcast statuses. Every other module names these values through here. Their words for
people live in `locales/` (``choice.role.<role>``, ``status.<status>``…). Platform names are not
here: they belong to the channels that define them (bot/channels)."""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("th", "en")

# Roles of the people who report (asked at registration).
VILLAGE_HEAD: Final = "village_head"
REPORTER_ROLES: Final = (
    "village_head",
    "kamnan",
    "assistant_head",
    "health_volunteer",
    "volunteer",
)

# Staff roles: held for an area, through staff assignments.
OFFICER: Final = "officer"  # of a district (4 digits)
COORDINATOR: Final = "coordinator"  # of a province (2 digits) or of the country
ADMIN: Final = "admin"  # of the country
STAFF_ROLES: Final = (OFFICER, COORDINATOR, ADMIN)

# The area code of the whole country; provinces have 2 digits, districts 4, subdistricts 6.
NATIONAL: Final = "TH"

VERY_URGENT: Final = "very_urgent"
URGENT: Final = "urgent"
NORMAL: Final = "normal"
URGENCIES: Final = (VERY_URGENT, URGENT, NORMAL)  # most urgent first

ACTIVITY: Final = "activity"
PROBLEM: Final = "problem"
REPORT_KINDS: Final = (ACTIVITY, PROBLEM)

# What an activity report is once filed.
SUBMITTED: Final = "submitted"

# A problem report is a case: its statuses, and the actions that move it.
RECEIVED: Final = "received"
FORWARDED: Final = "forwarded"
ACKNOWLEDGED: Final = "acknowledged"
IN_PROGRESS: Final = "in_progress"
RESOLVED: Final = "resolved"
REJECTED: Final = "rejected"
CASE_STATUSES: Final = (RECEIVED, FORWARDED, ACKNOWLEDGED, IN_PROGRESS, RESOLVED, REJECTED)
OPEN_STATUSES: Final = (RECEIVED, FORWARDED, ACKNOWLEDGED, IN_PROGRESS)
WAITING_STATUSES: Final = (RECEIVED, FORWARDED)  # nobody has taken it yet

CASE_ACTIONS: Final = ("ack", "progress", "resolve", "forward", "reject")
REOPEN: Final = "reopen"  # the reporter's, not an officer's
# action -> (states it may start from, state it leads to)
TRANSITIONS: Final[dict[str, tuple[tuple[str, ...], str]]] = {
    "ack": (WAITING_STATUSES, ACKNOWLEDGED),
    "progress": ((*WAITING_STATUSES, ACKNOWLEDGED), IN_PROGRESS),
    "resolve": (OPEN_STATUSES, RESOLVED),
    "forward": (OPEN_STATUSES, FORWARDED),
    "reject": (OPEN_STATUSES, REJECTED),
    REOPEN: ((RESOLVED,), RECEIVED),
}

# A broadcast's life: composed, confirmed (for now or later), queued to its audience.
DRAFT: Final = "draft"
SCHEDULED: Final = "scheduled"
QUEUED: Final = "queued"
CANCELLED: Final = "cancelled"
BROADCAST_STATUSES: Final = (DRAFT, SCHEDULED, QUEUED, CANCELLED)

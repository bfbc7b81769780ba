"""Every form the bot asks, declared as data. Step ids are stable: stored conversations refer to
them, so rename a step only together with a new form version.

Option lists that an office may change (activity types, problem categories, partner sectors) are
named here by list name and come from configuration (`config/choices.toml`); their labels live in
`locales/` under ``choice.<list>.<value>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from handlers import vocab

StepType = Literal[
    "consent",
    "choice",
    "multi",
    "text",
    "phone",
    "number",
    "date",
    "location",
    "photos",
    "area",
    "confirm",
]
SubmitAction = Literal[
    "register",
    "activity_report",
    "problem_report",
    "update_profile",
    "join",
    "case_progress",
    "case_resolve",
    "case_forward",
    "case_reject",
    "broadcast",
    "erase",
    "reconsent",
    "correct",
]


@dataclass(frozen=True)
class Equals:
    """Condition: the answer to `step` is `value`."""

    step: str
    value: str

    def holds(self, answers: Mapping[str, Any]) -> bool:
        return answers.get(self.step) == self.value


@dataclass(frozen=True)
class Step:
    id: str
    type: StepType
    # Locale key prefix: `<key>.prompt` is the question, `<key>.label` its name in the summary,
    # `<key>.example` (optional) an example shown when an answer is not understood.
    key: str
    optional: bool = False
    options: tuple[str, ...] = ()  # fixed option values, labels at `choice.<options_list>.<value>`
    options_list: str | None = None  # name of the list; from configuration when `options` is empty
    minimum: int | None = None
    maximum: int | None = None
    when: Equals | None = None
    allow_registered_village: bool = False  # location step: "use my registered village"
    area_until: Literal["district", "village"] = "village"  # area step: how deep to ask
    max_days_ahead: int | None = None  # date step: how far in the future an answer may be
    max_days_back: int | None = None
    # What the answer is for the report (read by handlers.reports). Numbers order the rows of
    # each view, lower first; None leaves the answer out of that view.
    summary: bool = True  # listed (and changeable) on the summary before submitting
    alert: int | None = None  # a row of the officers' alert card for a problem
    case: int | None = None  # a row of the case card
    export: int | None = None  # a column of the reports export
    # That column's name, shared across forms; its header is `export.<name>`. Without it the
    # column is named by the step id and headed by the step's label.
    export_as: str | None = None
    # The report's stored column filled from the answer ("coordinates" for a location: the
    # latitude and longitude columns).
    column: str | None = None
    detail_of: str | None = None  # qualifies another step's answer (the text of its "other")


@dataclass(frozen=True)
class Form:
    id: str
    version: int
    key: str  # locale key prefix for the form's name (`<key>.title`)
    submit: SubmitAction
    steps: tuple[Step, ...]
    cancellable: bool = True  # offers "cancel" (a new privacy notice waits for its answer)

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def index(self, step_id: str) -> int:
        return next(i for i, s in enumerate(self.steps) if s.id == step_id)


# Version of the privacy notice (locales: form.registration.consent.prompt); bump when it changes:
# everyone who agreed to an older one is asked again at their next message (RENOTICE).
# 2569-2: says who sees the name and the phone; 2569-3: how long each thing is kept, and the
# rights in chat ("ข้อมูลของฉัน").
NOTICE_VERSION = "2569-3"

ROLES = vocab.REPORTER_ROLES
LANGUAGES = vocab.LANGUAGES
URGENCIES = vocab.URGENCIES

# Who someone is: asked of villagers and staff alike, the language first so that the privacy
# notice and everything after it is in the language chosen.
WHO_STEPS = (
    Step("language", "choice", "form.registration.language", options=LANGUAGES,
         options_list="language"),
    Step("consent", "consent", "form.registration.consent"),
    Step("name", "text", "form.registration.name", minimum=2, maximum=100),
    Step("phone", "phone", "form.registration.phone", optional=True),
)  # fmt: skip

REGISTRATION = Form(
    id="registration",
    version=1,
    key="form.registration",
    submit="register",
    steps=(
        *WHO_STEPS,
        Step("role", "choice", "form.registration.role", options=ROLES, options_list="role"),
        Step("area", "area", "form.registration.area"),
        Step("confirm", "confirm", "form.registration.confirm"),
    ),
)

# The report forms say where each answer goes (see `Step`): the report's stored columns, the rows
# of the officers' alert and case cards (the report's area sits at `handlers.reports.AREA_ROW`),
# and the export's columns (shared by name between the two forms).
ACTIVITY = Form(
    id="activity",
    version=1,
    key="form.activity",
    submit="activity_report",
    steps=(
        Step("activity_type", "choice", "form.activity.type", options_list="activity_types",
             column="activity_type", export=10, export_as="topic"),
        Step("activity_other", "text", "form.activity.other", minimum=2, maximum=200,
             when=Equals("activity_type", "other"), detail_of="activity_type"),
        Step("date", "date", "form.activity.date", max_days_ahead=0, max_days_back=366,
             column="occurred_on", export=30, export_as="occurred_on"),
        Step("place", "location", "form.activity.place", allow_registered_village=True,
             column="coordinates", export=80),
        Step("participants", "number", "form.activity.participants", minimum=1, maximum=100_000,
             column="participants", export=40, export_as="participants"),
        Step("sectors", "multi", "form.activity.sectors", options_list="partner_sectors",
             optional=True, export=60, export_as="sectors"),
        Step("description", "text", "form.activity.description", minimum=5, maximum=1000,
             column="description", export=70, export_as="description"),
        Step("photos", "photos", "form.activity.photos", optional=True, maximum=5),
        Step("confirm", "confirm", "form.activity.confirm"),
    ),
)  # fmt: skip

PROBLEM = Form(
    id="problem",
    version=1,
    key="form.problem",
    submit="problem_report",
    steps=(
        Step("category", "choice", "form.problem.category", options_list="problem_categories",
             column="problem_category", alert=10, case=10, export=10, export_as="topic"),
        Step("category_other", "text", "form.problem.other", minimum=2, maximum=200,
             when=Equals("category", "other"), detail_of="category"),
        Step("urgency", "choice", "form.problem.urgency", options=URGENCIES,
             options_list="urgency", column="urgency", alert=20, case=20, export=20,
             export_as="urgency"),
        Step("households", "number", "form.problem.households", minimum=0, maximum=100_000,
             column="households", alert=40, case=40, export=50,
             export_as="households"),
        Step("description", "text", "form.problem.description", minimum=5, maximum=1000,
             column="description", alert=50, case=50, export=70,
             export_as="description"),
        Step("photos", "photos", "form.problem.photos", optional=True, maximum=5),
        Step("location", "location", "form.problem.location", allow_registered_village=True,
             column="coordinates", alert=60, case=60, export=80),
        Step("confirm", "confirm", "form.problem.confirm"),
    ),
)  # fmt: skip

CHANGE_LANGUAGE = Form(
    id="language",
    version=1,
    key="form.language",
    submit="update_profile",
    steps=(
        Step(
            "language",
            "choice",
            "form.registration.language",
            options=LANGUAGES,
            options_list="language",
        ),
    ),
)

CHANGE_AREA = Form(
    id="area",
    version=1,
    key="form.area",
    submit="update_profile",
    steps=(
        Step("area", "area", "form.registration.area"),
        Step("confirm", "confirm", "form.area.confirm"),
    ),
)

# Personal data ("ข้อมูลของฉัน / My data"): a correction is one question, then stored.
CORRECT_NAME = Form(
    id="my_name",
    version=1,
    key="form.my_name",
    submit="correct",
    steps=(Step("name", "text", "form.my_name.name", minimum=2, maximum=100),),
)
CORRECT_PHONE = Form(
    id="my_phone",
    version=1,
    key="form.my_phone",
    submit="correct",
    # Optional: "skip" removes the phone held.
    steps=(Step("phone", "phone", "form.my_phone.phone", optional=True),),
)
CORRECT_ROLE = Form(
    id="my_role",
    version=1,
    key="form.my_role",
    submit="correct",
    steps=(Step("role", "choice", "form.registration.role", options=ROLES, options_list="role"),),
)
# Deleting one's data: one question that says exactly what happens, yes or no.
ERASE = Form(
    id="erase",
    version=1,
    key="form.erase",
    submit="erase",
    steps=(Step("sure", "choice", "form.erase.sure", options=("yes", "no"),
                options_list="erase_sure"),),
)  # fmt: skip
# A new version of the privacy notice, asked of someone who agreed to an older one.
RENOTICE = Form(
    id="renotice",
    version=1,
    key="form.renotice",
    submit="reconsent",
    cancellable=False,
    steps=(Step("renotice", "consent", "form.registration.consent"),),
)

# Officers and coordinators register with an invite code: no village questions for them.
STAFF_REGISTRATION = Form(
    id="staff",
    version=1,
    key="form.staff",
    submit="join",
    steps=(
        *WHO_STEPS,
        Step("confirm", "confirm", "form.staff.confirm"),
    ),
)

# What an officer is asked when starting work on, closing, forwarding or refusing a case
# (report_id is preset).
CASE_PROGRESS = Form(
    id="case_progress",
    version=1,
    key="form.case_progress",
    submit="case_progress",
    steps=(
        # Optional: "skip" starts the work with no note; what is typed the reporter reads.
        Step("note", "text", "form.case_progress.note", optional=True, minimum=2, maximum=500),
    ),
)
CASE_RESOLVE = Form(
    id="case_resolve",
    version=1,
    key="form.case_resolve",
    submit="case_resolve",
    steps=(
        Step("note", "text", "form.case_resolve.note", minimum=2, maximum=500),
        Step("photos", "photos", "form.case_resolve.photos", optional=True, maximum=1),
        Step("confirm", "confirm", "form.case_resolve.confirm"),
    ),
)
CASE_FORWARD = Form(
    id="case_forward",
    version=1,
    key="form.case_forward",
    submit="case_forward",
    steps=(
        Step("district", "area", "form.case_forward.district", area_until="district"),
        Step("reason", "text", "form.case_forward.reason", minimum=2, maximum=500),
        Step("confirm", "confirm", "form.case_forward.confirm"),
    ),
)
CASE_REJECT = Form(
    id="case_reject",
    version=1,
    key="form.case_reject",
    submit="case_reject",
    steps=(
        Step("reason", "text", "form.case_reject.reason", minimum=2, maximum=500),
        Step("confirm", "confirm", "form.case_reject.confirm"),
    ),
)

AUDIENCES = ("reporter", "village_head", "health_volunteer", "volunteer", "officer", "coordinator")
BROADCAST = Form(
    id="broadcast",
    version=1,
    key="form.broadcast",
    submit="broadcast",
    steps=(
        Step("roles", "multi", "form.broadcast.roles", options=AUDIENCES,
             options_list="audience"),
        Step("scope", "choice", "form.broadcast.scope", options=("all", "district"),
             options_list="broadcast_scope"),
        Step("district", "area", "form.broadcast.district", area_until="district",
             when=Equals("scope", "district")),
        Step("text", "text", "form.broadcast.text", minimum=2, maximum=2000),
        Step("photos", "photos", "form.broadcast.photos", optional=True, maximum=1),
        Step("when", "choice", "form.broadcast.when", options=("now", "later"),
             options_list="broadcast_when"),
        Step("send_date", "date", "form.broadcast.send_date", when=Equals("when", "later"),
             max_days_ahead=60, max_days_back=0),
        Step("send_hour", "choice", "form.broadcast.send_hour",
             options=("0700", "0900", "1200", "1500", "1800"), options_list="broadcast_hour",
             when=Equals("when", "later")),
        Step("confirm", "confirm", "form.broadcast.confirm"),
    ),
)  # fmt: skip

FORMS: Mapping[str, Form] = {
    f.id: f
    for f in (
        REGISTRATION, ACTIVITY, PROBLEM, CHANGE_LANGUAGE, CHANGE_AREA, STAFF_REGISTRATION,
        CASE_PROGRESS, CASE_RESOLVE, CASE_FORWARD, CASE_REJECT, BROADCAST, CORRECT_NAME,
        CORRECT_PHONE, CORRECT_ROLE, ERASE, RENOTICE,
    )
}  # fmt: skip

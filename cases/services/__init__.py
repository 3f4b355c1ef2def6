"""Every change to a case goes through these functions: UI, admin, API and import alike.

Each one opens a transaction, locks the case row, checks what ``cases.actions`` declares for the
action (who may, from which states, what it requires), runs the django-fsm transition, saves,
and appends the ledger entry — all committed together or not at all (``_steps.acting``). Once
committed, the change is announced (``cases.signals.case_changed``) to whoever listens.

By topic: ``intake`` (受理), ``routing`` (交办, 改派), ``handling`` (签收, 退单, 办结, evidence,
imported closings), ``follow_up`` (重办, 回访), ``extensions`` (延期), ``deadlines`` (recounts,
督办), ``offers`` (what a user may do now, and why not), ``people`` (who works a case).
"""

from ..notes import add_note
from .checks import moved_on, refuse_integrity, require_actor, was_routed_to, wrong_state
from .deadlines import (
    RecomputedDue,
    announce_recomputed,
    mark_supervised,
    merged_versions,
    recompute_provisional_due_dates,
    set_recomputed_due_date,
)
from .extensions import (
    EXTENSION_MAX_DAYS_DEFAULT,
    approve_extension,
    extension_max_days,
    pending_extension,
    reject_extension,
    request_extension,
)
from .follow_up import record_follow_up, reopen
from .handling import acknowledge, add_evidence, explain, import_closing, resolve, return_case
from .intake import create_case, next_serial
from .offers import available_actions, ledger_version, parse_version, refusal_for
from .people import city_office_users, department_users, office_users
from .routing import assign, reassign

__all__ = [
    "add_note",
    "EXTENSION_MAX_DAYS_DEFAULT",
    "RecomputedDue",
    "acknowledge",
    "add_evidence",
    "announce_recomputed",
    "approve_extension",
    "assign",
    "available_actions",
    "city_office_users",
    "create_case",
    "department_users",
    "explain",
    "extension_max_days",
    "import_closing",
    "ledger_version",
    "mark_supervised",
    "merged_versions",
    "moved_on",
    "next_serial",
    "office_users",
    "parse_version",
    "pending_extension",
    "reassign",
    "recompute_provisional_due_dates",
    "record_follow_up",
    "refusal_for",
    "refuse_integrity",
    "reject_extension",
    "reopen",
    "request_extension",
    "require_actor",
    "resolve",
    "return_case",
    "set_recomputed_due_date",
    "was_routed_to",
    "wrong_state",
]

"""An item's audit trail in words: who, when, what, from → to, and why.

``AuditEvent.before`` / ``after`` keep the snapshots the services wrote (points, the reason or
note, the figures of items 19 and 21, an attachment's name, size and hash); the page shows what
an assessor reads, not the stored JSON.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from cases.display_names import display_name

from .models import AuditEvent

INPUT_LABELS = {
    "reports": lambda: _("reports submitted"),
    "rate": lambda: _("satisfaction rate"),
    "participating": lambda: _("participating enterprises"),
    "above_scale": lambda: _("enterprises above designated size"),
}


@dataclass
class HistoryRow:
    occurred_at: dt.datetime
    who: str
    what: str
    before: str  # the points before ("—" when there were none)
    after: str
    reason: str
    details: str = ""


def _points(snapshot: dict | None) -> str:
    if not snapshot or snapshot.get("points") in (None, ""):
        return "—"
    return str(snapshot["points"])


def _inputs(snapshot: dict | None) -> str:
    inputs = (snapshot or {}).get("inputs") or {}
    parts = [
        f"{INPUT_LABELS[key]()} {value}"
        for key, value in inputs.items()
        if key in INPUT_LABELS and value not in (None, "")
    ]
    return "；".join(parts)


def history_rows(events) -> list[HistoryRow]:
    rows = []
    for event in events:
        after = event.after or {}
        row = HistoryRow(
            occurred_at=event.occurred_at,
            who=display_name(event.actor, fallback=event.actor_name),
            what=event.get_action_display(),
            before=_points(event.before),
            after=_points(event.after),
            reason="",
        )
        if event.action == AuditEvent.Action.OVERRIDE:
            row.reason = after.get("reason", "")
            if after.get("computed") not in (None, ""):
                row.details = _("computed %(points)s") % {"points": after["computed"]}
        elif event.action == AuditEvent.Action.OVERRIDE_REMOVED:
            row.after = _("computed value")
            row.reason = after.get("reason", "")
        elif event.action == AuditEvent.Action.ENTRY:
            row.reason = after.get("note", "")
            row.details = _inputs(after)
        elif event.action == AuditEvent.Action.ATTACHMENT:
            row.before = row.after = ""
            size = after.get("size")
            row.details = after.get("name", "") + (f"（{filesizeformat(size)}）" if size else "")
        rows.append(row)
    return rows

"""Checking one row of an imported ledger and turning it into what the services take.

Every problem of a row is collected (not just the first) so a dry run can list them all.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils.translation import gettext as _

from cases import credit_code
from cases.input_rules import receipt_problem, text_problem
from cases.models import Category, Channel, Enterprise, Region, State

SHANGHAI = ZoneInfo("Asia/Shanghai")

STATES = {
    "received": State.RECEIVED, "已受理": State.RECEIVED, "受理": State.RECEIVED,
    "assigned": State.ASSIGNED, "已交办": State.ASSIGNED, "交办": State.ASSIGNED, "办理中": State.ASSIGNED,
    "resolved": State.RESOLVED, "已解决": State.RESOLVED, "解决": State.RESOLVED,
    "explained": State.EXPLAINED, "已解释答复": State.EXPLAINED, "解释答复": State.EXPLAINED,
    "已解释": State.EXPLAINED,
}
SIZES = {
    "规模以上": Enterprise.Size.ABOVE_SCALE, "双百": Enterprise.Size.DOUBLE_HUNDRED,
    "双30": Enterprise.Size.DOUBLE_THIRTY, "双三十": Enterprise.Size.DOUBLE_THIRTY,
    "小微": Enterprise.Size.SMALL_MICRO, "其他": Enterprise.Size.OTHER,
    **{value: value for value in Enterprise.Size.values},
}
EVIDENCE_SEPARATORS = re.compile(r"[;；、,，\n|]+")
DATE_TIME = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]+(\d{1,2})\s*[:时]\s*(\d{1,2})(?:\s*[:分]\s*(\d{1,2})(?:\.\d+)?)?\s*秒?)?\s*$"
)
# Free-text columns may hold line breaks (cases.input_rules); every other column is one line.
LONG_TEXT = frozenset({"description", "result", "policy_basis", "redirect_to", "evidence"})
LIMITS = {"ref": 64, "enterprise": 200, "description": 5000, "result": 5000, "department": 100,
          "policy_basis": 5000, "redirect_to": 5000, "contact_name": 50, "contact_phone": 30}


# What the first filled cell of a closing row of a real county ledger says: a total (合计：2件), a
# note (备注、说明、注：…) or a signature line (填报人、审核人、制表…). Such a row is not a case.
NOTE_WORDS = ("合计", "总计", "小计", "共计", "累计", "备注", "说明", "注：", "注:", "填报人", "填表人",
              "填报单位", "填报日期", "填表日期", "审核人", "审核", "制表", "负责人", "分管领导", "统计人", "经办人")
NOTE_MAX_FILLED_REQUIRED = 2  # a case row fills all nine required columns; a note row two at most


class References:
    """Regions, categories and channels by code or Chinese name, read once per import."""

    def __init__(self):
        self.regions = self._index(Region.objects.all())
        self.categories = self._index(Category.objects.all())
        self.channels = self._index(Channel.objects.all())
        self.default_channel = Channel.objects.filter(Q(code="other") | Q(name="其他")).first() or Channel.objects.first()

    @staticmethod
    def _index(queryset) -> dict:
        index = {}
        for item in queryset:
            index[item.name] = item
            index[item.code.lower()] = item
        return index

    @staticmethod
    def find(index: dict, value: str):
        return index.get(value) or index.get(value.lower())


@dataclass
class RowError:
    row: int | None
    column: str | None
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ParsedRow:
    row: int
    ref: str = ""
    region: Region | None = None
    enterprise: str = ""
    credit_code: str = ""
    size: str | None = None
    category: Category | None = None
    channel: Channel | None = None
    description: str = ""
    received_at: dt.datetime | None = None
    department: str = ""
    assigned_at: dt.datetime | None = None
    due_date: dt.date | None = None
    state: str = ""
    closed_at: dt.datetime | None = None
    result: str = ""
    evidence: list[str] = field(default_factory=list)
    policy_basis: str = ""
    redirect_to: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    errors: list[RowError] = field(default_factory=list)


def cell_text(value) -> str:
    """A cell as text: numbers Excel stored as floats lose their '.0', dates their time of 00:00."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def note_text(cells: list, columns: dict[str, int], required: list[str]) -> str | None:
    """The row's text when it is a total, a note or a signature line rather than a case (it is
    then skipped and listed, not an error); None for a row to import.

    Its first filled cell starts with one of ``NOTE_WORDS`` and it fills no more than
    ``NOTE_MAX_FILLED_REQUIRED`` of the required columns with anything but such labels, so a real
    case whose number happens to begin with 合计 is still read (and checked) as a case."""
    first = next((text for text in map(cell_text, cells) if text), None)
    if first is None or not re.sub(r"\s+", "", first).startswith(NOTE_WORDS):
        return None
    filled = [(index, text) for index, text in enumerate(map(cell_text, cells)) if text]
    # Labels spread along the row (填报人：… 审核人：… 制表日期：…) do not count as filled.
    holding_values = {index for index, text in filled if not re.sub(r"\s+", "", text).startswith(NOTE_WORDS)}
    if sum(1 for key in required if columns.get(key) in holding_values) > NOTE_MAX_FILLED_REQUIRED:
        return None
    return " ".join(text for _index, text in filled)[:200]


def parse_moment(value) -> dt.datetime | None:
    """A date or date-time, in Asia/Shanghai unless it says otherwise. Raises ValueError."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif isinstance(value, int | float) and not isinstance(value, bool):
        from openpyxl.utils.datetime import from_excel

        moment = from_excel(value)
        if not isinstance(moment, dt.datetime):
            raise ValueError(value)
    else:
        text = str(value).strip()
        match = DATE_TIME.match(text)
        if match:
            year, month, day, hour, minute, second = (int(part) if part else 0 for part in match.groups())
            moment = dt.datetime(year, month, day, hour, minute, second)
        else:
            moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment


def parse_day(value) -> dt.date | None:
    moment = parse_moment(value)
    return None if moment is None else moment.astimezone(SHANGHAI).date()


def parse_row(number: int, cells: list, sheet, refs: References, *, now: dt.datetime, region_allowed) -> ParsedRow:
    """Check one row; ``region_allowed(region)`` says whether the importing user may import it."""
    parsed = ParsedRow(row=number)
    columns = sheet.columns

    def raw(key):
        index = columns.get(key)
        if index is None or index >= len(cells):
            return None
        return cells[index]

    texts = {key: cell_text(raw(key)) for key in columns}

    def text(key) -> str:
        return texts.get(key, "")

    for key in columns:  # the same text rule as forms and the API, once per cell
        problem = text_problem(text(key), multiline=key in LONG_TEXT)
        if problem:
            parsed.errors.append(RowError(number, sheet.header_of(key), problem))

    def error(key: str, message: str) -> None:
        parsed.errors.append(RowError(number, sheet.header_of(key), message))

    def required_text(key: str, label: str) -> str:
        value = text(key)
        if not value:
            error(key, _("%(label)s is required.") % {"label": label})
        elif len(value) > LIMITS.get(key, 5000):
            error(key, _("%(label)s is too long (at most %(n)d characters).") % {"label": label, "n": LIMITS[key]})
        return value

    def moment(key: str) -> dt.datetime | None:
        try:
            return parse_moment(raw(key))
        except (ValueError, TypeError, OverflowError):
            error(key, _("“%(value)s” is not a date or time (write it like 2024-03-13 09:30).") % {"value": text(key)[:40]})
            return None

    parsed.ref = required_text("ref", _("The number (编号)"))

    region_text = text("region")
    if not region_text:
        error("region", _("The region code is required."))
    else:
        region = refs.find(refs.regions, region_text)
        if region is None:
            error("region", _("Unknown region “%(value)s”: give its GB/T 2260 code, e.g. 411502.") % {"value": region_text[:40]})
        elif not region_allowed(region):
            error("region", _("You may import only your own region's cases (this row is for %(region)s).") % {"region": region.name})
        else:
            parsed.region = region

    parsed.enterprise = required_text("enterprise", _("The enterprise name"))
    code = credit_code.normalize(text("credit_code"))
    if not code:
        error("credit_code", _("The unified social credit code is required."))
    else:
        problem = credit_code.problem(code)
        if problem:
            error("credit_code", str(problem))
        parsed.credit_code = code

    size_text = text("size")
    if size_text:
        parsed.size = SIZES.get(size_text) or SIZES.get(size_text.lower())
        if parsed.size is None:
            error("size", _("Unknown size class “%(value)s”: use 规模以上, 双百, 双30, 小微 or 其他.") % {"value": size_text[:40]})

    category_text = text("category")
    if not category_text:
        error("category", _("The category is required."))
    else:
        parsed.category = refs.find(refs.categories, category_text)
        if parsed.category is None:
            error("category", _("Unknown category “%(value)s”.") % {"value": category_text[:40]})

    channel_text = text("channel")
    if channel_text:
        parsed.channel = refs.find(refs.channels, channel_text)
        if parsed.channel is None:
            error("channel", _("Unknown channel “%(value)s”.") % {"value": channel_text[:40]})
    else:
        parsed.channel = refs.default_channel

    parsed.description = required_text("description", _("The problem description"))

    parsed.received_at = moment("received_at")
    if parsed.received_at is None and not any(e.column == sheet.header_of("received_at") for e in parsed.errors):
        error("received_at", _("The time of receipt is required."))
    elif parsed.received_at is not None and (problem := receipt_problem(parsed.received_at, now=now)):
        error("received_at", problem)

    state_text = text("state")
    if not state_text:
        error("state", _("The state is required."))
    else:
        parsed.state = STATES.get(state_text) or STATES.get(state_text.lower()) or ""
        if not parsed.state:
            error("state", _("Unknown state “%(value)s”: use 已受理, 已交办, 已解决 or 已解释答复.") % {"value": state_text[:40]})

    parsed.department = text("department")
    parsed.assigned_at = moment("assigned_at")
    try:
        parsed.due_date = parse_day(raw("due_date"))
    except (ValueError, TypeError, OverflowError):
        error("due_date", _("“%(value)s” is not a date (write it like 2024-03-20).") % {"value": text("due_date")[:40]})
    parsed.closed_at = moment("closed_at")
    parsed.result = text("result")
    parsed.policy_basis = text("policy_basis")
    parsed.redirect_to = text("redirect_to")
    parsed.contact_name = text("contact_name")
    parsed.contact_phone = text("contact_phone")
    for key in ("department", "result", "policy_basis", "redirect_to", "contact_name", "contact_phone"):
        if len(getattr(parsed, key)) > LIMITS[key]:
            error(key, _("Too long (at most %(n)d characters).") % {"n": LIMITS[key]})
    parsed.evidence = [item.strip() for item in EVIDENCE_SEPARATORS.split(text("evidence")) if item.strip()]
    if any(len(item) > 200 for item in parsed.evidence):
        error("evidence", _("Each evidence reference may have at most 200 characters."))
    if len(parsed.evidence) > 20:
        error("evidence", _("At most 20 evidence items per case."))

    _check_history(parsed, error, now)
    return parsed


def _check_history(parsed: ParsedRow, error, now: dt.datetime) -> None:
    """The row's state must agree with the times and texts it carries."""
    routed = parsed.state in (State.ASSIGNED, State.RESOLVED, State.EXPLAINED)
    closed = parsed.state in (State.RESOLVED, State.EXPLAINED)
    received = parsed.received_at
    if parsed.state == State.RECEIVED:
        if parsed.department:
            error("department", _("A case still “received” has not been routed: leave the department empty or correct the state."))
        if parsed.assigned_at:
            error("assigned_at", _("A case still “received” has not been routed: leave the assignment time empty or correct the state."))
    if routed:
        if not parsed.department:
            error("department", _("The department is required for a case that was routed."))
        if parsed.assigned_at is None:
            error("assigned_at", _("The assignment time is required for a case that was routed."))
    if parsed.assigned_at is not None:
        if received is not None and parsed.assigned_at < received:
            error("assigned_at", _("The assignment time is before the time of receipt."))
        if parsed.assigned_at > now:
            error("assigned_at", _("The assignment time cannot be in the future."))
    if parsed.due_date is not None and received is not None and parsed.due_date < received.astimezone(SHANGHAI).date():
        error("due_date", _("The due date is before the day of receipt."))
    if closed:
        if parsed.closed_at is None:
            error("closed_at", _("The closing time is required for a resolved or explained case."))
        if not parsed.result:
            error("result", _("The result is required for a resolved or explained case."))
    elif parsed.closed_at is not None and parsed.state:
        error("closed_at", _("The case is not closed in this row, so it cannot have a closing time; correct the state or remove the time."))
    if parsed.closed_at is not None:
        if received is not None and parsed.closed_at < received:
            error("closed_at", _("The closing time is before the time of receipt."))
        elif parsed.assigned_at is not None and parsed.closed_at < parsed.assigned_at:
            error("closed_at", _("The closing time is before the assignment time."))
        if parsed.closed_at > now:
            error("closed_at", _("The closing time cannot be in the future."))

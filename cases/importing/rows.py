"""Checking one row of an imported ledger and turning it into what the services take.

Every problem of a row is collected (not just the first) so a dry run can list them all.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import credit_code
from cases.input_rules import receipt_problem, text_problem
from cases.models import Category, Channel, Enterprise, Region, State

SHANGHAI = ZoneInfo("Asia/Shanghai")

STATES = {
    "received": State.RECEIVED,
    "已受理": State.RECEIVED,
    "受理": State.RECEIVED,
    "assigned": State.ASSIGNED,
    "已交办": State.ASSIGNED,
    "交办": State.ASSIGNED,
    "办理中": State.ASSIGNED,
    "resolved": State.RESOLVED,
    "已解决": State.RESOLVED,
    "解决": State.RESOLVED,
    "explained": State.EXPLAINED,
    "已解释答复": State.EXPLAINED,
    "解释答复": State.EXPLAINED,
    "已解释": State.EXPLAINED,
}
SIZES = {
    "规模以上": Enterprise.Size.ABOVE_SCALE,
    "双百": Enterprise.Size.DOUBLE_HUNDRED,
    "双30": Enterprise.Size.DOUBLE_THIRTY,
    "双三十": Enterprise.Size.DOUBLE_THIRTY,
    "小微": Enterprise.Size.SMALL_MICRO,
    "其他": Enterprise.Size.OTHER,
    **{value: value for value in Enterprise.Size.values},
}
EVIDENCE_SEPARATORS = re.compile(r"[;；、,，\n|]+")
DATE_TIME = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]+(\d{1,2})\s*[:时]\s*(\d{1,2})(?:\s*[:分]\s*(\d{1,2})(?:\.\d+)?)?\s*秒?)?\s*$"
)
# Free-text columns may hold line breaks (cases.input_rules); every other column is one line.
LONG_TEXT = frozenset({"description", "result", "policy_basis", "redirect_to", "evidence"})
LIMITS = {
    "ref": 64,
    "enterprise": 200,
    "description": 5000,
    "result": 5000,
    "department": 100,
    "policy_basis": 5000,
    "redirect_to": 5000,
    "contact_name": 50,
    "contact_phone": 30,
}

# Column labels for messages, translated only when a message is made (not on every row).
REF_LABEL = gettext_lazy("The number (编号)")
ENTERPRISE_LABEL = gettext_lazy("The enterprise name")
DESCRIPTION_LABEL = gettext_lazy("The problem description")


# What the first filled cell of a closing row of a real county ledger says: a total (合计：2件), a
# note (备注、说明、注：…) or a signature line (填报人、审核人、制表…). Such a row is not a case.
NOTE_WORDS = (
    "合计",
    "总计",
    "小计",
    "共计",
    "累计",
    "备注",
    "说明",
    "注：",
    "注:",
    "填报人",
    "填表人",
    "填报单位",
    "填报日期",
    "填表日期",
    "审核人",
    "审核",
    "制表",
    "负责人",
    "分管领导",
    "统计人",
    "经办人",
)
NOTE_MAX_FILLED_REQUIRED = 2  # a case row fills all nine required columns; a note row two at most


class References:
    """Regions, categories and channels by code or Chinese name, read once per import."""

    def __init__(self):
        self.regions = self._index(Region.objects.all())
        self.categories = self._index(Category.objects.all())
        self.channels = self._index(Channel.objects.all())
        self.default_channel = (
            Channel.objects.filter(Q(code="other") | Q(name="其他")).first() or Channel.objects.first()
        )

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
    if type(value) is str:  # (every cell of a CSV file)
        return value.strip()
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


class _RowReader:
    """One row's cells by column key (each cell's text read once), and the row's errors as they
    are found."""

    def __init__(self, number: int, cells: list, sheet):
        self.number, self.cells, self.sheet = number, cells, sheet
        self.parsed = ParsedRow(row=number)
        size = len(cells)
        self.texts = {key: cell_text(cells[index]) if index < size else "" for key, index in sheet.columns.items()}

    def raw(self, key: str):
        index = self.sheet.columns.get(key)
        if index is None or index >= len(self.cells):
            return None
        return self.cells[index]

    def text(self, key: str) -> str:
        return self.texts.get(key, "")

    def error(self, key: str, message: str) -> None:
        self.parsed.errors.append(RowError(self.number, self.sheet.header_of(key), message))

    def has_error(self, key: str) -> bool:
        return any(e.column == self.sheet.header_of(key) for e in self.parsed.errors)

    def required_text(self, key: str, label: str) -> str:
        value = self.text(key)
        if not value:
            self.error(key, _("%(label)s is required.") % {"label": label})
        elif len(value) > LIMITS.get(key, 5000):
            self.error(key, _("%(label)s is too long (at most %(n)d characters).") % {"label": label, "n": LIMITS[key]})
        return value

    def moment(self, key: str) -> dt.datetime | None:
        try:
            return parse_moment(self.raw(key))
        except (ValueError, TypeError, OverflowError):
            self.error(
                key,
                _("“%(value)s” is not a date or time (write it like 2024-03-13 09:30).")
                % {"value": self.text(key)[:40]},
            )
            return None

    def day(self, key: str) -> dt.date | None:
        try:
            return parse_day(self.raw(key))
        except (ValueError, TypeError, OverflowError):
            self.error(key, _("“%(value)s” is not a date (write it like 2024-03-20).") % {"value": self.text(key)[:40]})
            return None


def parse_row(number: int, cells: list, sheet, refs: References, *, now: dt.datetime, region_allowed) -> ParsedRow:
    """Check one row against SPEC §7's columns, in the table's order, then the history it tells;
    ``region_allowed(region)`` says whether the importing user may import it."""
    row = _RowReader(number, cells, sheet)
    parsed = row.parsed
    _check_text(row)

    parsed.ref = row.required_text("ref", REF_LABEL)
    parsed.region = _region(row, refs, region_allowed)
    parsed.enterprise = row.required_text("enterprise", ENTERPRISE_LABEL)
    parsed.credit_code = _credit_code(row)
    parsed.size = _size(row)
    parsed.category = _category(row, refs)
    parsed.channel = _channel(row, refs)
    parsed.description = row.required_text("description", DESCRIPTION_LABEL)
    parsed.received_at = _received_at(row, now)
    parsed.state = _state(row)
    _read_handling(row)
    parsed.evidence = _evidence(row)

    _same_day_dates_follow(parsed)
    _check_history(parsed, row.error, now)
    return parsed


def _check_text(row: _RowReader) -> None:
    """The same text rule as forms and the API, for every cell: asked once for the row's one-line
    cells together and once for its free-text cells (joined by a space, which both allow), and
    cell by cell only when one of them has a problem, to say which."""
    lines = " ".join(text for key, text in row.texts.items() if key not in LONG_TEXT)
    long_texts = " ".join(text for key, text in row.texts.items() if key in LONG_TEXT)
    if text_problem(lines) is None and text_problem(long_texts, multiline=True) is None:
        return
    for key, text in row.texts.items():
        problem = text_problem(text, multiline=key in LONG_TEXT)
        if problem:
            row.error(key, problem)


def _same_day_dates_follow(parsed: ParsedRow) -> None:
    """Ledgers often give 交办时间 or 办结时间 as a date only: read as midnight, a case routed or
    closed the same day it was received at 09:30 would seem routed before receipt. A date-only
    moment (local midnight) on the day of the event before it is taken as that event's time, so
    the row is accepted and the ledger's times still never go backwards."""
    before = parsed.received_at
    for name in ("assigned_at", "closed_at"):
        moment = getattr(parsed, name)
        if moment is None:
            continue
        local = moment.astimezone(SHANGHAI)
        if (
            before is not None
            and local.time() == dt.time(0)
            and local.date() == before.astimezone(SHANGHAI).date()
            and moment < before
        ):
            setattr(parsed, name, before)
        before = getattr(parsed, name)


def _region(row: _RowReader, refs: References, region_allowed) -> Region | None:
    """县区代码: required, a known region, and one the importing user acts for."""
    value = row.text("region")
    if not value:
        row.error("region", _("The region code is required."))
        return None
    region = refs.find(refs.regions, value)
    if region is None:
        row.error(
            "region", _("Unknown region “%(value)s”: give its GB/T 2260 code, e.g. 411502.") % {"value": value[:40]}
        )
        return None
    if not region_allowed(region):
        row.error(
            "region",
            _("You may import only your own region's cases (this row is for %(region)s).") % {"region": region.name},
        )
        return None
    return region


def _credit_code(row: _RowReader) -> str:
    """统一社会信用代码: required, its check character verified (kept even when wrong, to be reported)."""
    code = credit_code.normalize(row.text("credit_code"))
    if not code:
        row.error("credit_code", _("The unified social credit code is required."))
        return ""
    problem = credit_code.problem(code)
    if problem:
        row.error("credit_code", str(problem))
    return code


def _size(row: _RowReader) -> str | None:
    """The enterprise's size class: optional; when given, one of the known classes."""
    value = row.text("size")
    if not value:
        return None
    size = SIZES.get(value) or SIZES.get(value.lower())
    if size is None:
        row.error(
            "size", _("Unknown size class “%(value)s”: use 规模以上, 双百, 双30, 小微 or 其他.") % {"value": value[:40]}
        )
    return size


def _category(row: _RowReader, refs: References) -> Category | None:
    """问题类别: required, by name or code."""
    value = row.text("category")
    if not value:
        row.error("category", _("The category is required."))
        return None
    category = refs.find(refs.categories, value)
    if category is None:
        row.error("category", _("Unknown category “%(value)s”.") % {"value": value[:40]})
    return category


def _channel(row: _RowReader, refs: References) -> Channel | None:
    """反映渠道: optional (the "other" channel when absent); when given, a known one."""
    value = row.text("channel")
    if not value:
        return refs.default_channel
    channel = refs.find(refs.channels, value)
    if channel is None:
        row.error("channel", _("Unknown channel “%(value)s”.") % {"value": value[:40]})
    return channel


def _received_at(row: _RowReader, now: dt.datetime) -> dt.datetime | None:
    """受理时间: required, a date or date-time, and a receipt the intake form would accept."""
    received = row.moment("received_at")
    if received is None:
        if not row.has_error("received_at"):  # one message for the column: not also "required"
            row.error("received_at", _("The time of receipt is required."))
    elif problem := receipt_problem(received, now=now):
        row.error("received_at", problem)
    return received


def _state(row: _RowReader) -> str:
    """办理状态: required, in English or Chinese; "" when missing or unknown."""
    value = row.text("state")
    if not value:
        row.error("state", _("The state is required."))
        return ""
    state = STATES.get(value) or STATES.get(value.lower()) or ""
    if not state:
        row.error(
            "state", _("Unknown state “%(value)s”: use 已受理, 已交办, 已解决 or 已解释答复.") % {"value": value[:40]}
        )
    return state


def _read_handling(row: _RowReader) -> None:
    """The columns of the case's handling: 责任单位, 交办时间, 办理时限, 办结时间, 办理结果 and the
    optional texts. Which of them a state requires is ``_check_history``'s."""
    parsed = row.parsed
    parsed.department = row.text("department")
    parsed.assigned_at = row.moment("assigned_at")
    parsed.due_date = row.day("due_date")
    parsed.closed_at = row.moment("closed_at")
    parsed.result = row.text("result")
    parsed.policy_basis = row.text("policy_basis")
    parsed.redirect_to = row.text("redirect_to")
    parsed.contact_name = row.text("contact_name")
    parsed.contact_phone = row.text("contact_phone")
    for key in ("department", "result", "policy_basis", "redirect_to", "contact_name", "contact_phone"):
        if len(getattr(parsed, key)) > LIMITS[key]:
            row.error(key, _("Too long (at most %(n)d characters).") % {"n": LIMITS[key]})


def _evidence(row: _RowReader) -> list[str]:
    """佐证材料: references separated by any of ;；、,，| or a line break; each one evidence item."""
    evidence = [item.strip() for item in EVIDENCE_SEPARATORS.split(row.text("evidence")) if item.strip()]
    if any(len(item) > 200 for item in evidence):
        row.error("evidence", _("Each evidence reference may have at most 200 characters."))
    if len(evidence) > 20:
        row.error("evidence", _("At most 20 evidence items per case."))
    return evidence


ErrorSink = Callable[[str, str], None]


def _check_history(parsed: ParsedRow, error: ErrorSink, now: dt.datetime) -> None:
    """The row's state must agree with the times and texts it carries."""
    _check_routing(parsed, error, now)
    received = parsed.received_at
    if parsed.due_date is not None and received is not None and parsed.due_date < received.astimezone(SHANGHAI).date():
        error("due_date", _("The due date is before the day of receipt."))
    _check_closing(parsed, error, now)


def _check_routing(parsed: ParsedRow, error: ErrorSink, now: dt.datetime) -> None:
    """责任单位 and 交办时间 "when routed": both for a case assigned or closed, neither for one
    still received; routed after receipt and not in the future."""
    if parsed.state == State.RECEIVED:
        if parsed.department:
            error(
                "department",
                _("A case still “received” has not been routed: leave the department empty or correct the state."),
            )
        if parsed.assigned_at:
            error(
                "assigned_at",
                _("A case still “received” has not been routed: leave the assignment time empty or correct the state."),
            )
    if parsed.state in (State.ASSIGNED, State.RESOLVED, State.EXPLAINED):
        if not parsed.department:
            error("department", _("The department is required for a case that was routed."))
        if parsed.assigned_at is None:
            error("assigned_at", _("The assignment time is required for a case that was routed."))
    if parsed.assigned_at is not None:
        if parsed.received_at is not None and parsed.assigned_at < parsed.received_at:
            error("assigned_at", _("The assignment time is before the time of receipt."))
        if parsed.assigned_at > now:
            error("assigned_at", _("The assignment time cannot be in the future."))


def _check_closing(parsed: ParsedRow, error: ErrorSink, now: dt.datetime) -> None:
    """办结时间 and 办理结果 "when closed": both for a resolved or explained case, no closing time
    for one not closed; closed after receipt and routing and not in the future."""
    if parsed.state in (State.RESOLVED, State.EXPLAINED):
        if parsed.closed_at is None:
            error("closed_at", _("The closing time is required for a resolved or explained case."))
        if not parsed.result:
            error("result", _("The result is required for a resolved or explained case."))
    elif parsed.closed_at is not None and parsed.state:
        error(
            "closed_at",
            _(
                "The case is not closed in this row, so it cannot have a closing time; "
                "correct the state or remove the time."
            ),
        )
    if parsed.closed_at is None:
        return
    if parsed.received_at is not None and parsed.closed_at < parsed.received_at:
        error("closed_at", _("The closing time is before the time of receipt."))
    elif parsed.assigned_at is not None and parsed.closed_at < parsed.assigned_at:
        error("closed_at", _("The closing time is before the assignment time."))
    if parsed.closed_at > now:
        error("closed_at", _("The closing time cannot be in the future."))

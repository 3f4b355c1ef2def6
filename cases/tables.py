"""The 台帐 as offices keep it (SPEC §3): the same twelve columns on the page and in the exports."""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from .models import CLOSED_STATES, OPEN_STATES, Case, state_label

# (column name, header) in the order of the office's paper ledger.
LEDGER_COLUMNS = [
    ("counter", gettext_lazy("No.")),  # 序号
    ("number", gettext_lazy("Case number")),  # 编号
    ("enterprise", gettext_lazy("Enterprise name")),  # 企业名称
    ("category", gettext_lazy("Problem category")),  # 问题类别
    ("description", gettext_lazy("Problem content")),  # 问题内容
    ("received_at", gettext_lazy("Received at")),  # 受理时间
    ("department", gettext_lazy("Responsible department")),  # 责任单位
    ("due_date", gettext_lazy("Time limit")),  # 办理时限
    ("state", gettext_lazy("Handling state")),  # 办理状态
    ("closed_at", gettext_lazy("Closed at")),  # 办结时间
    ("result", gettext_lazy("Handling result")),  # 办理结果
    ("on_time", gettext_lazy("On time")),  # 是否按期
]
HEADERS = dict(LEDGER_COLUMNS)

# Sort keys the list and the exports accept (column name → model ordering).
ORDERINGS = {
    "number": ("region__code", "year", "serial"),
    "enterprise": ("enterprise__name",),
    "category": ("category__position", "category__code"),
    "received_at": ("received_at",),
    "department": ("department__name",),
    "due_date": ("due_date",),
    "state": ("state",),
    "closed_at": ("closed_at",),
}

TIMELINESS_ON_TIME = "on_time"
TIMELINESS_LATE = "late"
TIMELINESS_OVERDUE = "overdue"


def timeliness(state: str, due_date: dt.date | None, closed_at: dt.datetime | None, today: dt.date) -> str | None:
    """是否按期: closed on or before the due date, closed late, open past due, or not yet decided."""
    if state in CLOSED_STATES and closed_at is not None and due_date is not None:
        return TIMELINESS_ON_TIME if timezone.localtime(closed_at).date() <= due_date else TIMELINESS_LATE
    if state in OPEN_STATES and due_date is not None and today > due_date:
        return TIMELINESS_OVERDUE
    return None


def timeliness_label(value: str | None) -> str:
    return {
        TIMELINESS_ON_TIME: _("Yes"),
        TIMELINESS_LATE: _("No"),
        TIMELINESS_OVERDUE: _("Overdue"),
    }.get(value, "—")


def local_minutes(value: dt.datetime) -> str:
    """A moment as the 台帐 shows it, local "YYYY-MM-DD HH:MM": what ``date_format(localtime(value),
    "Y-m-d H:i")`` gives (a test compares them), without its per-character formatter (150 per page)."""
    return timezone.localtime(value).isoformat(" ", "minutes")[:16]


@functools.cache
def _combining() -> re.Pattern:
    """Every character with a combining class (Truncator does not count them); built once, ~0.1 s."""
    return re.compile("[" + "".join(re.escape(chr(c)) for c in range(0x110000) if unicodedata.combining(chr(c))) + "]")


def truncate_chars(value: str, length: int, ellipsis: str | None = None) -> str:
    """``Truncator(value).chars(length)``, the same text (a test compares them), in C for text without
    combining characters — every 台帐 row truncates two texts. ``ellipsis``: the translated
    truncation text, when the caller looked it up once for many calls."""
    if length <= 0:
        return ""
    text = unicodedata.normalize("NFC", value)
    if len(text) <= length:
        return text
    if ellipsis is None:
        ellipsis = pgettext("String to return when truncating text", "%(truncated_text)s…")
    if _combining().search(text):
        return Truncator(text).chars(length, truncate=ellipsis)
    # django.utils.text.calculate_truncate_chars_length, then _text_chars without combining characters
    marker = sum(1 for char in _ellipsis("", ellipsis) if not unicodedata.combining(char))
    return _ellipsis(text[: max(0, length - marker)], ellipsis)


def _ellipsis(text: str, ellipsis: str) -> str:
    # django.utils.text.add_truncation_text
    if "%(truncated_text)s" in ellipsis:
        return ellipsis % {"truncated_text": text}
    return text if text.endswith(ellipsis) else f"{text}{ellipsis}"


def ordering_from(sort: str | None) -> list[str]:
    """Model ordering for a ?sort= value ("-due_date"); the newest receipt first otherwise."""
    sort = (sort or "").strip()
    descending = sort.startswith("-")
    fields = ORDERINGS.get(sort.lstrip("-"))
    if not fields:
        return ["-received_at", "-id"]
    return [("-" if descending else "") + f for f in fields] + (["-id"] if descending else ["id"])


class LedgerTable(tables.Table):
    counter = tables.Column(verbose_name=HEADERS["counter"], empty_values=(), orderable=False)
    number = tables.Column(verbose_name=HEADERS["number"], order_by=ORDERINGS["number"])
    enterprise = tables.Column(
        verbose_name=HEADERS["enterprise"], accessor="enterprise__name", order_by=ORDERINGS["enterprise"]
    )
    category = tables.Column(
        verbose_name=HEADERS["category"], accessor="category__name", order_by=ORDERINGS["category"]
    )
    description = tables.Column(verbose_name=HEADERS["description"], orderable=False)
    received_at = tables.Column(verbose_name=HEADERS["received_at"])
    department = tables.Column(
        verbose_name=HEADERS["department"], accessor="department__name", order_by=ORDERINGS["department"]
    )
    due_date = tables.Column(verbose_name=HEADERS["due_date"])
    state = tables.Column(verbose_name=HEADERS["state"])
    closed_at = tables.Column(verbose_name=HEADERS["closed_at"])
    result = tables.Column(verbose_name=HEADERS["result"], orderable=False)
    on_time = tables.Column(verbose_name=HEADERS["on_time"], empty_values=(), orderable=False)

    class Meta:
        model = Case
        fields: tuple = ()
        sequence = [name for name, _header in LEDGER_COLUMNS]
        # django-tables2's table, its rows written by ``body_rows`` (below).
        template_name = "cases/ledger_table.html"
        attrs = {"class": "ledger-table"}
        order_by_field = "sort"
        per_page = 50

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.empty_text = _("No cases match.")

    def render_counter(self, bound_row):
        # 序号 runs on across pages, as in the paper ledger (row_counter restarts at 0 per page).
        return self._first_counter() + bound_row.row_counter

    def _first_counter(self) -> int:
        return self.page.start_index() if getattr(self, "page", None) else 1

    def render_number(self, record, value):
        return format_html('<a href="{}">{}</a>', reverse("cases:detail", args=[record.pk]), value)

    def render_enterprise(self, value):
        return value

    def render_received_at(self, value):
        return local_minutes(value)

    def render_closed_at(self, value):
        return local_minutes(value)

    def render_description(self, value):
        return truncate_chars(value, 40)

    def render_result(self, value):
        return truncate_chars(value, 40)

    def render_state(self, record):
        css = "badge-ok" if record.state in CLOSED_STATES else ""
        return format_html('<span class="badge {}">{}</span>', css, state_label(record.state))

    def render_on_time(self, record):
        return self._render_on_time(record, self.today)

    def render_due_date(self, record, value):
        text = value.isoformat()  # date_format(value, "Y-m-d"): ISO, the year in four digits
        return format_html("{}{}", text, self._provisional_badge()) if record.due_date_provisional else text

    def _provisional_badge(self) -> SafeString:
        return format_html(
            ' <span class="badge badge-warn" title="{}">{}</span>',
            _("Computed without the official calendar for that year"),
            _("provisional"),
        )

    def _render_on_time(self, record, today):
        value = timeliness(record.state, record.due_date, record.closed_at, today)
        css = {TIMELINESS_ON_TIME: "badge-ok", TIMELINESS_LATE: "badge-warn", TIMELINESS_OVERDUE: "badge-bad"}.get(
            value
        )
        if css is None:
            return "—"
        return format_html('<span class="badge {}">{}</span>', css, timeliness_label(value))

    def body_rows(self) -> list[tuple[str, list]]:
        """The page's rows — (css class, twelve cells) — as django-tables2's ``row.items()``
        renders them through the ``render_*`` methods above (a test compares the two), written
        directly: its per-cell machinery (a signature inspected and attributes computed for each
        of the 600 cells) cost more than the rest of the page. What is the same for many rows —
        the case link's pattern, a state's badge, 是否按期's badges — is made once per page. An
        empty value shows the table's default ("—"), as there."""
        empty, today, start = self.default, self.today, self._first_counter()
        link_head, link_tail = reverse("cases:detail", args=[_PK_MARK]).split(str(_PK_MARK))
        link_head, link_tail = conditional_escape(link_head), conditional_escape(link_tail)
        states: dict[str, str] = {}
        on_time: dict[str | None, str] = {}
        rows = []
        for index, row in enumerate(self.paginated_rows):
            case = row.record
            if case.state not in states:
                states[case.state] = self.render_state(case) if case.state else empty
            timely = timeliness(case.state, case.due_date, case.closed_at, today)
            if timely not in on_time:
                on_time[timely] = self._render_on_time(case, today)
            due = self.render_due_date(case, case.due_date) if case.due_date else empty
            cells = [
                start + index,
                mark_safe(f'<a href="{link_head}{case.pk}{link_tail}">{conditional_escape(case.number)}</a>'),
                self.render_enterprise(case.enterprise.name) if case.enterprise.name else empty,
                case.category.name or empty,
                self.render_description(case.description) if case.description else empty,
                local_minutes(case.received_at) if case.received_at else empty,
                (case.department.name or empty) if case.department_id else empty,
                due,
                states[case.state],
                local_minutes(case.closed_at) if case.closed_at else empty,
                self.render_result(case.result) if case.result else empty,
                on_time[timely],
            ]
            rows.append(("odd" if index % 2 else "even", cells))
        return rows

    def body_html(self) -> SafeString:
        """The table's <tbody> rows, each cell escaped as the template's ``{{ cell }}`` would be,
        as one string: 650 template variables fewer per page."""
        return mark_safe(
            "".join(
                f'<tr class="{css}">' + "".join(f"<td>{conditional_escape(cell)}</td>" for cell in cells) + "</tr>\n"
                for css, cells in self.body_rows()
            )
        )


# A case id no URL holds otherwise: the case link's pattern is reversed once per page with it.
_PK_MARK = 987654321987

"""The 台帐 as offices keep it (SPEC §3): the same twelve columns on the page and in the exports."""

from __future__ import annotations

import datetime as dt

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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
        return date_format(timezone.localtime(value), "Y-m-d H:i")

    def render_closed_at(self, value):
        return date_format(timezone.localtime(value), "Y-m-d H:i")

    def render_description(self, value):
        return Truncator(value).chars(40)

    def render_result(self, value):
        return Truncator(value).chars(40)

    def render_state(self, record):
        css = "badge-ok" if record.state in CLOSED_STATES else ""
        return format_html('<span class="badge {}">{}</span>', css, state_label(record.state))

    def render_on_time(self, record):
        return self._render_on_time(record, self.today)

    def body_rows(self) -> list[tuple[str, list]]:
        """The page's rows — (css class, twelve cells) — as django-tables2's ``row.items()``
        renders them through the ``render_*`` methods above (a test compares the two), written
        directly: its per-cell machinery (a signature inspected and attributes computed for each
        of the 600 cells) cost more than the rest of the page. An empty value shows the table's
        default ("—"), as there."""
        empty, today, start = self.default, self.today, self._first_counter()
        rows = []
        for index, row in enumerate(self.paginated_rows):
            case = row.record
            department = case.department.name if case.department_id else None
            cells = [
                start + index,
                self.render_number(case, case.number),
                self.render_enterprise(case.enterprise.name) if case.enterprise.name else empty,
                case.category.name or empty,
                self.render_description(case.description) if case.description else empty,
                self.render_received_at(case.received_at) if case.received_at else empty,
                department or empty,
                self.render_due_date(case, case.due_date) if case.due_date else empty,
                self.render_state(case) if case.state else empty,
                self.render_closed_at(case.closed_at) if case.closed_at else empty,
                self.render_result(case.result) if case.result else empty,
                self._render_on_time(case, today),
            ]
            rows.append(("odd" if index % 2 else "even", cells))
        return rows

    def _render_on_time(self, record, today):
        value = timeliness(record.state, record.due_date, record.closed_at, today)
        css = {TIMELINESS_ON_TIME: "badge-ok", TIMELINESS_LATE: "badge-warn", TIMELINESS_OVERDUE: "badge-bad"}.get(
            value
        )
        if css is None:
            return "—"
        return format_html('<span class="badge {}">{}</span>', css, timeliness_label(value))

    def render_due_date(self, record, value):
        text = date_format(value, "Y-m-d")
        if record.due_date_provisional:
            return format_html(
                '{} <span class="badge badge-warn" title="{}">{}</span>',
                text,
                _("Computed without the official calendar for that year"),
                _("provisional"),
            )
        return text

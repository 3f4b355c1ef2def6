"""The 台帐's cheap rendering gives what Django's own gives: the truncated texts, the local times,
the selects of the filter form, the <tbody> written in Python, each compared with the slower
original on many inputs (load test: the page's CPU is what the two cores serve 50 users with)."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from django import forms
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.filters import LedgerFilter
from cases.models import Case
from cases.tables import LedgerTable, local_minutes, truncate_chars
from cases.widgets import FastSelect
from tests.cases.test_views_ledger import bulk_cases


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(
        alphabet=st.sampled_from([*"企业反映问题办理ab <&…e", "\u0301", "\u0327", "\u212b", "😀"]), max_size=60
    )
)
def test_truncate_chars_is_truncators_text(language, text):
    """Chinese, markup, and what Truncator treats apart: combining marks (not counted), text that
    NFC normalisation changes (Å as U+212B), the ellipsis itself."""
    with translation.override(language):
        for length in (0, 1, 2, 39, 40, 41):
            assert truncate_chars(text, length) == Truncator(text).chars(length), (text, length)


def test_truncate_chars_of_long_and_short_texts():
    long = "企业反映厂区门前道路破损严重，雨天积水，货车进出困难，请求尽快维修并告知工期安排。" * 2
    assert truncate_chars(long, 40) == Truncator(long).chars(40)
    assert len(truncate_chars(long, 40)) == 40 and truncate_chars(long, 40).startswith(long[:30])
    assert truncate_chars("短文本", 40) == "短文本"
    combining = "e\u0301" * 45  # 45 characters as Truncator counts them, 90 code points
    assert truncate_chars(combining, 40) == Truncator(combining).chars(40)


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9998, 12, 30), timezones=st.just(dt.UTC))
)
def test_local_minutes_is_date_format(moment):
    assert local_minutes(moment) == date_format(timezone.localtime(moment), "Y-m-d H:i")


@settings(max_examples=200, deadline=None)
@given(day=st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_the_due_dates_iso_text_is_date_format(day):
    assert day.isoformat() == date_format(day, "Y-m-d")


def _as_django_select(widget: forms.Select) -> forms.Select:
    plain = forms.Select(attrs=copy.deepcopy(widget.attrs))
    plain.choices = widget.choices
    return plain


SELECT_CASES = [
    ([("", "全部"), ("a", "甲"), ("b", "<b>乙</b> & 丙")], "b", {"id": "id_x"}),
    ([("", gettext_lazy("All")), (1, "一"), (2, "二")], 2, {"id": "id_n", "required": True, "disabled": False}),
    ([("G", [("x", "X"), ("y", "Y")]), ("z", "Z")], "y", {"data-note": 'say "hi"', "autofocus": True}),
    ([("", "—")], None, {}),
    ([("1", mark_safe("<i>safe</i>")), ("2", "plain")], ["1", "2"], {"class": "a b"}),
]


@pytest.mark.parametrize(("choices", "value", "attrs"), SELECT_CASES)
def test_fast_select_writes_djangos_select(choices, value, attrs):
    fast = FastSelect(attrs=attrs, choices=choices)
    assert fast.render("field", value) == _as_django_select(fast).render("field", value)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["county_a", "dept_x_user", "city_user"])
@pytest.mark.parametrize(
    "query", [{}, {"state": "assigned", "overdue": "yes", "queue": "overdue"}, {"region": "999", "category": "x"}]
)
def test_the_ledger_filters_selects_are_djangos(request, who, query, dept_x, dept_y, dept_z, category):
    user = request.getfixturevalue(who)
    http = RequestFactory().get("/ledger/", query)
    http.user = user
    form = LedgerFilter(http.GET or None, queryset=Case.objects.all(), request=http).form
    selects = [field for field in form.visible_fields() if isinstance(field.field.widget, forms.Select)]
    assert {field.name for field in selects} == {"region", "department", "state", "category", "overdue", "queue"}
    for field in selects:
        assert isinstance(field.field.widget, FastSelect)
        fast = str(field)
        field.field.widget = _as_django_select(field.field.widget)
        assert fast == str(field), field.name


OLD_BODY = Template(
    '{% for css, cells in rows %}<tr class="{{ css }}">{% for cell in cells %}<td>{{ cell }}</td>{% endfor %}</tr>\n'
    "{% endfor %}"
)


@pytest.mark.django_db
def test_the_body_written_in_python_is_what_the_template_wrote(region_a, category, channel, dept_x, dept_y, county_a):
    bulk_cases(60, region=region_a, category=category, channel=channel, departments=[dept_x, dept_y], by=county_a)
    Case.objects.filter(pk__in=Case.objects.order_by("-pk").values("pk")[:5]).update(
        description='<script>alert("x")</script>' + "很长的描述" * 10, due_date_provisional=True
    )
    queryset = Case.objects.select_related("enterprise", "category", "department").order_by("-received_at", "-id")
    table = LedgerTable(queryset, today=dt.date(2025, 3, 20))
    table.paginate(per_page=50, page=1)
    html = table.body_html()
    assert html == OLD_BODY.render(Context({"rows": table.body_rows()}))
    assert html.count("<tr") == 50 and "&lt;script&gt;" in html and "<script>" not in html
    assert str(conditional_escape(html)) == html  # safe: written escaped once, not twice

"""The 通报制度 form: what it renders is what it accepts, so saving it untouched changes nothing.

It once rendered the start date as ``2026/01/01`` (the first of Django's Chinese input formats),
which an ``<input type="date">`` shows as empty: saving untouched set the start date to NULL.
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest

from notices.models import NoticeSchedule

from .conftest import RECIPIENTS

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class FormFields(HTMLParser):
    """The name → value pairs a browser submits for the page's forms when nothing is touched."""

    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.inputs: dict[str, dict] = {}
        self._select: str | None = None
        self._select_value: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.inputs[a["name"]] = a
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            if a.get("type") in ("submit", "button", "file"):
                return
            value = a.get("value") or ""
            if a.get("type") == "date" and not ISO_DATE.fullmatch(value):
                value = ""  # the HTML value sanitization a browser applies: it shows and sends nothing
            self.fields.append((a["name"], value))
        elif tag == "select":
            self._select, self._select_value, self._first_option = a.get("name"), None, None
        elif tag == "option" and self._select:
            value = a.get("value") or ""
            if self._first_option is None:
                self._first_option = value
            if "selected" in a:
                self._select_value = value
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), ""

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            value = self._select_value if self._select_value is not None else self._first_option or ""
            self.fields.append((self._select, value))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, self._text.lstrip("\n")))
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text += data


def _untouched_post(client, url):
    parser = FormFields()
    parser.feed(client.get(url).content.decode())
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    return parser, data


def _snapshot(region):
    schedule = NoticeSchedule.objects.get(region=region)
    return (
        schedule.frequency,
        schedule.start_date,
        sorted((r.group, r.name, r.email) for r in schedule.recipients.all()),
    )


@pytest.mark.parametrize("frequency", ["monthly", "quarterly"])
def test_saving_the_schedule_form_untouched_keeps_every_field(client, county_a, region_a, schedule_for, frequency):
    schedule_for(region_a, frequency=frequency, start_date=dt.date(2026, 1, 1), recipients=RECIPIENTS)
    before = _snapshot(region_a)
    url = f"/notices/regions/{region_a.code}/schedule/"
    client.force_login(county_a)

    parser, data = _untouched_post(client, url)
    response = client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert _snapshot(region_a) == before
    assert before[1] == dt.date(2026, 1, 1)


def test_the_start_date_renders_as_the_iso_date_a_date_input_accepts(client, county_a, region_a, schedule_for):
    schedule_for(region_a, start_date=dt.date(2026, 1, 1))
    client.force_login(county_a)

    parser, _data = _untouched_post(client, f"/notices/regions/{region_a.code}/schedule/")

    assert parser.inputs["start_date"]["type"] == "date"
    assert parser.inputs["start_date"]["value"] == "2026-01-01"


def test_a_slash_date_typed_by_hand_is_still_accepted(client, county_a, region_a, schedule_for):
    schedule_for(region_a, start_date=None)
    url = f"/notices/regions/{region_a.code}/schedule/"
    client.force_login(county_a)
    _parser, data = _untouched_post(client, url)
    data["start_date"] = ["2026/03/01"]

    assert client.post(url, data).status_code == 302
    assert NoticeSchedule.objects.get(region=region_a).start_date == dt.date(2026, 3, 1)

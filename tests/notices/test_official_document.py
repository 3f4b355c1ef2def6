"""The notice as an official document: 文号 per office and year, the drafted body, the confirm
step before an empty body goes out, the 逾期印发 mark, the print page and the PDF."""

from __future__ import annotations

import io

import pytest
import time_machine
from pypdf import PdfReader

from cases.models import Region
from notices import document, services
from notices.models import Notice, NoticeNumberSequence, Status

from .conftest import at


def _issue(region, period, on, by):
    draft = services.draft_notice(by=by, region=region, period=period, now=at(on, 9))
    return services.issue_notice(by=by, notice=draft, now=at(on, 10))


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.fixture
def schedules(region_a, region_b, schedule_for):
    schedule_for(region_a)
    schedule_for(region_b)


# -- the document number -----------------------------------------------------------------------


def test_document_numbers_run_per_office_and_year(schedules, region_a, region_b, county_a, county_b):
    january = _issue(region_a, "2026-01", "2026-02-03", county_a)
    february = _issue(region_a, "2026-02", "2026-03-04", county_a)
    other_county = _issue(region_b, "2026-01", "2026-02-05", county_b)
    # December's notice goes out in the new year: the new year's first number.
    december = _issue(region_a, "2026-12", "2027-01-06", county_a)

    assert january.document_number == "浉服办〔2026〕1号"
    assert february.document_number == "浉服办〔2026〕2号"
    assert other_county.document_number == "平服办〔2026〕1号"
    assert december.document_number == "浉服办〔2027〕1号"
    assert (january.number_year, january.number_serial) == (2026, 1)
    assert january.issuing_office == "浉河区企业服务办公室"


def test_a_correction_gets_a_new_number_and_the_old_one_is_never_reused(schedules, region_a, county_a):
    march = _issue(region_a, "2026-03", "2026-04-02", county_a)
    correction = services.correct_notice(by=county_a, notice=march, now=at("2026-04-08"))
    correction = services.issue_notice(by=county_a, notice=correction, now=at("2026-04-08", 11))
    april = _issue(region_a, "2026-04", "2026-05-06", county_a)

    assert [march.number_serial, correction.number_serial, april.number_serial] == [1, 2, 3]
    march.refresh_from_db()
    assert march.status == Status.SUPERSEDED and march.document_number == "浉服办〔2026〕1号"
    assert NoticeNumberSequence.objects.get(region=region_a, year=2026).last == 3


def test_an_office_sets_its_own_name_and_abbreviation(region_a, county_a, schedule_for):
    schedule = schedule_for(region_a)
    services.save_schedule(
        by=county_a,
        region=region_a,
        frequency=schedule.frequency,
        recipients=[{"group": r.group, "name": r.name, "email": r.email} for r in schedule.recipients.all()],
        office_name="浉河区企业服务活动办公室",
        number_prefix="浉企服",
    )
    notice = _issue(region_a, "2026-03", "2026-04-02", county_a)

    assert notice.document_number == "浉企服〔2026〕1号"
    assert notice.issuing_office == "浉河区企业服务活动办公室"


@pytest.mark.parametrize("prefix", ["浉服办〔2026〕", "浉服办4号"])
def test_an_abbreviation_with_a_year_or_serial_is_refused(region_a, county_a, schedule_for, prefix):
    schedule = schedule_for(region_a)
    rows = [{"group": r.group, "name": r.name, "email": r.email} for r in schedule.recipients.all()]
    with pytest.raises(services.InvalidInput) as refused:
        services.save_schedule(by=county_a, region=region_a, recipients=rows, number_prefix=prefix)
    assert refused.value.field == "number_prefix"


def test_default_abbreviation_comes_from_the_region_name(db):
    assert document.number_prefix(Region.objects.get(code="411521")) == "罗服办"
    assert document.office_name(Region.objects.get(code="411521")) == "罗山县企业服务办公室"


# -- the body ----------------------------------------------------------------------------------


def test_the_body_is_drafted_from_the_figures_and_kept_once_edited(schedules, region_a, county_a, make_case):
    with time_machine.travel(at("2026-03-10"), tick=False):
        make_case()
        make_case()
    draft = services.draft_notice(by=county_a, region=region_a, period="2026-03", now=at("2026-04-01"))
    assert "浉河区共受理企业反映问题2件" in draft.covering_text
    assert "按期办结率" not in draft.covering_text  # nothing closed: no rate to speak of
    assert "尚有2件正在办理" in draft.covering_text

    # Refreshing an untouched draft redrafts the body; once edited, the office's words stay.
    with time_machine.travel(at("2026-03-20"), tick=False):
        make_case()
    refreshed = services.draft_notice(by=county_a, region=region_a, period="2026-03", now=at("2026-04-02"))
    assert "共受理企业反映问题3件" in refreshed.covering_text
    services.update_draft(by=county_a, notice=refreshed, covering_text="本月情况如下。")
    kept = services.draft_notice(by=county_a, region=region_a, period="2026-03", now=at("2026-04-03"))
    assert kept.covering_text == "本月情况如下。"
    assert "共受理企业反映问题3件" in kept.drafted_text


def test_overdue_cases_are_named_by_department_in_the_body(schedules, region_a, county_a, assigned_case):
    period = f"{assigned_case.due_date:%Y-%m}"
    end = Notice(period=period).period_obj.end
    if end <= assigned_case.due_date:  # due on the last day: look at the next month instead
        period = Notice(period=period).period_obj.next().key
        end = Notice(period=period).period_obj.end
    draft = services.draft_notice(by=county_a, region=region_a, period=period, now=at(end, 20))
    assert "超过办理时限仍未办结的问题1件，其中：浉河区工信局1件" in draft.covering_text


# -- issuing with an empty body -----------------------------------------------------------------


def test_issuing_an_empty_body_needs_a_confirmation(schedules, region_a, county_a):
    draft = services.draft_notice(by=county_a, region=region_a, period="2026-03", now=at("2026-04-01"))
    services.update_draft(by=county_a, notice=draft, covering_text="   ")

    with pytest.raises(services.EmptyBody):
        services.issue_notice(by=county_a, notice=draft, now=at("2026-04-02"))
    draft.refresh_from_db()
    assert draft.status == Status.DRAFTED and draft.document_number == ""
    assert not NoticeNumberSequence.objects.filter(region=region_a, last__gt=0).exists()

    issued = services.issue_notice(by=county_a, notice=draft, now=at("2026-04-02"), confirm_empty_body=True)
    assert issued.status == Status.ISSUED and issued.number_serial == 1


def test_the_issue_button_warns_before_an_empty_body_goes_out(client, schedules, region_a, county_a):
    draft = services.draft_notice(by=county_a, region=region_a, period="2026-03", now=at("2026-04-01"))
    services.update_draft(by=county_a, notice=draft, covering_text="")
    client.force_login(county_a)

    with time_machine.travel(at("2026-04-02"), tick=False):
        warning = client.post(f"/notices/{draft.pk}/issue/")
        assert warning.status_code == 200
        page = warning.content.decode()
        assert "该通报没有正文" in page and 'name="confirm_empty_body" value="1"' in page
        assert Notice.objects.get(pk=draft.pk).status == Status.DRAFTED

        confirmed = client.post(f"/notices/{draft.pk}/issue/", {"confirm_empty_body": "1"})
    assert confirmed.status_code == 302
    assert Notice.objects.get(pk=draft.pk).document_number == "浉服办〔2026〕1号"


def test_the_api_refuses_an_empty_body_unless_confirmed(client, schedules, region_a, county_a):
    draft = services.draft_notice(by=county_a, region=region_a, period="2026-03", now=at("2026-04-01"))
    services.update_draft(by=county_a, notice=draft, covering_text="")
    client.force_login(county_a)

    with time_machine.travel(at("2026-04-02"), tick=False):
        refused = client.post(f"/api/v1/notices/{draft.pk}/issue/", {}, content_type="application/json")
        issued = client.post(
            f"/api/v1/notices/{draft.pk}/issue/", {"confirm_empty_body": True}, content_type="application/json"
        )
    assert refused.status_code == 400 and "covering_text" in refused.json()
    assert issued.status_code == 200
    assert issued.json()["document_number"] == "浉服办〔2026〕1号"
    assert issued.json()["issued_late"] is False


# -- the 逾期印发 mark ---------------------------------------------------------------------------


def test_a_notice_issued_after_the_next_period_is_marked_late(client, schedules, region_a, county_a):
    in_time = _issue(region_a, "2026-01", "2026-02-27", county_a)  # before February ended
    late = _issue(region_a, "2026-02", "2026-04-01", county_a)  # after March ended

    assert not in_time.issued_late and late.issued_late
    client.force_login(county_a)
    with time_machine.travel(at("2026-04-02"), tick=False):
        page = client.get("/notices/?region=411502&year=2026").content.decode()
        detail = client.get(f"/notices/{late.pk}/").content.decode()
    rows = {line.split("</td>")[0].split("<td>")[-1]: line for line in page.split("<tr>") if "<td>2026-0" in line}
    assert "notice-badge-issued" in rows["2026-01"]
    assert "notice-badge-late" in rows["2026-02"] and "逾期印发" in rows["2026-02"]
    assert "notice-badge-issued" not in rows["2026-02"]
    assert "逾期印发" in detail


# -- the print page and the PDF -----------------------------------------------------------------


def test_the_print_page_is_laid_out_as_an_official_document(client, schedules, region_a, county_a):
    notice = _issue(region_a, "2026-03", "2026-04-02", county_a)
    client.force_login(county_a)
    page = client.get(f"/notices/{notice.pk}/print/").content.decode()

    assert '<p class="doc-office">浉河区企业服务办公室</p>' in page
    assert "浉服办〔2026〕1号" in page
    assert "工信局李局长，人社局赵局长：" in page  # 主送: the department leaders
    assert "抄送：市服务办，王副县长。" in page  # 抄送: the city office and the local leader
    assert "2026年4月2日" in page and "浉河区企业服务办公室　　2026年4月2日印发" in page
    assert "浉河区共受理企业反映问题" in page  # the body


def test_the_pdf_carries_the_document_number_and_the_region(client, schedules, region_a, county_a):
    notice = _issue(region_a, "2026-03", "2026-04-02", county_a)
    client.force_login(county_a)
    response = client.get(f"/notices/{notice.pk}/notice.pdf")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = _pdf_text(response.content)
    assert "浉服办〔2026〕1号" in text
    assert "浉河区企业服务办公室" in text
    assert "关于浉河区2026年3月企业问题办理情况的通报" in text.replace("\n", "")
    assert "抄送" in text
    reader = PdfReader(io.BytesIO(response.content))
    assert reader.metadata.title == notice.title
    assert round(float(reader.pages[0].mediabox.width)) == 595  # A4


def test_a_drafts_pdf_says_it_is_a_draft(client, schedules, region_a, county_a):
    draft = services.draft_notice(by=county_a, region=region_a, period="2026-03", now=at("2026-04-01"))
    client.force_login(county_a)
    text = _pdf_text(client.get(f"/api/v1/notices/{draft.pk}/pdf/").content)
    assert "草稿" in text and "〔2026〕" not in text


def test_another_countys_pdf_is_404(client, schedules, region_b, county_a, county_b):
    notice = _issue(region_b, "2026-03", "2026-04-02", county_b)
    client.force_login(county_a)
    assert client.get(f"/notices/{notice.pk}/notice.pdf").status_code == 404
    assert client.get(f"/api/v1/notices/{notice.pk}/pdf/").status_code == 404

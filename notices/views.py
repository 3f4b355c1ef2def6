"""Notice pages: the list per region and year, the notice, the schedule form, offline
registration, and the downloads. Scoped like everything else: outside scope is 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cases.errors import CaseError
from cases.input_rules import year_problem
from cases.models import Region, local_date
from cases.roles import region_of

from . import document, periods, services
from . import figures as stored_figures
from .access import can_manage, can_see_notices, get_region_for_user, visible_regions
from .evidence import item14_evidence, item14_evidence_for_regions
from .exports import notice_xlsx
from .forms import CoveringTextForm, DraftForm, OfflineForm, RecipientFormSet, ScheduleForm
from .models import ALL_GROUPS, ISSUED_STATES, Notice, NoticeSchedule, Status
from .pdf import notice_pdf


def _require_scope(user) -> None:
    if not can_see_notices(user):
        raise Http404(_("No such page."))


def _notice_for(user, pk) -> Notice:
    try:
        return Notice.objects.for_user(user).select_related("region", "issued_by", "supersedes").get(pk=int(pk))
    except (Notice.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such notice.")) from None


def _error(request, error: CaseError) -> None:
    messages.error(request, error.message)


def _badge(period: periods.Period, in_force: Notice | None, draft: Notice | None, today) -> str:
    """issued / offline (in time, to every group), late (逾期印发: after the next period ended),
    partial (not every recipient group reached), drafted, due (period over, its notice may still
    go out in time), missing (the next period has ended too, nothing issued), pending (period not
    over yet)."""
    if in_force is not None:
        if in_force.issued_late:
            return "late"
        if not in_force.reached_all_groups:
            return "partial"
        return in_force.status
    if draft is not None:
        return Status.DRAFTED
    if period.end >= today:
        return "pending"
    # Ended: still to be issued while the next period runs, missing once that has ended too.
    return "due" if period.next().end >= today else "missing"


def _period_rows(region, year: int, notices: list[Notice], schedule: NoticeSchedule | None, today):
    """One row per period of the year: its notices and a badge (see ``_badge``)."""
    frequency = schedule.frequency if schedule else periods.MONTHLY
    rows = []
    for period in periods.in_year(year, frequency):
        found = [n for n in notices if n.period == period.key]
        in_force = next((n for n in found if n.status in ISSUED_STATES), None)
        draft = next((n for n in found if n.status == Status.DRAFTED), None)
        rows.append(
            {
                "period": period,
                "notices": found,
                "badge": _badge(period, in_force, draft, today),
                "in_force": in_force,
                "draft": draft,
            }
        )
    return rows


def _year_from(request, today) -> int:
    try:
        year = int(request.GET.get("year") or today.year)
        if year_problem(year, today=today):
            raise ValueError
    except ValueError:
        raise Http404(_("No such year.")) from None
    return year


def _evidence_moment(year: int, today):
    """Item 14 on the notices pages is counted as of today (the year's end once it is over)."""
    return min(today, periods.Period(year, 12, periods.MONTHLY).end)


def _as_of_today(year: int, today) -> bool:
    return _evidence_moment(year, today) == today


def _grid(regions: list[Region], year: int, today) -> list[dict]:
    """The counties × periods of the year: one row per county, a cell per period of its own
    frequency (a quarter spans three months). Three queries whatever the number of counties."""
    ids = [r.pk for r in regions]
    schedules = {s.region_id: s for s in NoticeSchedule.objects.filter(region_id__in=ids)}
    notices: dict[int, list[Notice]] = {pk: [] for pk in ids}
    for notice in Notice.objects.filter(region_id__in=ids, period__startswith=f"{year}-").order_by("period", "id"):
        notices[notice.region_id].append(notice)
    evidence = item14_evidence_for_regions(
        ids, year, _evidence_moment(year, today), as_of_today=_as_of_today(year, today)
    )
    rows = []
    for region in regions:
        schedule = schedules.get(region.pk)
        cells = []
        for row in _period_rows(region, year, notices[region.pk], schedule, today):
            shown = row["in_force"] or row["draft"]
            cells.append({**row, "span": 3 if row["period"].frequency == periods.QUARTERLY else 1, "shown": shown})
        rows.append({"region": region, "schedule": schedule, "cells": cells, "evidence": evidence[region.pk]})
    return rows


@login_required
@require_GET
def notice_overview(request):
    """The city's view across its counties: every county's notice status, period by period."""
    _require_scope(request.user)
    regions = [r for r in visible_regions(request.user) if not r.is_city]
    if len(regions) < 2:
        raise Http404(_("No such page."))
    today = local_date(timezone.now())
    year = _year_from(request, today)
    city = next((r for r in visible_regions(request.user) if r.is_city), None)
    return render(
        request,
        "notices/notice_overview.html",
        {
            "year": year,
            "years": range(today.year - 3, today.year + 1),
            "rows": _grid(regions, year, today),
            "months": range(1, 13),
            "city": city,
            "as_of": _evidence_moment(year, today),
        },
    )


@login_required
@require_GET
def notice_list(request):
    _require_scope(request.user)
    regions = list(visible_regions(request.user))
    code = request.GET.get("region")
    counties = [r for r in regions if not r.is_city]
    if not code and len(counties) > 1:
        # The city office and the assessors look across the counties first.
        query = f"?year={request.GET['year']}" if request.GET.get("year") else ""
        return redirect(reverse("notices:overview") + query)
    code = code or getattr(region_of(request.user), "code", None) or regions[0].code
    region = get_region_for_user(request.user, code)
    today = local_date(timezone.now())
    year = _year_from(request, today)
    notices = list(Notice.objects.filter(region=region, period__startswith=f"{year}-").order_by("period", "id"))
    schedule = NoticeSchedule.objects.filter(region=region).prefetch_related("recipients").first()
    as_of = _evidence_moment(year, today)
    return render(
        request,
        "notices/notice_list.html",
        {
            "region": region,
            "regions": regions,
            "year": year,
            "years": range(today.year - 3, today.year + 1),
            "rows": _period_rows(region, year, notices, schedule, today),
            "schedule": schedule,
            "manage": can_manage(request.user, region),
            "draft_form": DraftForm(),
            "evidence": item14_evidence(region, year, as_of, as_of_today=_as_of_today(year, today)),
            "as_of": as_of,
            "overview": len(counties) > 1,
        },
    )


@login_required
@require_POST
def notice_draft(request, code):
    region = get_region_for_user(request.user, code)
    form = DraftForm(request.POST)
    if form.is_valid():
        try:
            notice = services.draft_notice(by=request.user, region=region, period=form.cleaned_data["period"])
        except CaseError as error:
            _error(request, error)
        else:
            messages.success(
                request, _("The notice for %(period)s was drafted from the ledger.") % {"period": notice.period}
            )
            return redirect("notices:detail", notice.pk)
    else:
        messages.error(request, _("Give the period as 2026-03 or 2026-Q1."))
    return redirect(f"{_list_url()}?region={region.code}")


def _list_url():
    return reverse("notices:list")


@login_required
def notice_detail(request, pk):
    notice = _notice_for(request.user, pk)
    manage = can_manage(request.user, notice.region)
    form = CoveringTextForm(initial={"title": notice.title, "covering_text": notice.covering_text})
    if request.method == "POST":
        if not manage:
            raise Http404(_("No such notice."))
        form = CoveringTextForm(request.POST)
        if form.is_valid():
            try:
                services.update_draft(by=request.user, notice=notice, **form.cleaned_data)
            except CaseError as error:
                _error(request, error)
            else:
                messages.success(request, _("The draft was saved."))
                return redirect("notices:detail", notice.pk)
    return render(
        request,
        "notices/notice_detail.html",
        {
            "notice": notice,
            "figures_behind": _figures_behind(notice),
            "view": services.presentation(notice),
            "manage": manage,
            "form": form,
            "head": document.letterhead(notice),
            "deliveries": notice.deliveries.order_by("group", "id"),
            "corrections": notice.corrections.order_by("id"),
            "all_groups": ALL_GROUPS,
        },
    )


def _figures_behind(notice: Notice) -> str | None:
    """When a draft's figures are behind the ledger: the time they were computed (HH:MM, with the
    date if not today), and a refresh is queued; None when they are current (one query)."""
    if notice.status != Status.DRAFTED or stored_figures.is_current(notice):
        return None
    stored_figures.queue_refresh(notice.region, notice.period_obj)
    at = notice.figures_computed_at or notice.drafted_at
    if at is None:
        return "—"
    local = timezone.localtime(at)
    return local.strftime("%H:%M") if local.date() == local_date(timezone.now()) else local.strftime("%Y-%m-%d %H:%M")


@login_required
@require_POST
def notice_issue(request, pk):
    notice = _notice_for(request.user, pk)
    confirmed = request.POST.get("confirm_empty_body") == "1"
    try:
        notice = services.issue_notice(by=request.user, notice=notice, confirm_empty_body=confirmed)
    except services.EmptyBody as warning:
        # The confirm step: say what is missing and ask again, with the choice to go back and write it.
        return render(request, "notices/issue_confirm.html", {"notice": notice, "warning": warning.message})
    except CaseError as error:
        _error(request, error)
    else:
        messages.success(
            request,
            _("The notice was issued as %(number)s and sent to its recipients.") % {"number": notice.document_number},
        )
    return redirect("notices:detail", notice.pk)


@login_required
@require_POST
def notice_redraft(request, pk):
    notice = _notice_for(request.user, pk)
    try:
        notice = services.draft_notice(by=request.user, region=notice.region, period=notice.period)
    except CaseError as error:
        _error(request, error)
    else:
        messages.success(request, _("The figures were refreshed from the ledger."))
    return redirect("notices:detail", notice.pk)


@login_required
@require_POST
def notice_correct(request, pk):
    notice = _notice_for(request.user, pk)
    try:
        draft = services.correct_notice(by=request.user, notice=notice)
    except CaseError as error:
        _error(request, error)
        return redirect("notices:detail", notice.pk)
    messages.success(request, _("A correction was drafted; issuing it supersedes the notice in force."))
    return redirect("notices:detail", draft.pk)


@login_required
@require_GET
def notice_print(request, pk):
    notice = _notice_for(request.user, pk)
    return render(
        request,
        "notices/notice_print.html",
        {
            "notice": notice,
            "view": services.presentation(notice),
            "head": document.letterhead(notice),
        },
    )


def pdf_response(notice: Notice) -> HttpResponse:
    response = HttpResponse(notice_pdf(notice), content_type="application/pdf")
    filename = f"notice-{notice.region.code}-{notice.period}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def notice_download_pdf(request, pk):
    return pdf_response(_notice_for(request.user, pk))


@login_required
@require_GET
def notice_download_xlsx(request, pk):
    notice = _notice_for(request.user, pk)
    response = HttpResponse(
        notice_xlsx(notice), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    filename = f"notice-{notice.region.code}-{notice.period}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def notice_document(request, pk):
    notice = _notice_for(request.user, pk)
    if not notice.document:
        raise Http404(_("No such file."))
    try:
        handle = notice.document.open("rb")
    except FileNotFoundError:
        raise Http404(_("No such file.")) from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=notice.document_name,
        content_type=notice.document_type or "application/octet-stream",
    )


@login_required
def schedule_edit(request, code):
    region = get_region_for_user(request.user, code)
    schedule = NoticeSchedule.objects.filter(region=region).prefetch_related("recipients").first()
    manage = can_manage(request.user, region)
    if request.method == "POST":
        if not manage:
            raise Http404(_("No such page."))
        form = ScheduleForm(request.POST, region=region)
        formset = RecipientFormSet(request.POST, prefix="r")
        if form.is_valid() and formset.is_valid():
            rows = [row for row in (f.as_row() for f in formset) if row]
            try:
                services.save_schedule(by=request.user, region=region, recipients=rows, **form.cleaned_data)
            except CaseError as error:
                if error.field in form.fields:
                    form.add_error(error.field, error.message)
                else:
                    for message in error.errors.get("recipients") or [error.message]:
                        form.add_error(None, message)
            else:
                messages.success(request, _("The notice schedule was saved."))
                return redirect(f"{_list_url()}?region={region.code}")
    else:
        initial = (
            {
                "frequency": schedule.frequency,
                "start_date": schedule.start_date,
                "office_name": schedule.office_name,
                "number_prefix": schedule.number_prefix,
            }
            if schedule
            else {}
        )
        form = ScheduleForm(initial=initial, region=region)
        rows = (
            [{"group": r.group, "name": r.name, "email": r.email} for r in schedule.recipients.all()]
            if schedule
            else [{"group": g} for g in ALL_GROUPS]
        )
        formset = RecipientFormSet(initial=rows, prefix="r")
    return render(
        request,
        "notices/schedule_form.html",
        {
            "region": region,
            "schedule": schedule,
            "form": form,
            "formset": formset,
            "manage": manage,
        },
    )


@login_required
def offline_register(request):
    regions = [r for r in visible_regions(request.user) if can_manage(request.user, r)]
    if not regions:  # only an office has a region it manages
        raise Http404(_("No such page."))
    form = OfflineForm(
        request.POST or None,
        request.FILES or None,
        regions=regions,
        initial={"region": request.GET.get("region"), "period": request.GET.get("period")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            region = get_region_for_user(request.user, data["region"])
            notice = services.register_offline(
                by=request.user,
                region=region,
                period=data["period"],
                issued_on=data["issued_on"],
                groups=data["groups"],
                document=data["document"],
                title=data["title"],
            )
        except CaseError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("The offline notice was registered."))
            return redirect("notices:detail", notice.pk)
    return render(request, "notices/offline_form.html", {"form": form})

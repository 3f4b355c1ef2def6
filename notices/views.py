"""Notice pages: the list per region and year, the notice, the schedule form, offline
registration, and the downloads. Scoped like everything else: outside scope is 404."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cases.errors import CaseError
from cases.input_rules import year_problem
from cases.models import local_date
from cases.roles import region_of

from . import periods, services
from .access import can_manage, can_see_notices, get_region_for_user, visible_regions
from .exports import notice_xlsx
from .forms import CoveringTextForm, DraftForm, OfflineForm, RecipientFormSet, ScheduleForm
from .models import ALL_GROUPS, ISSUED_STATES, Notice, NoticeSchedule, Status


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


def _period_rows(region, year: int, notices: list[Notice], schedule: NoticeSchedule | None, today):
    """One row per period of the year: its notices and a badge (drafted/issued/offline/missing)."""
    frequency = schedule.frequency if schedule else periods.MONTHLY
    rows = []
    for period in periods.in_year(year, frequency):
        found = [n for n in notices if n.period == period.key]
        in_force = next((n for n in found if n.status in ISSUED_STATES), None)
        draft = next((n for n in found if n.status == Status.DRAFTED), None)
        if in_force is not None:
            badge = in_force.status
        elif draft is not None:
            badge = Status.DRAFTED
        elif period.end < today:
            badge = "missing"
        else:
            badge = "pending"
        rows.append({"period": period, "notices": found, "badge": badge, "in_force": in_force, "draft": draft})
    return rows


@login_required
@require_GET
def notice_list(request):
    _require_scope(request.user)
    regions = list(visible_regions(request.user))
    code = request.GET.get("region") or getattr(region_of(request.user), "code", None) or regions[0].code
    region = get_region_for_user(request.user, code)
    today = local_date(timezone.now())
    try:
        year = int(request.GET.get("year") or today.year)
        if year_problem(year, today=today):
            raise ValueError
    except ValueError:
        raise Http404(_("No such year.")) from None
    notices = list(
        Notice.objects.filter(region=region, period__startswith=f"{year}-").order_by("period", "id")
    )
    schedule = NoticeSchedule.objects.filter(region=region).prefetch_related("recipients").first()
    from .evidence import item14_evidence

    return render(request, "notices/notice_list.html", {
        "region": region, "regions": regions, "year": year, "years": range(today.year - 3, today.year + 1),
        "rows": _period_rows(region, year, notices, schedule, today), "schedule": schedule,
        "manage": can_manage(request.user, region), "draft_form": DraftForm(),
        "evidence": item14_evidence(region, year, min(today, periods.Period(year, 12, periods.MONTHLY).end)),
    })


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
            messages.success(request, _("The notice for %(period)s was drafted from the ledger.") % {"period": notice.period})
            return redirect("notices:detail", notice.pk)
    else:
        messages.error(request, _("Give the period as 2026-03 or 2026-Q1."))
    return redirect(f"{_list_url()}?region={region.code}")


def _list_url():
    from django.urls import reverse

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
    return render(request, "notices/notice_detail.html", {
        "notice": notice, "view": services.presentation(notice), "manage": manage, "form": form,
        "deliveries": notice.deliveries.order_by("group", "id"),
        "corrections": notice.corrections.order_by("id"), "all_groups": ALL_GROUPS,
    })


@login_required
@require_POST
def notice_issue(request, pk):
    notice = _notice_for(request.user, pk)
    try:
        notice = services.issue_notice(by=request.user, notice=notice)
    except CaseError as error:
        _error(request, error)
    else:
        messages.success(request, _("The notice was issued and sent to its recipients."))
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
    return render(request, "notices/notice_print.html", {"notice": notice, "view": services.presentation(notice)})


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
    return FileResponse(handle, as_attachment=True, filename=notice.document_name,
                        content_type=notice.document_type or "application/octet-stream")


@login_required
def schedule_edit(request, code):
    region = get_region_for_user(request.user, code)
    schedule = NoticeSchedule.objects.filter(region=region).prefetch_related("recipients").first()
    manage = can_manage(request.user, region)
    if request.method == "POST":
        if not manage:
            raise Http404(_("No such page."))
        form = ScheduleForm(request.POST)
        formset = RecipientFormSet(request.POST, prefix="r")
        if form.is_valid() and formset.is_valid():
            rows = [row for row in (f.as_row() for f in formset) if row]
            try:
                services.save_schedule(by=request.user, region=region, recipients=rows, **form.cleaned_data)
            except CaseError as error:
                for message in (error.errors.get("recipients") or [error.message]):
                    form.add_error(None, message)
            else:
                messages.success(request, _("The notice schedule was saved."))
                return redirect(f"{_list_url()}?region={region.code}")
    else:
        initial = {"frequency": schedule.frequency, "start_date": schedule.start_date} if schedule else {}
        form = ScheduleForm(initial=initial)
        rows = [{"group": r.group, "name": r.name, "email": r.email} for r in schedule.recipients.all()] if schedule else [
            {"group": g} for g in ALL_GROUPS
        ]
        formset = RecipientFormSet(initial=rows, prefix="r")
    return render(request, "notices/schedule_form.html", {
        "region": region, "schedule": schedule, "form": form, "formset": formset, "manage": manage,
    })


@login_required
def offline_register(request):
    regions = [r for r in visible_regions(request.user) if can_manage(request.user, r)]
    if not regions:  # only an office has a region it manages
        raise Http404(_("No such page."))
    form = OfflineForm(request.POST or None, request.FILES or None, regions=regions,
                       initial={"region": request.GET.get("region"), "period": request.GET.get("period")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            region = get_region_for_user(request.user, data["region"])
            notice = services.register_offline(
                by=request.user, region=region, period=data["period"], issued_on=data["issued_on"],
                groups=data["groups"], document=data["document"], title=data["title"],
            )
        except CaseError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("The offline notice was registered."))
            return redirect("notices:detail", notice.pk)
    return render(request, "notices/offline_form.html", {"form": form})



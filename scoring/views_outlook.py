"""The outlook page (SPEC §6): item 15's pending cases before the cutoff, and reminding departments."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cases.errors import CaseError, InvalidInput, NotAllowed, NotFound
from cases.models import local_date
from cases.roles import acts_for_region

from . import outlook, reminders, snapshots
from .drilldown import lack_label
from .views import _cutoff, _region_for, _year


@require_GET
@login_required
def outlook_page(request, year, code):
    year = _year(year)
    region = _region_for(request, code)
    today = local_date(timezone.now())
    cutoff = _cutoff(request, year)
    try:
        if cutoff is None or cutoff == snapshots.question(year, today).planned:
            # The default question: items 15 and 13 from the stored scores, as the scoreboard.
            result = outlook.stored_outlook(region, year, today=today)
        else:
            result = outlook.outlook_for(region, year, today=today, cutoff=cutoff)
    except InvalidInput:
        raise Http404 from None
    return render(
        request,
        "scoring/outlook.html",
        {
            "o": result,
            "computed_at": timezone.localtime(result.computed_at) if result.computed_at else None,
            "sentence": outlook.sentence(result),
            "year": year,
            "region": region,
            "can_remind": acts_for_region(request.user, region) and not result.final,
            "steps": [(points, need) for points, need in result.steps.items()],
            "now_text": outlook.fraction_text(result.now),
            "best_text": outlook.fraction_text(result.best),
            "worst_text": outlook.fraction_text(result.worst),
            "incomplete": [(number, [lack_label(code) for code in missing]) for number, missing in result.incomplete],
        },
    )


@require_POST
@login_required
def remind(request, year, code):
    year = _year(year)
    region = _region_for(request, code)
    try:
        done = reminders.remind_department(request.POST.get("case", ""), by=request.user, region=region)
    except NotFound:
        raise Http404 from None
    except NotAllowed as error:
        return render(request, "cases/refused.html", {"message": error.message}, status=403)
    except CaseError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Reminded %(department)s of case %(number)s: %(users)d inbox messages, %(emails)d emails.")
            % {
                "department": done.department.name,
                "number": done.case.number,
                "users": done.users,
                "emails": done.emails,
            },
        )
    return redirect("scoring:outlook", year=year, code=region.code)

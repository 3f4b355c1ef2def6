"""The upload page of the ledger import (SPEC §7): upload, dry run or import, progress, summary,
and the XLSX template. The work runs as a Celery task (in-process on the embedded default)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .import_jobs import (
    Status,
    broker_unavailable_message,
    create_job,
    get_job_for_user,
    refuse_unqueued,
    reopen_for_retry,
    view_of,
)
from .importing.columns import SPEC_COLUMNS
from .importing.reader import upload_size_problem
from .importing.report import error_report_bytes
from .importing.template import template_bytes
from .roles import is_office
from .tasks import BrokerUnavailable, enqueue

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Ledger file (.xlsx or .csv)"))
    dry_run = forms.BooleanField(
        label=gettext_lazy("Check only (dry run): report errors, write nothing"), required=False, initial=True
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        problem = upload_size_problem(upload.size)
        if problem:
            raise forms.ValidationError(problem)
        return upload


def _refuse(request):
    return render(
        request,
        "cases/refused.html",
        {"message": _("Only a county office or the city office may import a ledger.")},
        status=403,
    )


def _is_importer(user) -> bool:
    return is_office(user)


def _unavailable(request, *, removed: bool):
    """503: the broker (Redis) is down, so the job could not be queued."""
    message = broker_unavailable_message()
    accept = request.headers.get("Accept", "")
    if "application/json" in accept and "text/html" not in accept:
        response = JsonResponse({"detail": message}, status=503)
    else:
        response = render(request, "cases/unavailable.html", {"message": message, "removed": removed}, status=503)
    response["Retry-After"] = "60"
    return response


def _start(request, job, *, remove_file: bool, retryable: bool = False):
    """Queue the job (it runs inline on the embedded default) and show its page; 503 when the
    broker is down — then a new upload's file is removed at once (``remove_file``)."""
    try:
        enqueue(job)
    except BrokerUnavailable:
        refuse_unqueued(job, timezone.now(), remove_file=remove_file, retryable=retryable)
        return _unavailable(request, removed=remove_file)
    return redirect("cases:import_job", job_id=job.pk)


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request):
    if not _is_importer(request.user):
        return _refuse(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = create_job(
            form.cleaned_data["file"], user=request.user, dry_run=form.cleaned_data["dry_run"], now=timezone.now()
        )
        return _start(request, job, remove_file=True)
    columns = [(c.header, c.key, c.required) for c in SPEC_COLUMNS]
    return render(
        request,
        "cases/import.html",
        {"form": form, "columns": columns},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def import_job(request, job_id):
    view = view_of(get_job_for_user(request.user, job_id), timezone.now())
    return render(
        request,
        "cases/import_job.html",
        {
            "job": view.job,
            "view": view,
            "summary": view.job.summary or {},
            "can_confirm": view.can_confirm,
        },
    )


@login_required
@require_GET
def import_job_status(request, job_id):
    return JsonResponse(view_of(get_job_for_user(request.user, job_id), timezone.now()).as_status())


@login_required
@require_POST
def import_job_confirm(request, job_id):
    """Import for real the file a clean dry run has checked."""
    if not _is_importer(request.user):
        return _refuse(request)
    now = timezone.now()
    checked = view_of(get_job_for_user(request.user, job_id), now)
    if not checked.can_confirm:
        return redirect("cases:import_job", job_id=job_id)
    # The dry run's file stays for it (it may be confirmed again if the broker refuses this run).
    return _start(
        request, create_job(user=request.user, dry_run=False, now=now, from_job=checked.job), remove_file=False
    )


@login_required
@require_POST
def import_job_retry(request, job_id):
    """Run an interrupted job again (its worker stopped) on the same stored file."""
    if not _is_importer(request.user):
        return _refuse(request)
    job = reopen_for_retry(get_job_for_user(request.user, job_id), timezone.now())
    if job is None:  # finished meanwhile, retried from another tab, or its file has expired
        return redirect("cases:import_job", job_id=job_id)
    return _start(request, job, remove_file=False, retryable=True)


@login_required
@require_GET
def import_job_errors(request, job_id):
    """The errors of a finished job as an XLSX the office can sort and work through."""
    job = get_job_for_user(request.user, job_id)
    summary = job.summary or {}
    if job.status != Status.DONE or not summary.get("errors"):
        raise Http404(_("This import has no errors to download."))
    response = HttpResponse(error_report_bytes(summary, file_name=job.file_name), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(
        True, _("import-errors-%(id)s.xlsx") % {"id": job.pk[:8]}
    )
    return response


@login_required
@require_GET
def import_template(request):
    response = HttpResponse(template_bytes(), content_type=XLSX)
    response["Content-Disposition"] = (
        'attachment; filename="ledger-import-template.xlsx"; '
        "filename*=UTF-8''%E4%BC%81%E4%B8%9A%E9%97%AE%E9%A2%98%E5%8F%B0%E5%B8%90%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx"
    )
    return response


def import_urls():
    from django.urls import path

    return [
        path("import/", import_page, name="import"),
        path("import/template.xlsx", import_template, name="import_template"),
        path("import/<str:job_id>/", import_job, name="import_job"),
        path("import/<str:job_id>/status/", import_job_status, name="import_job_status"),
        path("import/<str:job_id>/confirm/", import_job_confirm, name="import_job_confirm"),
        path("import/<str:job_id>/errors.xlsx", import_job_errors, name="import_job_errors"),
        path("import/<str:job_id>/retry/", import_job_retry, name="import_job_retry"),
    ]

"""Stored files no row names are removed after a grace period; a file a row names never is."""

from __future__ import annotations

import datetime as dt
import io
import os
import time

import pytest
from django.core.management import call_command
from django.utils import timezone

from cases import orphan_files, services
from cases.housekeeping import run_daily
from cases.models import Evidence, IdempotencyKey
from cases.tasks import housekeeping
from tests.conftest import pdf_file

pytestmark = pytest.mark.django_db

DAY = 24 * 3600


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ORPHAN_FILE_GRACE_HOURS = 24
    return settings.MEDIA_ROOT


def write(media, name: str, *, age_seconds: float, content: bytes = b"%PDF-1.4 orphan\n"):
    path = media / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path


def age(path, seconds: float):
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.fixture
def named_files(media, assigned_case, dept_x_user, assessor, region_a, city_user):
    """Files rows name — evidence, a scoring attachment, a notice scan — all made long ago."""
    from notices.services import register_offline
    from scoring.services import add_attachments

    services.resolve(assigned_case, by=dept_x_user, result="已解决", evidence=[pdf_file(), pdf_file("第二份.pdf")])
    attachments = add_attachments(2025, region_a, 1, by=assessor, files=[pdf_file("检查资料.pdf")])
    notice = register_offline(
        by=city_user,
        region=region_a,
        period="2025-08",
        issued_on=dt.date(2025, 9, 5),
        groups=["city_office", "local_leader", "department_leader"],
        document=pdf_file("通报扫描件.pdf"),
    )
    names = [e.file.name for e in Evidence.objects.all()] + [a.file.name for a in attachments] + [notice.document.name]
    assert len(names) == 4 and {n.split("/")[0] for n in names} == {"evidence", "scoring", "notices"}
    for name in names:
        age(media / name, 30 * DAY)
    return names


def test_old_orphans_are_removed_and_every_named_file_kept(media, named_files, caplog):
    month = named_files[0].rsplit("/", 1)[0]
    orphans = [
        write(media, f"{month}/killed-mid-write.pdf", age_seconds=2 * DAY),  # beside named evidence
        write(media, "evidence/2024/01/lost.png", age_seconds=400 * DAY),
        write(media, "scoring/2025/01/lost.pdf", age_seconds=3 * DAY),
        write(media, "notices/2025/02/lost.pdf", age_seconds=3 * DAY),
        write(media, "imports/0123abcd.csv", age_seconds=2 * DAY),
    ]
    recent = [
        write(media, f"{month}/being-committed.pdf", age_seconds=60),  # its row may still be coming
        write(media, "imports/fedc3210.xlsx", age_seconds=3600),  # an import job waiting to run
    ]
    outside = write(media, "checkpoints/2025-09-01.json", age_seconds=90 * DAY)  # not an upload folder

    with caplog.at_level("INFO", logger="cases.orphan_files"):
        sweep = orphan_files.remove_orphans(now=timezone.now())

    assert "orphan file evidence/2024/01/lost.png removed" in caplog.text
    assert "5 removed" in caplog.text
    assert sorted(sweep.removed) == sorted(p.relative_to(media).as_posix() for p in orphans)
    assert sweep.removed_bytes == sum(len(b"%PDF-1.4 orphan\n") for _ in orphans)
    assert not any(p.exists() for p in orphans)
    assert all((media / name).exists() for name in named_files)
    assert all(p.exists() for p in recent) and outside.exists()
    # Still downloadable: the rows' files are intact.
    assert all(e.file.open("rb").read().startswith(b"%PDF") for e in Evidence.objects.all())


def test_dry_run_lists_and_removes_nothing(media, named_files):
    orphan = write(media, "evidence/2024/01/lost.pdf", age_seconds=3 * DAY)
    out = io.StringIO()
    call_command("clean_orphan_files", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "would remove evidence/2024/01/lost.pdf" in text and "1 orphan files would remove" in text
    assert orphan.exists() and all((media / name).exists() for name in named_files)
    out = io.StringIO()
    call_command("clean_orphan_files", stdout=out)
    assert "removed evidence/2024/01/lost.pdf" in out.getvalue() and not orphan.exists()
    assert all((media / name).exists() for name in named_files)


def test_the_grace_period_is_a_setting(media, settings):
    orphan = write(media, "evidence/2025/09/lost.pdf", age_seconds=5 * 3600)
    assert orphan_files.remove_orphans(now=timezone.now()).removed == [] and orphan.exists()
    settings.ORPHAN_FILE_GRACE_HOURS = 4
    assert orphan_files.remove_orphans(now=timezone.now()).removed == ["evidence/2025/09/lost.pdf"]
    assert not orphan.exists()


def test_import_uploads_live_as_long_as_their_job_even_with_a_short_grace(media, settings):
    settings.ORPHAN_FILE_GRACE_HOURS = 1
    waiting = write(media, "imports/job.csv", age_seconds=3 * 3600)
    assert orphan_files.remove_orphans(now=timezone.now()).removed == [] and waiting.exists()


def test_symlinks_are_never_followed_or_removed(media, tmp_path):
    precious = tmp_path / "elsewhere" / "precious.pdf"
    precious.parent.mkdir()
    precious.write_bytes(b"keep")
    (media / "evidence" / "2025" / "09").mkdir(parents=True)
    link = media / "evidence" / "2025" / "09" / "link.pdf"
    link.symlink_to(precious)
    (media / "scoring").symlink_to(precious.parent, target_is_directory=True)
    os.utime(precious, (time.time() - 9 * DAY,) * 2)
    assert orphan_files.remove_orphans(now=timezone.now()).removed == []
    assert precious.exists() and link.is_symlink()


def test_no_upload_folder_yet_is_fine(media):
    sweep = orphan_files.remove_orphans(now=timezone.now())
    assert sweep.removed == [] and sweep.examined == 0


def test_daily_housekeeping_expires_keys_and_removes_orphans(media, api_case_key, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 24
    orphan = write(media, "evidence/2024/01/lost.pdf", age_seconds=3 * DAY)
    IdempotencyKey.objects.update(created_at=timezone.now() - dt.timedelta(hours=30))
    assert housekeeping() == {"expired_keys": 1, "orphan_files_removed": 1, "orphan_bytes_removed": orphan_size()}
    assert not orphan.exists() and not IdempotencyKey.objects.exists()
    assert run_daily(now=timezone.now()) == {"expired_keys": 0, "orphan_files_removed": 0, "orphan_bytes_removed": 0}


def orphan_size() -> int:
    return len(b"%PDF-1.4 orphan\n")


@pytest.fixture
def api_case_key(county_a, make_case):
    case = make_case()
    return IdempotencyKey.objects.create(
        user=county_a, key="k", request_hash="0" * 64, case=case, created_at=timezone.now()
    )


def test_beat_runs_housekeeping_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["cases-housekeeping"]
    assert entry["task"] == "cases.housekeeping" == housekeeping.name
    assert entry["schedule"].remaining_estimate(timezone.now()) <= dt.timedelta(days=1)


def test_the_embedded_default_timer_process_runs_housekeeping(media):
    import signal

    orphan = write(media, "notices/2024/01/lost.pdf", age_seconds=3 * DAY)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    out = io.StringIO()
    try:
        call_command("run_timers", "--once", stdout=out)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert "housekeeping: {'expired_keys': 0, 'orphan_files_removed': 1" in out.getvalue()
    assert not orphan.exists()

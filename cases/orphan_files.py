"""Stored files that no row names: removed after a grace period.

A file is written before the row that names it is committed (evidence is stored before the case
row is locked, so no file write happens while the lock is held) and is removed again when the
transaction fails — but a worker killed between the two leaves a file behind that nothing names.
Daily housekeeping walks the upload folders and removes such files once they are older than
``ORPHAN_FILE_GRACE_HOURS``, so a file whose row is still being committed is never touched.

"Named by a row" is read from every model's FileField (evidence, scoring attachments, notice
scans …), found through the app registry rather than by importing the apps that own them. The
import uploads (``imports/``) are named by no row but by the import job, whose file lives
``FILE_TTL``; they are orphans once older than that.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import models

from .import_jobs import FILE_TTL

logger = logging.getLogger(__name__)

GRACE_HOURS_DEFAULT = 24
# The folders under MEDIA_ROOT the app's uploads go to (the upload_to of each FileField, and the
# import uploads). Nothing else under MEDIA_ROOT is ever looked at.
FOLDERS_DEFAULT = ("evidence", "scoring", "notices", "imports")
UNNAMED_FOLDERS = {"imports": FILE_TTL}  # folder → seconds its files live without a row


@dataclass
class OrphanSweep:
    examined: int = 0
    removed: list[str] = field(default_factory=list)
    removed_bytes: int = 0
    dry_run: bool = False


def grace() -> dt.timedelta:
    return dt.timedelta(hours=float(getattr(settings, "ORPHAN_FILE_GRACE_HOURS", GRACE_HOURS_DEFAULT)))


def _file_fields() -> list[tuple[type[models.Model], str]]:
    return [
        (model, f.name)
        for model in apps.get_models()
        for f in model._meta.concrete_fields
        if isinstance(f, models.FileField)
    ]


def names_in(directory: str) -> set[str]:
    """Every stored name some row holds for a file directly in ``directory`` (relative, posix)."""
    prefix = f"{directory}/"
    names: set[str] = set()
    for model, name in _file_fields():
        # The base manager: a custom default manager may hide rows (and so their files).
        rows = model._base_manager.filter(**{f"{name}__startswith": prefix}).values_list(name, flat=True)
        names.update(n for n in rows.iterator(chunk_size=2000) if "/" not in n[len(prefix) :])
    return names


def _candidates(directory: Path, cutoff: float) -> list[tuple[Path, os.stat_result]]:
    """Regular files directly in ``directory`` last modified before ``cutoff`` (no symlinks)."""
    old = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
                continue
            stat = entry.stat(follow_symlinks=False)
            if stat.st_mtime < cutoff:
                old.append((Path(entry.path), stat))
    return old


def remove_orphans(*, now: dt.datetime, dry_run: bool = False) -> OrphanSweep:
    """Remove (or, dry, only list) files in the upload folders that no row names and that are
    older than the grace period."""
    sweep = OrphanSweep(dry_run=dry_run)
    media = Path(settings.MEDIA_ROOT)
    for top in getattr(settings, "ORPHAN_FILE_FOLDERS", FOLDERS_DEFAULT):
        folder = media / top
        if not folder.is_dir() or folder.is_symlink():
            continue
        lifetime = max(grace().total_seconds(), UNNAMED_FOLDERS.get(top, 0))
        cutoff = now.timestamp() - lifetime
        for dirpath, _dirnames, _filenames in os.walk(folder, followlinks=False):
            directory = Path(dirpath)
            old = _candidates(directory, cutoff)
            sweep.examined += len(old)
            if not old:
                continue
            relative = directory.relative_to(media).as_posix()
            named = set() if top in UNNAMED_FOLDERS else names_in(relative)
            for path, stat in old:
                stored_name = f"{relative}/{path.name}"
                if stored_name in named:
                    continue
                _remove(path, stored_name, stat, sweep)
    logger.info(
        "orphan files: %d old files examined, %d %s (%d bytes)",
        sweep.examined,
        len(sweep.removed),
        "would be removed" if dry_run else "removed",
        sweep.removed_bytes,
    )
    return sweep


def _remove(path: Path, stored_name: str, stat: os.stat_result, sweep: OrphanSweep) -> None:
    modified = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC).isoformat()
    if not sweep.dry_run:
        try:
            path.unlink()
        except FileNotFoundError:
            return  # removed meanwhile (an import job finishing, another sweep)
        except OSError as error:
            logger.warning("orphan file %s could not be removed: %s", stored_name, error)
            return
    sweep.removed.append(stored_name)
    sweep.removed_bytes += stat.st_size
    logger.info(
        "orphan file %s %s (%d bytes, modified %s)",
        stored_name,
        "would be removed" if sweep.dry_run else "removed",
        stat.st_size,
        modified,
    )

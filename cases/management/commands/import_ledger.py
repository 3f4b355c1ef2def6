"""manage.py import_ledger FILE [--dry-run] --user USERNAME: load an office's existing 台帐 (SPEC §7).

Prints the same summary as the upload page and POST /api/v1/imports/ (JSON); exit status 1 when
the file has errors (and then nothing was written).
"""

import json
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from cases.errors import CaseError
from cases.importing import run_import


class Command(BaseCommand):
    help = "Import an existing ledger (XLSX or CSV). All-or-nothing; --dry-run only checks."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check the file and report; write nothing")
        parser.add_argument(
            "--user",
            default=None,
            help="the importing user (a county office imports its own region; the city office any). "
            "Default: the first active superuser.",
        )

    def handle(self, *args, file, dry_run, user, **options):
        User = get_user_model()
        if user:
            importer = User.objects.filter(username=user, is_active=True).first()
            if importer is None:
                raise CommandError(f"No active user {user!r}.")
        else:
            importer = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
            if importer is None:
                raise CommandError("Give --user USERNAME (a county office or the city office).")

        def progress(phase, done, fraction):
            if options.get("verbosity", 1) >= 2:
                self.stderr.write(f"{phase}: {done} rows" + (f" ({fraction:.0%})" if fraction is not None else ""))

        try:
            summary = run_import(file, by=importer, dry_run=dry_run, progress=progress)
        except FileNotFoundError:
            raise CommandError(f"No such file: {file}") from None
        except CaseError as error:
            raise CommandError(error.message) from None
        self.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2))
        if summary["errors"]:
            sys.exit(1)

"""Remove stored files that no row names and that are older than the grace period."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from cases.orphan_files import grace, remove_orphans


class Command(BaseCommand):
    help = (
        "Remove files in MEDIA_ROOT's upload folders (evidence, scoring, notices, imports) that no database "
        "row names and that are older than ORPHAN_FILE_GRACE_HOURS. Beat runs this daily."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what would be removed; remove nothing")

    def handle(self, *args, dry_run=False, **options):
        sweep = remove_orphans(now=timezone.now(), dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        for name in sweep.removed:
            self.stdout.write(f"{verb} {name}")
        self.stdout.write(
            f"{len(sweep.removed)} orphan files {verb} ({sweep.removed_bytes} bytes); "
            f"{sweep.examined} files older than {grace()} examined"
        )

import gzip
import json
import shutil
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from ledger import checkpoint
from notifications.ledger_checkpoint import take_daily


class Command(BaseCommand):
    help = (
        "Re-hash every chain (recording the outcome on the ledger heads), then store and print a checkpoint: "
        "per region the number of cases, the last case number and a root hash over every chain's head. "
        "The per-case list goes to the checkpoint file (MEDIA_ROOT/ledger_checkpoints/) that "
        "verify_ledger --checkpoint checks a ledger against; the city office receives the roots by email."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", help="also copy the checkpoint file here (gzip'd if the name ends in .gz)")
        parser.add_argument("--skip-verify", action="store_true", help="do not re-hash the chains first")

    def handle(self, *args, output=None, skip_verify=False, **options):
        taken = take_daily(now=timezone.now(), verify=not skip_verify)
        if output:
            stored = Path(settings.MEDIA_ROOT) / taken.detail_file
            if output.endswith(".gz"):
                shutil.copyfile(stored, output)
            else:
                with gzip.open(stored, "rb") as source, open(output, "wb") as target:
                    shutil.copyfileobj(source, target)
        self.stdout.write(json.dumps(checkpoint.as_document(taken), ensure_ascii=False, indent=2))

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cases.models import Case, CaseNumberCounter
from cases.numbering import missing_numbers
from ledger import checkpoint, heads
from ledger.integrity import Recorder
from ledger.verify import verify_cases


class Command(BaseCommand):
    help = (
        "Recompute every case's hash chain, replay it against the case row and its ledger head (recording "
        "each chain's outcome on its head, so item 13 counts a broken chain incomplete), list numbering gaps "
        "(numbers handed out that no case carries), and optionally check the ledger against a checkpoint file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", help="only this region code")
        parser.add_argument(
            "--rebuild-heads",
            action="store_true",
            help="first recompute the cases' ledger heads (derived data) from their entries",
        )
        parser.add_argument(
            "--checkpoint",
            metavar="FILE",
            help="a checkpoint file (checkpoint_ledger): name every case it holds that the ledger "
            "no longer has, or has changed",
        )

    def handle(self, *args, **options):
        cases = Case.objects.all()
        if options["region"]:
            cases = cases.filter(region__code=options["region"])
        document = self._read_checkpoint(options["checkpoint"]) if options["checkpoint"] else None
        if options["rebuild_heads"]:
            ids = list(cases.values_list("pk", flat=True))
            rebuilt = sum(heads.rebuild(case_ids=ids[i : i + 500]) for i in range(0, len(ids), 500))
            self.stdout.write(f"Rebuilt {rebuilt} ledger heads.")
        broken = 0
        for report in verify_cases(cases, recorder=Recorder(timezone.now())):
            broken += 1
            for problem in report.problems:
                self.stdout.write(f"BROKEN {report.number}: {problem}")
        counters = CaseNumberCounter.objects.select_related("region")
        if options["region"]:
            counters = counters.filter(region__code=options["region"])
        issued = {(c.region.code, c.year): c.last_serial for c in counters}
        gaps = missing_numbers(cases, issued=issued)
        for (region, year), serials in sorted(gaps.items()):
            shown = ", ".join(f"{region}-{year}-{n:05d}" for n in serials[:50])
            more = f" (+{len(serials) - 50} more)" if len(serials) > 50 else ""
            self.stdout.write(f"MISSING numbers in {region} {year}: {shown}{more}")
        changed = self._against_checkpoint(document, cases, options["region"]) if document is not None else 0
        total = cases.count()
        if broken or gaps or changed:
            self.stdout.write(
                self.style.ERROR(
                    f"{broken} of {total} cases broken; {sum(map(len, gaps.values()))} numbers missing"
                    + (f"; {changed} cases differ from the checkpoint" if document is not None else "")
                    + "."
                )
            )
            sys.exit(1)
        against = f" and match the checkpoint of {document['created_at']}" if document is not None else ""
        self.stdout.write(self.style.SUCCESS(f"All {total} ledgers verify{against}."))

    def _read_checkpoint(self, path):
        try:
            return checkpoint.read_file(path)
        except (OSError, ValueError, UnicodeDecodeError) as error:
            raise CommandError(f"cannot read the checkpoint file {path}: {error}") from None

    def _against_checkpoint(self, document, cases, region) -> int:
        problems = checkpoint.file_problems(document)
        for problem in problems:
            self.stdout.write(f"CHECKPOINT FILE: {problem}")
        if region:
            document = {**document, "cases": [c for c in document["cases"] if str(c[0]).startswith(f"{region}-")]}
        found = checkpoint.compare(document, cases)
        for number, what in found:
            self.stdout.write(f"CHANGED SINCE CHECKPOINT {number}: {what}")
        return len(found) + len(problems)

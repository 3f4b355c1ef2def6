import sys

from django.core.management.base import BaseCommand

from cases.models import Case
from ledger import heads
from ledger.verify import missing_numbers, verify_cases


class Command(BaseCommand):
    help = ("Recompute every case's hash chain, replay it against the case row and its ledger head, "
            "and list numbering gaps.")

    def add_arguments(self, parser):
        parser.add_argument("--region", help="only this region code")
        parser.add_argument("--rebuild-heads", action="store_true",
                            help="first recompute the cases' ledger heads (derived data) from their entries")

    def handle(self, *args, **options):
        cases = Case.objects.all()
        if options["region"]:
            cases = cases.filter(region__code=options["region"])
        if options["rebuild_heads"]:
            ids = list(cases.values_list("pk", flat=True))
            rebuilt = sum(heads.rebuild(case_ids=ids[i : i + 500]) for i in range(0, len(ids), 500))
            self.stdout.write(f"Rebuilt {rebuilt} ledger heads.")
        broken = 0
        for report in verify_cases(cases):
            broken += 1
            for problem in report.problems:
                self.stdout.write(f"BROKEN {report.number}: {problem}")
        gaps = missing_numbers(cases)
        for (region, year), serials in sorted(gaps.items()):
            shown = ", ".join(f"{region}-{year}-{n:05d}" for n in serials[:50])
            more = f" (+{len(serials) - 50} more)" if len(serials) > 50 else ""
            self.stdout.write(f"MISSING numbers in {region} {year}: {shown}{more}")
        total = cases.count()
        if broken or gaps:
            self.stdout.write(self.style.ERROR(f"{broken} of {total} cases broken; {sum(map(len, gaps.values()))} numbers missing."))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(f"All {total} ledgers verify."))

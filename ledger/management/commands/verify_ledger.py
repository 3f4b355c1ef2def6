import sys

from django.core.management.base import BaseCommand

from cases.models import Case
from ledger.verify import missing_numbers, verify_cases


class Command(BaseCommand):
    help = "Recompute every case's hash chain, replay it against the case row, and list numbering gaps."

    def add_arguments(self, parser):
        parser.add_argument("--region", help="only this region code")

    def handle(self, *args, **options):
        cases = Case.objects.all()
        if options["region"]:
            cases = cases.filter(region__code=options["region"])
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

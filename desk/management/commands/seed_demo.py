import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from cases.models import Case
from desk import demo


class Command(BaseCommand):
    help = "Load a realistic demo year (ten counties, departments, ~2,000 cases, notices, users for each role)."

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=2000)
        parser.add_argument("--year", type=int, help="default: the current year (cases up to today)")
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--if-empty", action="store_true", help="do nothing when cases exist already")

    def handle(self, *args, **options):
        if options["if_empty"] and Case.objects.exists():
            self.stdout.write("Demo data already present; nothing to do.")
            return
        started = time.monotonic()
        total = options["cases"]
        step = max(1, min(100, total // 20))

        def progress(done: int, count: int) -> None:
            if done % step == 0 or done == count:
                elapsed = time.monotonic() - started
                self.stdout.write(f"  demo cases {done}/{count} ({100 * done // count}%, {elapsed:.0f} s)")
                self.stdout.flush()

        self.stdout.write(f"Loading the demo year: {total} cases through the services…")
        self.stdout.flush()
        result = demo.seed(count=total, year=options["year"], seed_value=options["seed"], progress=progress)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data: {result.cases} cases through the services in {time.monotonic() - started:.0f} s."
            )
        )
        try:
            call_command("sweep_deadlines", stdout=self.stdout)
        except Exception as error:  # noqa: BLE001 - the demo works without the first sweep
            self.stdout.write(f"First deadline sweep skipped: {error}")

from django.core.management.base import BaseCommand

from notifications.sweep import run_sweep


class Command(BaseCommand):
    help = "Run one deadline sweep now: plan reminders into the outbox, send them, retry failed deliveries."

    def handle(self, *args, **options):
        run = run_sweep()
        self.stdout.write(
            f"sweep {run.pk}: planned {run.planned}, sent {run.sent}, cancelled {run.cancelled}, "
            f"deliveries attempted {run.deliveries}, errors {len(run.errors)}"
        )
        for error in run.errors:
            self.stderr.write(f"  error: {error}")

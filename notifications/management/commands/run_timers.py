"""The embedded default's timer process: a deadline sweep every few minutes, in the foreground,
the weekly reminder that next year's holiday schedule is awaited (once per ISO week),
the daily ledger checkpoint (``notifications.ledger_checkpoint``) with the first sweep of a day,
the apps above's periodic work through ``notifications.signals.timers_tick`` each round (the
stored scores' refresh),
and the cases app's daily housekeeping (expired idempotency keys, orphan files) once a day.

``bin/run`` starts it next to the web server when there is no ``REDIS_URL`` (with Redis, Celery
beat and a worker do this job instead). Several copies may run at once without harm — the outbox
decides — but one is enough.
"""

import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from cases.housekeeping import run_daily
from notifications.calendar_watch import remind_awaited_calendar
from notifications.ledger_checkpoint import take_if_due
from notifications.signals import timers_tick
from notifications.sweep import run_sweep

HOUSEKEEPING_EVERY_SECONDS = 24 * 3600


class Command(BaseCommand):
    help = (
        "Run the deadline sweep every SWEEP_INTERVAL_SECONDS and housekeeping daily until stopped (embedded default)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=int, default=None, help="seconds between sweeps")
        parser.add_argument("--once", action="store_true", help="run one sweep and exit")

    def handle(self, *args, interval=None, once=False, **options):
        interval = interval or int(getattr(settings, "SWEEP_INTERVAL_SECONDS", 300))
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(f"timers: a deadline sweep every {interval} s, housekeeping daily")
        next_housekeeping = time.monotonic()
        while not stop.is_set():
            try:
                run = run_sweep()
                if run.sent or run.errors:
                    self.stdout.write(f"sweep {run.pk}: sent {run.sent}, errors {len(run.errors)}")
            except Exception as error:  # noqa: BLE001 - keep the timers alive; the next sweep retries
                self.stderr.write(f"sweep failed: {error!r}")
            try:
                reminder = remind_awaited_calendar()
                if reminder is not None:
                    self.stdout.write(f"holiday schedule {reminder.year} awaited: told {reminder.recipients} users")
            except Exception as error:  # noqa: BLE001 - same: the next round looks again
                self.stderr.write(f"holiday schedule reminder failed: {error!r}")
            try:
                taken = take_if_due(now=timezone.now())
                if taken is not None:
                    self.stdout.write(f"ledger checkpoint {taken.pk}: root {taken.root}")
            except Exception as error:  # noqa: BLE001 - keep the timers alive; the next run retries
                self.stderr.write(f"ledger checkpoint failed: {error!r}")
            self._tick()
            if time.monotonic() >= next_housekeeping:
                next_housekeeping = time.monotonic() + HOUSEKEEPING_EVERY_SECONDS
                try:
                    done = run_daily(now=timezone.now())
                    self.stdout.write(f"housekeeping: {done}")
                except Exception as error:  # noqa: BLE001 - as above; tomorrow's run retries
                    self.stderr.write(f"housekeeping failed: {error!r}")
            if once:
                break
            stop.wait(interval)
        self.stdout.write("timers: stopped")

    def _tick(self) -> None:
        """The apps above do their periodic work here (scoring refreshes its stored scores); a
        listener that fails is reported and the timers go on."""
        for receiver, result in timers_tick.send_robust(sender=self.__class__, now=timezone.now()):
            if isinstance(result, Exception):
                self.stderr.write(f"{getattr(receiver, '__qualname__', receiver)} failed: {result!r}")

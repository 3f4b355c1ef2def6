"""Enter (or revise) one year of the official working-day calendar, then recompute due dates.

    manage.py enter_calendar_year 2027 --holidays "2027-01-01 元旦" "2027-02-05..2027-02-11 春节" \
        --makeup 2027-02-13 2027-09-26 --reference "国办发明电〔2026〕N号"
    manage.py enter_calendar_year 2027 --holidays … --dry-run   # show what would change, write nothing
    manage.py enter_calendar_year 2027 --from-package     # when chinesecalendar knows the year
    manage.py enter_calendar_year --recompute             # catch up provisional due dates only

It does what the city office's form does (``cases.workcalendar``): prints the days that differ
from the calendar as it stands (the provisional one, or the stored version) and the open cases
whose due dates move; then stores the year, recomputes those due dates (a ledger entry each) and
tells each affected department in its inbox.
"""

from django.core.management.base import BaseCommand, CommandError

from cases import services, workcalendar
from cases.errors import InvalidInput


class Command(BaseCommand):
    help = "Enter one year of the working-day calendar (holidays and make-up days) and recompute due dates."

    def add_arguments(self, parser):
        parser.add_argument("year", type=int, nargs="?")
        parser.add_argument("--holidays", nargs="*", default=[], help="dates or ranges with a name")
        parser.add_argument("--makeup", nargs="*", default=[], help="make-up working days (调休)")
        parser.add_argument("--reference", default="", help="the official notice")
        parser.add_argument("--from-package", action="store_true", help="read the year from chinesecalendar")
        parser.add_argument("--revise", action="store_true", help="replace a stored year that differs")
        parser.add_argument("--recompute", action="store_true", help="only recompute provisional due dates")
        parser.add_argument("--dry-run", action="store_true", help="show the difference; write nothing")

    def handle(
        self,
        *args,
        year=None,
        holidays=(),
        makeup=(),
        reference="",
        from_package=False,
        revise=False,
        recompute=False,
        dry_run=False,
        **options,
    ):
        if recompute:
            self.stdout.write(f"{services.recompute_provisional_due_dates()} due dates recomputed")
            return
        if year is None:
            raise CommandError("Give the year, or --recompute.")
        try:
            if from_package:
                schedule, source = workcalendar.from_chinesecalendar(year), workcalendar.chinesecalendar_source()
            else:
                schedule, source = (
                    workcalendar.schedule_from_text(year, "\n".join(holidays), "\n".join(makeup)),
                    "command",
                )
            plan = workcalendar.plan_year(schedule)
            self.show(plan)
            if dry_run:
                self.stdout.write("dry run: nothing written")
                return
            calendar, changed = workcalendar.enter_year(schedule, source=source, reference=reference, revise=revise)
        except InvalidInput as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"calendar {calendar.year} version {calendar.version}: {changed} due dates recomputed")

    def show(self, plan: workcalendar.YearPlan) -> None:
        against = (
            f"stored version {plan.existing.version}"
            if plan.existing is not None
            else f"provisional calendar ({plan.provisional_rule.label if plan.provisional_rule else 'weekends only'})"
        )
        self.stdout.write(f"{plan.schedule.year}: {len(plan.day_changes)} days differ from the {against}")
        for change in plan.day_changes:
            was = "working day" if change.was_workday else f"day off ({change.was_kind} {change.was_name})".rstrip()
            now = (
                f"working day ({change.row.kind})"
                if change.row.is_workday
                else f"day off ({change.row.kind} {change.row.name})".rstrip()
            )
            self.stdout.write(f"  {change.date.isoformat()} {change.date:%a}: {was} -> {now}")
        for change in plan.day_changes:
            if change.statutory_now_workday:
                self.stderr.write(
                    f"warning: {change.date.isoformat()} is a statutory holiday ({change.was_name}) "
                    "but the schedule makes it a working day"
                )
        self.stdout.write(f"{len(plan.due_changes)} open cases recomputed, {len(plan.moved)} due dates move")
        for change in plan.moved:
            self.stdout.write(f"  {change.number}: {change.before.isoformat()} -> {change.after.isoformat()}")

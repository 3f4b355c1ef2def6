"""Enter (or revise) one year of the official working-day calendar, then recompute due dates.

    manage.py enter_calendar_year 2027 --holidays "2027-01-01 元旦" "2027-02-05..2027-02-11 春节" \
        --makeup 2027-02-13 2027-09-26 --reference "国办发明电〔2026〕N号"
    manage.py enter_calendar_year 2027 --from-package     # when chinesecalendar knows the year
    manage.py enter_calendar_year --recompute             # catch up provisional due dates only
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

    def handle(self, *args, year=None, holidays=(), makeup=(), reference="", from_package=False, revise=False,
               recompute=False, **options):
        if recompute:
            self.stdout.write(f"{services.recompute_provisional_due_dates()} due dates recomputed")
            return
        if year is None:
            raise CommandError("Give the year, or --recompute.")
        try:
            if from_package:
                schedule, source = workcalendar.from_chinesecalendar(year), workcalendar.chinesecalendar_source()
            else:
                schedule, source = workcalendar.YearSchedule(year), "command"
                for day, name in workcalendar.parse_named_dates("\n".join(holidays), field_name="holidays"):
                    schedule.holidays[day] = name or "holiday"
                schedule.makeup_days = set(workcalendar.parse_dates("\n".join(makeup), field_name="makeup"))
            calendar, changed = workcalendar.enter_year(schedule, source=source, reference=reference, revise=revise)
        except InvalidInput as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"calendar {calendar.year} version {calendar.version}: {changed} due dates recomputed")

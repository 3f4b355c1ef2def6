"""Seed the working-day calendar 2004–2026 from the chinesecalendar package (day by day,
with ``is_workday``, so make-up Saturdays are working days)."""
from django.db import migrations


def seed(apps, schema_editor):
    from cases.workcalendar import FIRST_SEEDED_YEAR, LAST_SEEDED_YEAR, chinesecalendar_source, from_chinesecalendar

    CalendarYear = apps.get_model("cases", "CalendarYear")
    CalendarDay = apps.get_model("cases", "CalendarDay")
    source = chinesecalendar_source()
    for year in range(FIRST_SEEDED_YEAR, LAST_SEEDED_YEAR + 1):
        if CalendarYear.objects.filter(year=year).exists():
            continue
        calendar = CalendarYear.objects.create(year=year, version=1, source=source)
        CalendarDay.objects.bulk_create(
            [
                CalendarDay(date=row.date, calendar=calendar, is_workday=row.is_workday, kind=row.kind, name=row.name)
                for row in from_chinesecalendar(year).rows()
            ]
        )


def unseed(apps, schema_editor):
    apps.get_model("cases", "CalendarYear").objects.filter(source__startswith="chinesecalendar").delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_calendar_extensions")]
    operations = [migrations.RunPython(seed, unseed)]

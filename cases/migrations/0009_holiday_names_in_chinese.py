"""The calendar's holiday names in Chinese: the days seeded from chinesecalendar carried the
package's English names (Spring Festival, National Day, …)."""
from django.db import migrations

# As cases.workcalendar.HOLIDAY_NAMES at the time of writing (a migration keeps its own copy).
NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
    "holiday": "节假日",
}


def to_chinese(apps, schema_editor):
    CalendarDay = apps.get_model("cases", "CalendarDay")
    for english, chinese in NAMES.items():
        CalendarDay.objects.filter(name=english).update(name=chinese)


def to_english(apps, schema_editor):
    CalendarDay = apps.get_model("cases", "CalendarDay")
    for english, chinese in NAMES.items():
        CalendarDay.objects.filter(name=chinese).update(name=english)


class Migration(migrations.Migration):
    dependencies = [("cases", "0008_case_number_counter")]
    operations = [migrations.RunPython(to_chinese, to_english)]

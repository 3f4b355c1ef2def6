"""The whole demo year, as ``seed_demo`` and the README's run command load it.

The layers seed their own parts: ``cases.demo`` the people and a year of cases through the
services, ``notices.demo`` the schedules and issued notices; this module puts them together and
adds the day's open work every dashboard queue shows — in each county five cases logged today, two
returned by their department (one suggesting where they belong), one waiting to be acknowledged
and two with an extension request waiting for the office — and gives the department users names,
so a first look at each role's desk is not empty.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from cases import demo as cases_demo
from cases import services
from cases.models import Case, Category, Channel, Enterprise, Region
from notices import demo as notices_demo

RETURN_REASONS = [
    "该事项属于社保业务，不属本单位职责",
    "涉及用地审批，应由自然资源部门办理",
    "属于市场准入事项，请转交相关单位",
]
EXTENSION_REASONS = [
    "需协调市级部门联合办理，周期较长",
    "需组织现场核查，企业补充材料中",
    "涉及资金拨付流程，需财政审核",
]


@transaction.atomic
def seed(
    *, count: int = 2000, year: int | None = None, seed_value: int = 2026, now: dt.datetime | None = None, progress=None
) -> cases_demo.Demo:
    """The demo year; ``progress(done, total)`` is called after each case (the command prints it)."""
    now = now or timezone.now()
    year = year or timezone.localtime(now).year
    demo = cases_demo.seed(count=count, year=year, seed_value=seed_value, now=now, progress=progress)
    rng = random.Random(seed_value + 1)
    offices = {
        code: people["office"]
        for code, people in demo.people.items()
        if isinstance(people, dict) and "office" in people
    }
    notices_demo.seed_notices(offices, year=year, rng=rng, now=now)
    name_department_users(demo.people, rng)
    if year == timezone.localtime(now).year:
        demo.cases += seed_open_work(demo.people, rng=rng, now=now)
    return demo


def _short_name(department_name: str, region: Region) -> str:
    """ "浉河区人社局" → "人社局": how a department usually names another."""
    return department_name.removeprefix(region.name)


def _fresh_case(region: Region, office, rng: random.Random, now: dt.datetime, number: int) -> Case:
    category = rng.choice(list(Category.objects.all()))
    problems = cases_demo.PROBLEMS.get(category.code, cases_demo.PROBLEMS["other"])
    return services.create_case(
        by=office,
        region=region,
        enterprise_name=f"信阳{region.name}{rng.choice(cases_demo.TRADES)}有限公司{50 + number}号",
        credit_code_value=cases_demo.credit_code_for(rng, region.code),
        enterprise_size=rng.choice(Enterprise.Size.values),
        category=category,
        channel=rng.choice(list(Channel.objects.all())),
        description=rng.choice(problems),
        contact_name=rng.choice(["张经理", "王主任", "李女士", "刘先生"]),
        contact_phone=f"13{rng.randint(100000000, 999999999)}",
        received_at=now - dt.timedelta(hours=rng.randint(2, 20)),
        now=now - dt.timedelta(hours=1),
    )


SURNAMES = "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗"
GIVEN = ["敏", "静", "伟", "磊", "洋", "艳", "军", "娜", "强", "勇", "杰", "芳", "涛", "霞", "鹏"]


def name_department_users(people: dict, rng: random.Random) -> None:
    """Demo department users get a person's name with their unit, as an office would enter them."""
    for county in (p for p in people.values() if isinstance(p, dict) and "dept_users" in p):
        for department in county["depts"]:
            user = county["dept_users"][department.pk]
            short = _short_name(department.name, department.region)
            user.first_name = f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}（{short}）"
            user.save(update_fields=["first_name"])


def seed_open_work(people: dict, *, rng: random.Random, now: dt.datetime) -> int:
    """Per county, the day's open work: two cases logged and routed today that the department
    returned (with a reason and, once, the department they should go to), and for the first
    department (the demo login printed first) one case still to acknowledge and two it asked more
    time for, waiting for the office. Returns the number of cases added."""
    added = 0
    for region in Region.objects.filter(level=Region.Level.COUNTY).order_by("code"):
        county = people.get(region.code)
        if not county:
            continue
        first = county["depts"][0]
        for number in range(5):
            case = _fresh_case(region, county["office"], rng, now, number)
            department = rng.choice(county["depts"][1:]) if number < 2 else first
            handler = county["dept_users"][department.pk]
            case = services.assign(case, by=county["office"], department=department, now=now)
            added += 1
            if number < 2:
                others = [d for d in county["depts"] if d.pk != department.pk]
                suggestion = _short_name(rng.choice(others).name, region) if number == 0 else "请转交相关职能部门"
                services.return_case(
                    case, by=handler, reason=rng.choice(RETURN_REASONS), suggested_department=suggestion, now=now
                )
            elif number < 4:
                case = services.acknowledge(case, by=handler, now=now)
                services.request_extension(
                    case, by=handler, reason=rng.choice(EXTENSION_REASONS), days=rng.randint(3, 10), now=now
                )
    return added

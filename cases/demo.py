"""A realistic demo year for the ten counties, written through the services so every ledger is real.

Cases are received across the year up to today, routed, acknowledged, returned now and then,
extended, resolved or explained (mostly on time, each county with its own record), reopened when
an enterprise is not satisfied, and followed up. The notices and the day's open work are seeded on
top of this by ``desk.demo`` (``seed_demo``, the README's run command): cases knows nothing of them.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from . import reference, services, workdays
from .errors import CaseError
from .models import Case, Category, Channel, Department, Enterprise, Region
from .users import create_user as _create_user

LOCAL = ZoneInfo("Asia/Shanghai")
DEMO_PASSWORD = "demo-2026"

COUNTY_DEPARTMENTS = [
    "工信局",
    "发展改革委",
    "人社局",
    "自然资源局",
    "住建局",
    "市场监管局",
    "金融工作局",
    "税务局",
    "行政审批服务局",
    "生态环境局",
    "商务局",
    "供电公司",
]
CITY_DEPARTMENTS = ["市发展改革委", "市工业和信息化局", "市人力资源和社会保障局", "市自然资源和规划局"]
TRADES = ["茶业", "纺织", "建材", "机械", "食品", "电子", "物流", "化工", "服装", "家居", "农业科技", "新材料"]
PROBLEMS = {
    "market": ["产品进入本地政府采购目录受阻", "希望对接省内大型商超渠道", "外地市场准入检测周期过长"],
    "finance": ["流动资金贷款续贷审批周期过长", "抵押物评估费用偏高", "担保公司反担保要求过严"],
    "labour": ["季节性用工缺口约80人", "技术工人招聘困难", "职工子女入学问题"],
    "burden": ["涉企收费项目不清", "检查频次过高影响生产", "电价优惠政策未落实"],
    "transition": ["产能过剩需转产指导", "技术改造资金缺口", "兼并重组手续复杂"],
    "approval": ["厂房扩建规划许可办理缓慢", "环评审批材料反复补正", "施工许可办理时限过长"],
    "factors": ["用地指标不足", "天然气供应不稳定", "园区道路未贯通影响运输"],
    "policy": ["技改补贴资金未拨付", "研发费用加计扣除政策不清楚", "稳岗补贴申领困难"],
    "other": ["企业周边治安问题", "厂区排水管网堵塞", "企业名称变更后证照不一致"],
}
# The department that usually takes each problem (the suffix of the county department's name);
# offices route there most of the time, elsewhere now and then (and those get returned more often).
USUAL_DEPARTMENT = {
    "产品进入本地政府采购目录受阻": "商务局",
    "希望对接省内大型商超渠道": "商务局",
    "外地市场准入检测周期过长": "市场监管局",
    "流动资金贷款续贷审批周期过长": "金融工作局",
    "抵押物评估费用偏高": "金融工作局",
    "担保公司反担保要求过严": "金融工作局",
    "季节性用工缺口约80人": "人社局",
    "技术工人招聘困难": "人社局",
    "职工子女入学问题": "人社局",
    "涉企收费项目不清": "发展改革委",
    "检查频次过高影响生产": "市场监管局",
    "电价优惠政策未落实": "供电公司",
    "产能过剩需转产指导": "工信局",
    "技术改造资金缺口": "工信局",
    "兼并重组手续复杂": "工信局",
    "厂房扩建规划许可办理缓慢": "自然资源局",
    "环评审批材料反复补正": "生态环境局",
    "施工许可办理时限过长": "住建局",
    "用地指标不足": "自然资源局",
    "天然气供应不稳定": "发展改革委",
    "园区道路未贯通影响运输": "住建局",
    "技改补贴资金未拨付": "工信局",
    "研发费用加计扣除政策不清楚": "税务局",
    "稳岗补贴申领困难": "人社局",
    "企业周边治安问题": "行政审批服务局",
    "厂区排水管网堵塞": "住建局",
    "企业名称变更后证照不一致": "市场监管局",
}
# How reliably each county closes on time (indices follow reference.REGIONS).
ON_TIME = [0.97, 0.93, 0.88, 0.99, 0.82, 0.95, 0.91, 0.86, 0.96, 0.78]

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def credit_code_for(rng: random.Random, region_code: str) -> str:
    """A random valid credit code registered in the region."""
    from .credit_code import ALPHABET, check_character

    body = "91" + region_code + "".join(rng.choice(ALPHABET) for _ in range(9))
    return body + check_character(body)


@dataclass
class Demo:
    users: list[tuple[str, str, str]] = field(default_factory=list)  # (username, role, where)
    cases: int = 0
    people: dict = field(default_factory=dict)  # setup_people's: each county's office, departments and their users


def _at(day: dt.date, rng: random.Random, earliest: dt.datetime | None = None) -> dt.datetime:
    moment = dt.datetime.combine(day, dt.time(8, 30), tzinfo=LOCAL) + dt.timedelta(minutes=rng.randint(0, 540))
    if earliest is not None and moment <= earliest:
        moment = earliest + dt.timedelta(minutes=rng.randint(20, 180))
    return moment


def _later_workday(day: dt.date, rng: random.Random, lo: int, hi: int) -> dt.date:
    n = rng.randint(lo, hi)
    return day if n == 0 else workdays.add_working_days(day, n).date


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN_NAMES = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "国强",
    "晓东",
    "文静",
    "海燕",
    "志刚",
    "红梅",
    "立新",
    "春生",
    "玉兰",
]


def _give_names(users, seed_value: int) -> None:
    """Real-looking names for the demo users, from their own generator so the cases stay the same."""
    from django.contrib.auth import get_user_model

    rng = random.Random(seed_value * 7 + 1)
    for user in users:
        user.last_name, user.first_name = rng.choice(SURNAMES), rng.choice(GIVEN_NAMES)
    get_user_model().objects.bulk_update(users, ["first_name", "last_name"])


def setup_people(rng: random.Random, demo: Demo, seed_value: int = 2026) -> dict:
    """Departments and demo users for every role, each with a name."""
    from django.contrib.auth.hashers import make_password

    hashed = make_password(DEMO_PASSWORD)  # hash once: PBKDF2 per demo user would take minutes

    def create_user(username, **kwargs):
        return _create_user(username, password_hash=hashed, **kwargs)

    city = Region.objects.get(level=Region.Level.CITY)
    people = {
        "city": create_user("city", role="city_office", password=DEMO_PASSWORD)[0],
        "assessor": create_user("assessor", role="assessor", password=DEMO_PASSWORD)[0],
    }
    demo.users += [("city", "city_office", city.name), ("assessor", "assessor", "")]
    city_depts = [Department.objects.get_or_create(region=city, name=name)[0] for name in CITY_DEPARTMENTS]
    for region in Region.objects.filter(level=Region.Level.COUNTY):
        depts = [
            Department.objects.get_or_create(region=region, name=f"{region.name}{name}")[0]
            for name in COUNTY_DEPARTMENTS
        ]
        office = create_user(f"county_{region.code}", role="county_office", region=region, password=DEMO_PASSWORD)[0]
        demo.users.append((office.username, "county_office", region.name))
        dept_users = {}
        for index, dept in enumerate(depts):
            user = create_user(
                f"dept_{region.code}_{index + 1:02d}", role="department", department=dept, password=DEMO_PASSWORD
            )[0]
            dept_users[dept.pk] = user
            if index < 2:
                demo.users.append((user.username, "department", dept.name))
        people[region.code] = {"office": office, "depts": depts, "dept_users": dept_users}
    for index, dept in enumerate(city_depts):
        user = create_user(f"dept_411500_{index + 1:02d}", role="department", department=dept, password=DEMO_PASSWORD)[
            0
        ]
        people.setdefault("city_depts", {})[dept.pk] = user
    people["city_dept_list"] = city_depts
    everyone = [people["city"], people["assessor"], *people["city_depts"].values()]
    for entry in people.values():
        if isinstance(entry, dict) and "office" in entry:
            everyone += [entry["office"], *entry["dept_users"].values()]
    _give_names(everyone, seed_value)
    return people


def _dept_user(people, region_code, dept):
    return people[region_code]["dept_users"].get(dept.pk) or people["city_depts"][dept.pk]


def _life(case: Case, people: dict, region_index: int, rng: random.Random, now: dt.datetime) -> None:
    """Move one case along a plausible history, never past ``now``: routed, acknowledged, perhaps
    extended, then closed and followed up — and reopened once if the enterprise is dissatisfied."""
    life = _Life(case, people, rng, now, reliability=ON_TIME[region_index])
    if not (life.assigned() and life.acknowledged()):
        return
    life.extended()
    for attempt in range(2):
        closing = life.closed()
        if closing is None:
            return
        dissatisfied = life.followed_up(closing)
        if dissatisfied is None or attempt == 1 or not life.reopened(dissatisfied):
            return


@dataclass
class _Life:
    """One case's history, step by step. A step whose moment would be at or after ``now`` is not
    taken (it returns False or None) and the case stays where it is. The steps draw from ``rng`` in
    a fixed order, so a seed gives the same demo year."""

    case: Case
    people: dict
    rng: random.Random
    now: dt.datetime
    reliability: float  # the region's share of cases closed on time
    dept: Department = field(init=False)  # the department handling it (set by ``assigned``)
    moment: dt.datetime = field(init=False)  # the latest step's moment, where the next one starts
    due: dt.date = field(init=False)  # its due date (set by ``extended``, moved by ``reopened``)

    def __post_init__(self) -> None:
        self.moment = self.case.received_at

    @property
    def office(self):
        return self.people[self.case.region.code]["office"]

    @property
    def handler(self):
        return _dept_user(self.people, self.case.region.code, self.dept)

    def reached(self, moment: dt.datetime) -> bool:
        return moment < self.now

    def advance(self, moment: dt.datetime) -> bool:
        self.moment = moment
        return self.reached(moment)

    def route(self, after: dt.datetime, exclude=None) -> tuple[Department, dt.datetime]:
        pool = [d for d in self.people[self.case.region.code]["depts"] if d != exclude]
        rng = self.rng
        # Mostly the department that usually handles such a problem (what routing suggestions learn).
        usual = [d for d in pool if d.name.endswith(USUAL_DEPARTMENT.get(self.case.description, "-"))]
        if usual and rng.random() < 0.85:
            dept = usual[0]
        else:
            dept = rng.choice(self.people["city_dept_list"]) if rng.random() < 0.06 else rng.choice(pool)
        return dept, _at(_later_workday(timezone.localtime(after).date(), rng, 0, 1), rng, after)

    def assigned(self) -> bool:
        self.dept, moment = self.route(self.case.received_at)
        if not self.advance(moment):
            return False
        self.case = services.assign(
            self.case, by=self.office, department=self.dept, complex=self.rng.random() < 0.08, now=moment
        )
        misrouted = not self.dept.name.endswith(USUAL_DEPARTMENT.get(self.case.description, "-"))
        if self.rng.random() < (0.3 if misrouted else 0.02):  # mis-routed: returned, then routed elsewhere
            return self.rerouted()
        return True

    def rerouted(self) -> bool:
        if not self.advance(self.moment + dt.timedelta(hours=self.rng.randint(1, 20))):
            return False
        self.case = services.return_case(
            self.case,
            by=self.handler,
            reason="不属本单位职责范围",
            suggested_department="请转交相关职能部门",
            now=self.moment,
        )
        self.dept, moment = self.route(self.moment, exclude=self.dept)
        if not self.advance(moment):
            return False
        self.case = services.assign(self.case, by=self.office, department=self.dept, now=moment)
        return True

    def acknowledged(self) -> bool:
        if self.rng.random() >= 0.92:  # some departments never acknowledge
            return True
        if not self.advance(self.moment + dt.timedelta(hours=self.rng.choice([1, 2, 3, 5, 20, 26]))):
            return False
        self.case = services.acknowledge(self.case, by=self.handler, now=self.moment)
        return True

    def extended(self) -> None:
        """Now and then the department asks for more time before the due date."""
        self.due = self.case.due_date
        if self.rng.random() >= 0.05:
            return
        ask = _at(_later_workday(timezone.localtime(self.moment).date(), self.rng, 1, 2), self.rng, self.moment)
        if not (self.reached(ask) and timezone.localtime(ask).date() < self.due):
            return
        try:
            self.case = services.request_extension(
                self.case, by=self.handler, reason="需协调市级部门，办理周期较长", days=self.rng.randint(3, 10), now=ask
            )
            decide = ask + dt.timedelta(hours=self.rng.randint(2, 30))
            if self.reached(decide):
                self.decided(decide)
            self.moment = max(self.moment, decide)
        except CaseError:
            pass
        self.due = self.case.due_date

    def decided(self, moment: dt.datetime) -> None:
        if self.rng.random() < 0.8:
            self.case = services.approve_extension(self.case, by=self.office, note="同意延期", now=moment)
        else:
            self.case = services.reject_extension(self.case, by=self.office, note="请按期办结", now=moment)

    def close_day(self, on_time: bool) -> dt.date:
        if not on_time:
            return workdays.add_working_days(self.due, self.rng.randint(1, 12)).date
        assigned_day = timezone.localtime(self.moment).date()
        span = max(0, workdays_between(assigned_day, self.due))
        return min(self.due, _later_workday(assigned_day, self.rng, min(1, span), max(1, span)))

    def closed(self) -> dt.datetime | None:
        """Resolved or explained, on time as often as the region is; the closing moment."""
        closing = _at(self.close_day(self.rng.random() < self.reliability), self.rng, self.moment)
        if not self.reached(closing):
            return None
        if self.rng.random() < 0.82:
            self.case = services.resolve(
                self.case,
                by=self.handler,
                result="经协调，问题已解决，企业已确认。",
                evidence=[_pdf("办理情况说明.pdf")],
                now=closing,
            )
        else:
            self.case = services.explain(
                self.case,
                by=self.handler,
                result="经核查，该诉求不属于现行政策支持范围，已当面向企业解释。",
                policy_basis="豫政办〔2012〕148号",
                redirect_to="可向市企业服务办反映",
                evidence=[_pdf("答复函.pdf")],
                now=closing,
            )
        return closing

    def followed_up(self, closing: dt.datetime) -> dt.datetime | None:
        """Most closed cases get a follow-up visit; its moment if the enterprise was dissatisfied."""
        follow = closing + dt.timedelta(days=self.rng.randint(1, 6))
        if not self.reached(follow) or self.rng.random() > 0.65:
            return None
        satisfaction = self.rng.choices(["satisfied", "basically_satisfied", "dissatisfied"], [80, 15, 5])[0]
        self.case = services.record_follow_up(
            self.case, by=self.office, satisfaction=satisfaction, note="电话回访", now=follow
        )
        return follow if satisfaction == "dissatisfied" else None

    def reopened(self, after: dt.datetime) -> bool:
        if not self.advance(after + dt.timedelta(hours=self.rng.randint(2, 48))):
            return False
        self.case = services.reopen(self.case, by=self.office, reason="企业对办理结果不满意，重新办理", now=self.moment)
        reopened_day = timezone.localtime(self.moment).date()
        self.due = max(self.due, workdays.add_working_days(reopened_day, 5).date)
        return True


def workdays_between(start: dt.date, end: dt.date) -> int:
    return workdays.current_calendar().working_days_between(start, end) if end > start else 0


def seed_cases(
    people: dict, *, count: int, year: int, rng: random.Random, now: dt.datetime, demo: Demo, progress=None
) -> None:
    categories = list(Category.objects.all())
    channels = list(Channel.objects.all())
    regions = list(Region.objects.filter(level=Region.Level.COUNTY).order_by("code"))
    start = dt.date(year, 1, 2)
    today = timezone.localtime(now).date()
    span = max(1, (today - start).days)
    weights = [1.4, 1.2, 1.0, 0.9, 0.6, 0.9, 1.3, 1.0, 0.7, 0.9]
    plan = rng.choices(range(len(regions)), weights=weights, k=count)
    days = sorted(start + dt.timedelta(days=int(rng.random() ** 0.9 * span)) for _ in range(count))
    enterprises: dict[str, list[tuple[str, str, str]]] = {}
    for region in regions:
        enterprises[region.code] = [
            (
                f"信阳{region.name}{rng.choice(TRADES)}有限公司{n}号",
                credit_code_for(rng, region.code),
                rng.choice(Enterprise.Size.values),
            )
            for n in range(1, 41)
        ]
    for index, day in zip(plan, days, strict=True):
        region = regions[index]
        while not workdays.is_workday(day) and day < today:
            day += dt.timedelta(days=1)
        received = _at(day, rng)
        if received >= now:
            received = now - dt.timedelta(minutes=rng.randint(5, 600))
        name, code, size = rng.choice(enterprises[region.code])
        category = rng.choice(categories)
        case = services.create_case(
            by=people[region.code]["office"],
            region=region,
            enterprise_name=name,
            credit_code_value=code,
            enterprise_size=size,
            category=category,
            channel=rng.choice(channels),
            description=rng.choice(PROBLEMS.get(category.code, PROBLEMS["other"])),
            contact_name=rng.choice(["张", "王", "李", "刘", "陈", "杨"])
            + rng.choice(["经理", "主任", "女士", "先生"]),
            contact_phone=f"13{rng.randint(100000000, 999999999)}",
            received_at=received,
            now=received,
        )
        _life(case, people, index, rng, now)
        demo.cases += 1
        if progress is not None:
            progress(demo.cases, count)


@transaction.atomic
def seed(
    *, count: int = 2000, year: int | None = None, seed_value: int = 2026, now: dt.datetime | None = None, progress=None
) -> Demo:
    """The demo year; ``progress(done, total)`` is called after each case (the command prints it)."""
    from django.apps import apps

    now = now or timezone.now()
    year = year or timezone.localtime(now).year
    rng = random.Random(seed_value)
    reference.load(apps.get_model)
    demo = Demo()
    people = setup_people(rng, demo, seed_value)
    seed_cases(people, count=count, year=year, rng=rng, now=now, demo=demo, progress=progress)
    demo.people = people
    return demo

"""``manage.py generate_load --cases N --year Y [--seed S]``: a realistic synthetic year for benchmarks.

Every county gets departments, enterprises, cases in every state (received, assigned, resolved,
explained, returned, reopened, extended, late, open past due, pending), each with a ledger whose
hash chain is linked by the ledger's own ``ledger.chain.link`` (as ``ledger.services.append`` links
it, so ``manage.py verify_ledger`` passes), the case row's state, department and due date and the
ledger head from the ledger's replay of that chain (``ledger.heads.replay``), the routing history,
and a monthly notice schedule with issued notices (a few periods left out, so item 14 varies).

This is a benchmark loader and the ONLY code that writes cases and ledger entries without going
through ``cases.services``: it writes in bulk (COPY on PostgreSQL, batched INSERTs on SQLite) so
a million cases load in minutes. Run it on an empty or benchmark database, with nobody else
writing cases meanwhile (it numbers cases after each region's highest serial).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from cases import credit_code, workdays
from cases.models import (
    OPEN_STATES,
    Case,
    CaseAssignment,
    CaseNumberCounter,
    Category,
    Channel,
    Department,
    DepartmentCase,
    Enterprise,
    Region,
)
from cases.search.index import document_row
from cases.search.models import SearchDocument
from cases.search.routing_model import learn_cases
from ledger.chain import check_chain, link
from ledger.completeness import lacks, stages_of
from ledger.heads import Replay, replay
from ledger.models import LedgerEntry, LedgerHead, Source
from ledger.verify import HEAD_FIELDS, VERIFIED_FIELDS
from notices.models import ALL_GROUPS, Frequency, Notice, NoticeSchedule, Recipient, Status
from scoring.load_vocabulary import DEPARTMENT_NAMES, TOPICS, describe
from scoring.models import Assessment, LedgerVerdict
from scoring.scope import make_scope

ACTOR = "generate_load"
BATCH = 20000

# One ledger entry to write: (action, from state, to state, when, the due date it sets or None, payload).
Event = tuple[str, str, str, dt.datetime, dt.date | None, dict]


class Writer:
    """Rows straight into tables: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self):
        self.postgres = connection.vendor == "postgresql"

    def _adapt(self, value):
        if isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False)
        if self.postgres:
            return value
        if isinstance(value, dt.datetime):
            return connection.ops.adapt_datetimefield_value(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    def write(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        names = ", ".join(connection.ops.quote_name(c) for c in columns)
        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([self._adapt(v) for v in row])
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})", [[self._adapt(v) for v in row] for row in rows]
                )


def make_credit_code(index: int, area: str) -> str:
    body = ""
    n = index
    for _ in range(9):
        n, digit = divmod(n, 31)
        body += credit_code.ALPHABET[digit]
    first17 = "91" + area + body
    return first17 + credit_code.check_character(first17)


class Command(BaseCommand):
    help = "Write a realistic synthetic year of cases, ledgers and notices in bulk (benchmarks only)."

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, required=True)
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, cases: int, year: int, seed: int, **options):
        if cases < 1 or cases > 5_000_000:
            raise CommandError("--cases must be between 1 and 5,000,000")
        if not 2004 <= year <= 2100:
            raise CommandError("--year must be between 2004 and 2100")
        started = time.monotonic()
        self.rng = random.Random(seed)
        self.zone = ZoneInfo(settings.TIME_ZONE)
        self.now = timezone.now()
        self.writer = Writer()
        # One calendar for the whole run (workdays.add_working_days reads the database each call).
        self.calendar = workdays.current_calendar()
        assessment = Assessment.objects.filter(year=year).first()
        self.scope_end = make_scope(year, assessment.cutoff if assessment else None).end
        regions = list(Region.objects.filter(level=Region.Level.COUNTY).order_by("code"))
        if not regions:
            raise CommandError("no counties: run migrations / seed_reference first")
        self.categories = list(Category.objects.order_by("code"))
        self.channels = list(Channel.objects.order_by("code"))
        self.departments = self._departments(regions)
        self.department_named = {d.name: d for ds in self.departments.values() for d in ds}
        self.category_of = {c.code: c for c in self.categories}
        last_day = min(dt.date(year, 12, 31), timezone.localtime(self.now).date())
        if last_day < dt.date(year, 1, 1):
            raise CommandError("the year lies in the future")
        self.days = [
            dt.date(year, 1, 1) + dt.timedelta(days=i) for i in range((last_day - dt.date(year, 1, 1)).days + 1)
        ]
        enterprises = self._enterprises(regions, max(50, cases // 4))
        serials = {
            r.pk: (Case.objects.filter(region=r, year=year).aggregate(m=Max("serial"))["m"] or 0) for r in regions
        }
        next_id = (Case.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        weights = [self.rng.uniform(0.5, 1.5) for _ in regions]
        written = entries_written = 0
        while written < cases:
            size = min(BATCH, cases - written)
            with transaction.atomic():
                case_rows, entry_rows, assignment_rows, verdict_rows, head_rows = [], [], [], [], []
                for _ in range(size):
                    region = self.rng.choices(regions, weights)[0]
                    serials[region.pk] += 1
                    case, chain, facts, assignments = self._case(next_id, region, year, serials[region.pk], enterprises)
                    next_id += 1
                    case_rows.append(case)
                    entry_rows += [tuple(getattr(entry, name) for name in ENTRY_FIELDS) for entry in chain]
                    assignment_rows += assignments
                    head, verdict = self._head_and_verdict(case, chain, facts)
                    head_rows.append(head)
                    verdict_rows += verdict
                self._write_cases(case_rows)
                # Each department a case's routings name, once, with the case's receipt, category,
                # state and satisfaction (cases.models.DepartmentCase, as CaseAssignment.record writes it).
                copied = {
                    case["id"]: (case["received_at"], case["category_id"], case["state"], case["satisfaction"])
                    for case in case_rows
                }
                seen = {(pk, department): copied[pk] for pk, department, _at in assignment_rows}
                # The search index, as the case saves and the routings of the services keep it (cases.search).
                routed: dict[int, list[int]] = {}
                for pk, department in seen:
                    routed.setdefault(pk, []).append(department)
                self.writer.write(
                    SearchDocument._meta.db_table,
                    ["case_id", "region_id", "ident", "enterprise", "body", "departments"],
                    [
                        document_row(c, self.enterprise_of[c["enterprise_id"]], routed.get(c["id"], ()))
                        for c in case_rows
                    ],
                )
                self.writer.write(LedgerEntry._meta.db_table, ENTRY_COLUMNS, entry_rows)
                self.writer.write(
                    CaseAssignment._meta.db_table, ["case_id", "department_id", "assigned_at"], assignment_rows
                )
                self.writer.write(
                    DepartmentCase._meta.db_table,
                    ["case_id", "department_id", "received_at", "category_id", "state", "open", "satisfaction"],
                    [
                        (pk, department, at, category, state, state in OPEN_STATES, satisfaction)
                        for (pk, department), (at, category, state, satisfaction) in seen.items()
                    ],
                )
                self.writer.write(LedgerVerdict._meta.db_table, VERDICT_COLUMNS, verdict_rows)
                self.writer.write(
                    LedgerHead._meta.db_table,
                    [*HEAD_FIELDS, "complete", "missing", *VERIFIED_FIELDS, "stages"],
                    head_rows,
                )
                # The routing model, as the case saves of the services keep it (cases.search.routing_model).
                learn_cases([c["id"] for c in case_rows])
            written += size
            entries_written += len(entry_rows)
            self.stdout.write(f"{written} cases, {entries_written} ledger entries, {time.monotonic() - started:.1f} s")
        for region in regions:
            # Numbers handed out here are taken, as create_case would have taken them.
            counter, _created = CaseNumberCounter.objects.get_or_create(region=region, year=year)
            if counter.last_serial < serials[region.pk]:
                counter.last_serial = serials[region.pk]
                counter.save(update_fields=["last_serial"])
        if self.writer.postgres:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT MAX(id) FROM cases_case))",
                    [Case._meta.db_table],
                )
                cursor.execute(f"ANALYZE {Case._meta.db_table}")
                cursor.execute(f"ANALYZE {LedgerEntry._meta.db_table}")
                cursor.execute(f"ANALYZE {LedgerVerdict._meta.db_table}")
                cursor.execute(f"ANALYZE {LedgerHead._meta.db_table}")
        notices = self._notices(regions, year, last_day)
        self.stdout.write(
            self.style.SUCCESS(
                f"done: {written} cases, {entries_written} ledger entries, {notices} notices "
                f"in {time.monotonic() - started:.1f} s"
            )
        )

    # -- reference -----------------------------------------------------------------------------

    def _departments(self, regions):
        result = {}
        for region in regions:
            existing = list(Department.objects.filter(region=region, active=True))
            # A department for every topic of the vocabulary (scoring/load_vocabulary.py).
            if not {f"{region.name}{name}" for name in DEPARTMENT_NAMES} <= {d.name for d in existing}:
                for name in DEPARTMENT_NAMES:
                    Department.objects.get_or_create(region=region, name=f"{region.name}{name}")
                existing = list(Department.objects.filter(region=region, active=True))
            result[region.pk] = existing
        return result

    def _enterprises(self, regions, count):
        sizes = [s for s, _label in Enterprise.Size.choices]
        pool = []
        for i in range(count):
            region = regions[i % len(regions)]
            code = make_credit_code(i + 1, region.code)
            pool.append(
                Enterprise(
                    name=f"{region.name}合成企业{i + 1:06d}有限公司", credit_code=code, size=self.rng.choice(sizes)
                )
            )
        for start in range(0, len(pool), 5000):
            Enterprise.objects.bulk_create(pool[start : start + 5000], ignore_conflicts=True)
        ids = []
        codes = [e.credit_code for e in pool]
        for start in range(0, len(codes), 5000):
            ids += list(
                Enterprise.objects.filter(credit_code__in=codes[start : start + 5000]).values_list(
                    "id", "name", "credit_code", "size"
                )
            )
        self.enterprise_of = {pk: (name, code) for pk, name, code, _size in ids}
        return ids

    # -- one case --------------------------------------------------------------------------------

    def _moment(self, day: dt.date, hour_from=8, hour_to=18) -> dt.datetime:
        seconds = self.rng.randrange(hour_from * 3600, hour_to * 3600)
        return dt.datetime.combine(day, dt.time(), tzinfo=self.zone) + dt.timedelta(
            seconds=seconds, microseconds=self.rng.randrange(1_000_000)
        )

    def _later(self, moment: dt.datetime, hours_min: float, hours_max: float) -> dt.datetime:
        return moment + dt.timedelta(seconds=int(self.rng.uniform(hours_min, hours_max) * 3600))

    def _case(self, pk, region, year, serial, enterprises):
        rng = self.rng
        number = f"{region.code}-{year}-{serial:05d}"
        enterprise_id, enterprise_name, code, size = rng.choice(enterprises)
        # A problem of one topic, in its words, filed mostly under the topic's category.
        topic = rng.choice(TOPICS)
        category = self.category_of[topic.category] if rng.random() < 0.9 else rng.choice(self.categories)
        channel = rng.choice(self.channels)
        received = self._moment(rng.choice(self.days))
        if received > self.now:  # today's cases are received before now, never in the future
            received = self.now - dt.timedelta(seconds=rng.randrange(60, 8 * 3600))
        is_complex = rng.random() < 0.1
        due = self.calendar.add_working_days(
            received.astimezone(self.zone).date(), category.deadline_for(complex=is_complex)
        )
        description = describe(topic, rng, enterprise_name)
        events: list[Event] = [
            (
                "create",
                "",
                "received",
                received,
                due.date,
                {
                    "enterprise": enterprise_name,
                    "credit_code": code,
                    "size": size,
                    "category": category.code,
                    "channel": channel.code,
                    "description": description,
                    "contact_name": "联系人",
                    "contact_phone": "13800000000",
                    "received_at": received.isoformat(),
                    "deadline_days": category.deadline_for(complex=False),
                    "ref": None,
                },
            )
        ]
        # Routed to the topic's department, or now and then to another one, which mostly returns it.
        right = self.department_named.get(f"{region.name}{topic.department}") or rng.choice(self.departments[region.pk])
        misrouted = rng.random() < 0.08
        department = rng.choice(self.departments[region.pk]) if misrouted else right
        returned = misrouted and department != right and rng.random() < 0.6
        roll = rng.random()
        at = received
        if roll >= 0.03:
            at = self._later(received, 0.5, 20)
            events.append(
                (
                    "assign",
                    "received",
                    "assigned",
                    at,
                    due.date if is_complex else None,
                    {"department": department.pk, "department_name": department.name, "complex": is_complex},
                )
            )
            if returned:  # returned as mis-routed, and left with the office
                at = self._later(at, 1, 30)
                events.append(
                    (
                        "return",
                        "assigned",
                        "received",
                        at,
                        None,
                        {
                            "reason": "不属于本单位职责",
                            "department": department.pk,
                            "department_name": department.name,
                            "suggested_department": "",
                        },
                    )
                )
            else:
                if rng.random() < 0.9:
                    at = self._later(at, 0.5, 8)
                    events.append(("acknowledge", "assigned", "assigned", at, None, {"department": department.pk}))
                due_date = due.date
                if rng.random() < 0.06:  # an extension, asked before the due date and approved
                    days = rng.randint(3, 10)
                    ask = max(at, dt.datetime.combine(due_date, dt.time(9), tzinfo=self.zone) - dt.timedelta(days=1))
                    ask = self._later(ask, 0, 2)
                    events.append(
                        (
                            "request_extension",
                            "assigned",
                            "assigned",
                            ask,
                            None,
                            {
                                "request": None,
                                "reason": "需协调上级部门",
                                "days": days,
                                "due_date": due_date.isoformat(),
                            },
                        )
                    )
                    new_due = self.calendar.add_working_days(due_date, days).date
                    at = self._later(ask, 1, 20)
                    events.append(
                        (
                            "approve_extension",
                            "assigned",
                            "assigned",
                            at,
                            new_due,
                            {
                                "request": None,
                                "days": days,
                                "reason": "需协调上级部门",
                                "note": "",
                                "due_date_before": due_date.isoformat(),
                                "due_date": new_due.isoformat(),
                            },
                        )
                    )
                    due_date = new_due
                for round_ in range(2):
                    outcome = rng.random()
                    if outcome < 0.08 and round_ == 0 or outcome < 0.2 and round_ == 1:
                        break  # still open
                    deadline = dt.datetime.combine(due_date, dt.time(17), tzinfo=self.zone)
                    if rng.random() < 0.9 and deadline > at:
                        close = at + (deadline - at) * rng.random()
                    else:
                        close = self._later(max(at, deadline), 16, 240)
                    explained = rng.random() < 0.13
                    evidence = [] if rng.random() < 0.02 else [{"reference": f"办结材料-{number}-{round_ + 1}.pdf"}]
                    if explained:
                        events.append(
                            (
                                "explain",
                                "assigned",
                                "explained",
                                close,
                                None,
                                {
                                    "result": "经核实不属于政策支持范围，已向企业解释答复",
                                    "policy_basis": "相关政策文件",
                                    "redirect_to": "市场监督管理局",
                                    "evidence": evidence,
                                },
                            )
                        )
                    else:
                        events.append(
                            (
                                "resolve",
                                "assigned",
                                "resolved",
                                close,
                                None,
                                {"result": "问题已协调解决", "evidence": evidence},
                            )
                        )
                    at = close
                    if round_ == 1 or rng.random() >= 0.04:
                        break
                    at = self._later(at, 24, 120)  # the enterprise is not satisfied: reopened
                    events.append(
                        (
                            "reopen",
                            events[-1][2],
                            "assigned",
                            at,
                            None,
                            {"reason": "企业不满意", "department": department.pk},
                        )
                    )
        events = [e for e in events if e[3] <= self.now]
        return self._rows(
            pk,
            region,
            year,
            serial,
            number,
            enterprise_id,
            category,
            channel,
            description,
            received,
            is_complex,
            due,
            events,
        )

    def _rows(
        self,
        pk,
        region,
        year,
        serial,
        number,
        enterprise_id,
        category,
        channel,
        description,
        received,
        is_complex,
        due,
        events,
    ):
        """The case row, its chain (linked and hashed by the ledger), the ledger's replay of it, and
        the routing history. The row's state, department and due date are the replay's; the rest
        of the row (times of routing, acknowledging and closing, counters, result) is the case's own."""
        chain: list[LedgerEntry] = []
        for action, from_state, to_state, at, entry_due, payload in events:
            entry = LedgerEntry(
                case_id=pk,
                action=action,
                from_state=from_state,
                to_state=to_state,
                actor_name=ACTOR,
                occurred_at=at,
                recorded_at=at,
                source=Source.SYSTEM,
                due_date=entry_due,
                payload=payload,
            )
            chain.append(link(number, entry, chain[-1] if chain else None))
        facts = replay(chain)
        assignments = []
        assigned_at, acknowledged_at, closed_at = None, None, None
        first_assigned_at = next((at for action, _f, _t, at, _d, _p in events if action == "assign"), None)
        extension_days, reopen_count, result, policy_basis, redirect_to = 0, 0, "", "", ""
        for action, _from, _to, at, _due, payload in events:
            if action == "assign":
                assigned_at, acknowledged_at = at, None
                assignments.append((pk, payload["department"], at))
            elif action == "return":
                assigned_at, acknowledged_at = None, None
            elif action == "acknowledge":
                acknowledged_at = at
            elif action == "approve_extension":
                extension_days += payload["days"]
            elif action in ("resolve", "explain"):
                closed_at, result = at, payload["result"]
                policy_basis = payload.get("policy_basis", "")
                redirect_to = payload.get("redirect_to", "")
            elif action == "reopen":
                closed_at, reopen_count, acknowledged_at = None, reopen_count + 1, None
                assignments.append((pk, payload["department"], at))
        case = {
            "id": pk,
            "region_id": region.pk,
            "year": year,
            "serial": serial,
            "number": number,
            "ref": None,
            "enterprise_id": enterprise_id,
            "contact_name": "联系人",
            "contact_phone": "13800000000",
            "category_id": category.pk,
            "channel_id": channel.pk,
            "description": description,
            "received_at": received,
            "state": facts.state,
            "department_id": facts.department,
            "complex": is_complex,
            "assigned_at": assigned_at,
            "first_assigned_at": first_assigned_at,
            "acknowledged_at": acknowledged_at,
            "due_date": facts.head["due_date"],
            "due_date_provisional": due.provisional,
            "calendar_version": due.calendar_version,
            "extension_days": extension_days,
            "supervised": False,
            "result": result,
            "policy_basis": policy_basis,
            "redirect_to": redirect_to,
            "closed_at": closed_at,
            "reopen_count": reopen_count,
            "satisfaction": "",
            "created_by_id": None,
            "created_at": received,
            "updated_at": events[-1][3],
        }
        return case, chain, facts, assignments

    def _head_and_verdict(self, case: dict, chain: list[LedgerEntry], facts: Replay) -> tuple[tuple, list[tuple]]:
        """The case's ledger head, the ledger's replay of its entries (``facts``) as
        ``ledger.services.append`` keeps it (with the ledger's own ``lacks`` verdict on the whole
        chain), and — for a chain that goes on past the default (or the assessment's) cutoff —
        item 13's verdict on the chain as of the cutoff, as ``scoring.item13.judge`` would store it.
        A benchmark then scores with verdicts as ledger appends and the ``judge_ledgers`` task
        leave them in production."""
        head = {"case_id": case["id"], **facts.head}
        problems = check_chain(case["number"], chain)[0]
        missing = lacks(case["number"], chain, chain_problems=problems)
        head_row = (
            *(head.get(name) for name in HEAD_FIELDS),
            not missing,
            missing,
            chain[-1].seq,
            chain[-1].hash,
            chain[-1].recorded_at,
            not problems,
            stages_of(chain),  # as append leaves it: the case's next append reads the head, not the chain
        )
        prefix = [e for e in chain if e.occurred_at < self.scope_end]
        if case["received_at"] >= self.scope_end or not prefix or len(prefix) == len(chain):
            return head_row, []
        missing = lacks(case["number"], prefix)
        return head_row, [(case["id"], prefix[-1].seq, prefix[-1].hash, missing, not missing)]

    def _write_cases(self, case_dicts):
        columns = [f.column for f in Case._meta.concrete_fields]
        attnames = [f.attname for f in Case._meta.concrete_fields]
        defaults = {f.attname: f.get_default() for f in Case._meta.concrete_fields}
        rows = [tuple(c.get(a, defaults[a]) for a in attnames) for c in case_dicts]
        self.writer.write(Case._meta.db_table, columns, rows)

    # -- notices --------------------------------------------------------------------------------

    def _notices(self, regions, year, last_day) -> int:
        created = 0
        for region in regions:
            schedule, made = NoticeSchedule.objects.get_or_create(
                region=region, defaults={"frequency": Frequency.MONTHLY}
            )
            if made:
                Recipient.objects.bulk_create(
                    Recipient(schedule=schedule, group=g, name=f"{region.name}{g}") for g in ALL_GROUPS
                )
            notices = []
            for month in range(1, 13):
                start = dt.date(year, month, 1)
                end = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
                issue_on = end + dt.timedelta(days=self.rng.randint(1, 12))
                if issue_on > last_day or self.rng.random() < 0.08:
                    continue
                if Notice.objects.filter(region=region, period=f"{year}-{month:02d}").exists():
                    continue
                notices.append(
                    Notice(
                        region=region,
                        period=f"{year}-{month:02d}",
                        frequency=Frequency.MONTHLY,
                        period_start=start,
                        period_end=end,
                        status=Status.ISSUED,
                        title=f"{region.name}{year}年{month}月企业问题办理情况通报",
                        issued_on=issue_on,
                        issued_at=dt.datetime.combine(issue_on, dt.time(10), tzinfo=self.zone),
                        groups=list(ALL_GROUPS),
                        drafted_at=dt.datetime.combine(issue_on, dt.time(9), tzinfo=self.zone),
                    )
                )
            Notice.objects.bulk_create(notices)
            created += len(notices)
        return created


ENTRY_COLUMNS = [
    "case_id",
    "seq",
    "action",
    "from_state",
    "to_state",
    "actor_id",
    "actor_name",
    "occurred_at",
    "recorded_at",
    "source",
    "due_date",
    "payload",
    "prev_hash",
    "hash",
]
ENTRY_FIELDS = ["case_id", *ENTRY_COLUMNS[1:]]
VERDICT_COLUMNS = ["case_id", "through_seq", "last_hash", "missing", "complete"]

"""Routing-suggestion benchmark: prints figures, asserts nothing (not collected by pytest).

A generated year (``generate_load``: descriptions from scoring/load_vocabulary.py, each topic
routed to its department, some mis-routed and returned):
    DATABASE_URL=sqlite:////tmp/bench_routing.sqlite3 .venv/bin/python tests/benchmarks/bench_routing.py --cases 50000
PostgreSQL, a copy of the 1,000,000-case template (used as loaded):
    createdb -h 127.0.0.1 -U postgres -T tpl_1m bench_routing_1m
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_routing_1m .venv/bin/python tests/benchmarks/bench_routing.py --sample 300
The demo data (``seed_demo``: cases/demo.py's descriptions, routed through the services):
    DATABASE_URL=sqlite:////tmp/bench_routing_demo.sqlite3 .venv/bin/python tests/benchmarks/bench_routing.py --demo

The cases received in the last two months are the test set; the suggestions are asked as of the
first moment of those two months, so they learn only from the months before (a case closed or
returned later does not count either). A test case's right answer is the department that closed
it (routed first time or after a 退单). Printed: top-1 and top-3 accuracy, the same for the
baseline "the category's most frequent department in the county", and suggestion p50/p95 —
for the query path over the history (``--path history``, the suggestion before the kept model) and
for the kept model rebuilt as of the cutoff (``--path model``; the default ``both`` runs the two) —
first with the caches empty (each region's word shares and category counts read once), then again
with them filled, as a running server has them. ``--writes N`` then times what keeping the model
adds to a case write (it adds 4N cases to the database).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def load(args) -> None:
    from django.core.management import call_command

    from cases.models import Case

    call_command("migrate", verbosity=0)
    if Case.objects.exists():
        return
    started = time.monotonic()
    if args.demo:
        call_command("seed_demo", stdout=open(os.devnull, "w"))
    else:
        call_command("generate_load", cases=args.cases, year=args.year, seed=11, stdout=open(os.devnull, "w"))
    print(f"loaded {Case.objects.count()} cases in {time.monotonic() - started:.0f} s")


def evaluate(sample: int, year: int | None, paths: list[str]) -> None:
    from django.db import connection
    from django.db.models import Count, Max

    from cases.models import CLOSED_STATES, Case, local_date, local_midnight
    from cases.routing_suggestions import _from_history, suggest
    from cases.search.models import RoutingModelRegion, RoutingWeight
    from cases.search.routing_model import rebuild

    if year:  # a generated year: November and December
        first_test_month, end = dt.date(year, 11, 1), local_midnight(dt.date(year + 1, 1, 1))
    else:  # the demo: the month of the last receipt and the one before
        last = Case.objects.aggregate(m=Max("received_at"))["m"]
        first_test_month = (local_date(last).replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        end = last + dt.timedelta(seconds=1)
    cutoff = local_midnight(first_test_month)
    tests = list(
        Case.objects.filter(
            received_at__gte=cutoff, received_at__lt=end, state__in=CLOSED_STATES, department__isnull=False
        )
        .select_related("region", "category", "department")
        .order_by("pk")
    )
    random.Random(5).shuffle(tests)
    tests = tests[:sample]
    training = Case.objects.filter(received_at__lt=cutoff).count()
    # Baseline: the category's most frequent closing department in the county before the cutoff.
    usual: dict[tuple[int, int], list[int]] = {}
    rows = (
        Case.objects.filter(received_at__lt=cutoff, state__in=CLOSED_STATES, department__isnull=False)
        .values_list("region_id", "category_id", "department_id")
        .annotate(n=Count("id"))
        .order_by("-n")
    )
    for region_id, category_id, department_id, _n in rows:
        usual.setdefault((region_id, category_id), []).append(department_id)

    n = len(tests) or 1
    print(
        f"trained on {training} cases received before {first_test_month}; tested on {len(tests)} closed cases "
        f"received from then on"
    )
    base1 = base3 = 0
    for case in tests:
        baseline = usual.get((case.region_id, case.category_id), [])
        base1 += baseline[:1] == [case.department_id]
        base3 += case.department_id in baseline[:3]
    print(f"baseline (the category's usual department): top-1 {base1 / n:.1%}, top-3 {base3 / n:.1%}")

    def history(**kwargs):
        return _from_history(exclude_departments=(), exclude_case=None, visible_cases=None, limit=3, **kwargs)

    for path in paths:
        if path == "model":
            # The kept model as of the cutoff: what a server would hold on that day.
            started = time.monotonic()
            learned = rebuild(as_of=cutoff)
            rows = RoutingWeight.objects.count()
            print(
                f"[model] rebuilt as of {first_test_month} from {learned} cases in {time.monotonic() - started:.1f} s "
                f"({rows} term × department rows)"
            )
            ask = suggest
        else:
            ask = history
        measure(path, ask, tests, cutoff, n)
        if path == "model":
            queries = count_queries(connection, ask, tests[:20], cutoff)
            ready = RoutingModelRegion.objects.filter(ready=True).count()
            print(f"[model] queries per suggestion (caches filled): {queries}; regions built: {ready}")


def count_queries(connection, ask, tests, cutoff) -> str:
    from django.test.utils import CaptureQueriesContext

    counts = []
    for case in tests:
        with CaptureQueriesContext(connection) as captured:
            ask(region=case.region, description=case.description, category=case.category, now=cutoff)
        counts.append(len(captured.captured_queries))
    return f"min {min(counts, default=0)}, max {max(counts, default=0)}"


def measure(path: str, ask, tests, cutoff, n: int) -> None:
    top1 = top3 = empty = 0
    timings: list[float] = []
    for case in tests:
        started = time.perf_counter()
        suggestions = ask(region=case.region, description=case.description, category=case.category, now=cutoff)
        timings.append((time.perf_counter() - started) * 1000)
        ids = [s.department.pk for s in suggestions]
        top1 += ids[:1] == [case.department_id]
        top3 += case.department_id in ids[:3]
        empty += not ids
    print(f"[{path}] suggestions: top-1 {top1 / n:.1%}, top-3 {top3 / n:.1%} (none offered: {empty})")
    print(
        f"[{path}] a suggestion, caches empty at first: p50 {percentile(timings, 0.5):.1f} ms, "
        f"p95 {percentile(timings, 0.95):.1f} ms, max {max(timings, default=0):.1f} ms"
    )
    warm: list[float] = []
    for case in tests:
        started = time.perf_counter()
        ask(region=case.region, description=case.description, category=case.category, now=cutoff)
        warm.append((time.perf_counter() - started) * 1000)
    print(
        f"[{path}] a suggestion, caches filled: p50 {percentile(warm, 0.5):.1f} ms, "
        f"p95 {percentile(warm, 0.95):.1f} ms, max {max(warm, default=0):.1f} ms; load average {os.getloadavg()}"
    )


def time_writes(n: int) -> None:
    """What keeping the model adds to a case write: n cases created, routed and resolved through
    the services with the model's receivers connected and disconnected, interleaved twice."""
    from django.db.models.signals import post_init, post_save

    from cases.search import routing_model
    from tests.benchmarks.write_cost import time_case_writes

    receivers = [
        (post_init, routing_model._remember, "case_routing_model_loaded"),
        (post_save, routing_model.case_saved, "case_routing_model_saved"),
    ]
    with_model, without = time_case_writes(n, receivers, prefix="bench_routing")
    print(
        f"a case written (create + assign + resolve, 3 transactions), median of {2 * n}: "
        f"{with_model:.1f} ms keeping the routing model, {without:.1f} ms without: "
        f"+{(with_model / without - 1) * 100:.1f} %; load average {os.getloadavg()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--demo", action="store_true", help="the demo data (seed_demo) instead of a generated year")
    parser.add_argument("--sample", type=int, default=1000, help="test cases asked about")
    parser.add_argument(
        "--path",
        choices=["both", "history", "model"],
        default="both",
        help="the query path over the history (before), the kept model rebuilt as of the cutoff (after), or both",
    )
    parser.add_argument(
        "--writes", type=int, default=0, help="cases written to time keeping the model (adds cases; 0: none)"
    )
    args = parser.parse_args()
    import django

    django.setup()
    from django.conf import settings

    settings.MEDIA_ROOT = "/tmp/bench_routing_media"
    load(args)
    from django.db import connection

    print(connection.vendor)
    evaluate(
        args.sample, None if args.demo else args.year, ["history", "model"] if args.path == "both" else [args.path]
    )
    if args.writes:
        time_writes(args.writes)


if __name__ == "__main__":
    main()

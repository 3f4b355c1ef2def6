"""Two (or more) people acting on one case at once: exactly one wins; the rest are told it changed."""

import threading

import pytest
from django.db import close_old_connections

from cases import services
from cases.errors import WrongState
from cases.models import Case, State
from ledger.models import LedgerEntry
from tests.conftest import pdf_file

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 20
THREADS = 4


def _race(actions):
    """Run each callable in its own thread, released together; what happened to each."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(action):
        try:
            barrier.wait(timeout=10)
            action()
            result = "won"
        except WrongState:
            result = "refused"
        except Exception as error:  # noqa: BLE001 - any other outcome fails the test below
            result = f"error: {error!r}"
        finally:
            close_old_connections()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_concurrent_resolves_leave_one_winner_and_one_entry_each_round(make_case, county_a, dept_x, dept_x_user):
    for _ in range(ROUNDS):
        case = services.assign(make_case(), by=county_a, department=dept_x)
        outcomes = _race(
            [lambda case=case: services.resolve(case, by=dept_x_user, result="已解决", evidence=[pdf_file()])] * THREADS
        )
        assert sorted(outcomes) == ["refused"] * (THREADS - 1) + ["won"], outcomes
        assert Case.objects.get(pk=case.pk).state == State.RESOLVED
        assert LedgerEntry.objects.filter(case=case, action="resolve").count() == 1


def test_resolve_racing_return_has_one_winner(make_case, county_a, dept_x, dept_x_user):
    for _ in range(5):
        case = services.assign(make_case(), by=county_a, department=dept_x)
        outcomes = _race(
            [
                lambda case=case: services.resolve(case, by=dept_x_user, result="已解决", evidence=[pdf_file()]),
                lambda case=case: services.return_case(case, by=dept_x_user, reason="不属本单位职责"),
            ]
        )
        assert sorted(outcomes) == ["refused", "won"], outcomes
        assert LedgerEntry.objects.filter(case=case).count() == 3


def test_concurrent_intake_gives_distinct_numbers(county_a, region_a, category, channel):
    def create():
        services.create_case(
            by=county_a,
            region=region_a,
            enterprise_name="并发企业",
            credit_code_value="914115683BJ1XG612H",
            category=category,
            channel=channel,
            description="并发受理",
        )

    outcomes = _race([create] * 6)
    assert outcomes == ["won"] * 6
    numbers = list(Case.objects.values_list("number", flat=True))
    assert len(set(numbers)) == 6

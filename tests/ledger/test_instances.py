"""``ledger.instances.unsaved`` builds the instance ``Model(...)`` builds, without ``__init__``."""

import datetime as dt

import pytest
from django.db.models.signals import post_init

from ledger.instances import unsaved
from ledger.models import LedgerEntry, LedgerHead

pytestmark = pytest.mark.django_db

MOMENT = dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def _entry_values(case, actor):
    related = {"case": case, "actor": actor}
    values = dict(
        action="create", to_state="received", actor_name="x", occurred_at=MOMENT, recorded_at=MOMENT, source="import"
    )
    return related, values


def test_the_same_fields_cached_objects_and_state_as_the_constructor(make_case, county_a):
    case = make_case()
    related, values = _entry_values(case, county_a)
    built = unsaved(LedgerEntry, dict(related), **values)
    made = LedgerEntry(**related, **values)
    assert _fields(built) == _fields(made)
    assert built.payload == {} and built.payload is not made.payload  # a default made afresh, as by the field
    assert built.prev_hash == "" and built.seq is None and built.pk is None
    assert built._state.adding and (built._state.db, made._state.db) == ("default", "default")
    assert built._state.fields_cache == made._state.fields_cache
    assert built.case is case and built.actor is county_a


def test_a_missing_related_object_and_a_one_to_one_cached_both_ways(make_case):
    case = make_case()
    related, values = _entry_values(case, None)
    built = unsaved(LedgerEntry, related, **values)
    assert built.actor_id is None and built.actor is None
    head = unsaved(LedgerHead, {"case": case}, seq=1, last_at=MOMENT)
    assert head.case_id == case.pk and head.case is case
    assert case._state.fields_cache["ledger_head"] is head  # as LedgerHead(case=case) leaves it


def test_an_unknown_field_is_an_error(make_case):
    case = make_case()
    with pytest.raises(TypeError, match="no_such"):
        unsaved(LedgerEntry, {"case": case}, no_such=1)
    with pytest.raises(TypeError, match="nothing"):
        unsaved(LedgerEntry, {"nothing": case})


def test_a_model_with_an_init_listener_is_built_by_its_constructor(make_case):
    case = make_case()
    seen = []

    def listener(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(listener, sender=LedgerEntry)
    try:
        related, values = _entry_values(case, None)
        built = unsaved(LedgerEntry, related, **values)
    finally:
        post_init.disconnect(listener, sender=LedgerEntry)
    assert seen == [built]


def test_saved_as_a_constructed_entry_is(make_case):
    from ledger.services import next_entry

    case = make_case()
    last = LedgerEntry.objects.filter(case=case).order_by("-seq").first()
    entry = next_entry(
        case, last, action="note", actor=None, occurred_at=MOMENT, recorded_at=MOMENT, source="web", payload={"a": 1}
    )
    assert entry.hash == entry.expected_hash(case.number)
    entry.save(force_insert=True)
    stored = LedgerEntry.objects.get(pk=entry.pk)
    assert _fields(stored) == _fields(entry)

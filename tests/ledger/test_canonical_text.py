"""What every hash on record covers must not change: ``canonical_json`` and ``_utc_iso`` give the
text their first definitions gave (``json.dumps`` with sorted keys, ``strftime``), for any value."""

import datetime as dt
import json
import random
import zoneinfo

import pytest

from ledger import credit_code, models
from ledger.completeness import _Stages


def _as_first_defined(fields) -> str:
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _value(rng: random.Random, depth: int = 0):
    kinds = ["text", "int", "float", "none", "bool"] + (["list", "dict"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "text":
        alphabet = 'ab "\\/\n\t\x00\x1f\u2028\ud7ff中文・，“”😀é'
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
    if kind == "int":
        return rng.choice([0, -1, 2**63, -(2**70), rng.randrange(-(10**9), 10**9)])
    if kind == "float":
        return rng.choice([0.0, -0.0, 0.1, 1e300, 1.5e-300, rng.random() * 1e6, float("inf"), float("nan")])
    if kind == "none":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "list":
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {str(_value(rng, 3)): _value(rng, depth + 1) for _ in range(rng.randrange(5))}


def test_canonical_json_is_json_dumps_with_sorted_keys_for_any_value():
    rng = random.Random(2026)
    for _ in range(3000):
        fields = {"case": "411502-2026-00001", "seq": rng.randrange(1, 99), "payload": _value(rng)}
        assert models.canonical_json(fields) == _as_first_defined(fields)


def test_canonical_json_refuses_what_json_dumps_refuses():
    for bad in ({"when": dt.date(2026, 1, 1)}, {"set": {1}}, {1: object()}):
        with pytest.raises(TypeError):
            _as_first_defined(bad)
        with pytest.raises(TypeError):
            models.canonical_json(bad)


def test_utc_iso_is_the_strftime_text_for_any_moment_and_zone():
    rng = random.Random(7)
    zones = [dt.UTC, zoneinfo.ZoneInfo("Asia/Shanghai"), dt.timezone(dt.timedelta(hours=-9, minutes=-30))]
    for _ in range(3000):
        moment = dt.datetime(1000, 1, 2, tzinfo=dt.UTC) + dt.timedelta(
            seconds=rng.randrange(0, 10**11), microseconds=rng.choice([0, 1, 999_999, rng.randrange(10**6)])
        )
        moment = moment.astimezone(rng.choice(zones))
        assert models._utc_iso(moment) == moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    early = dt.datetime(999, 12, 31, 23, 0, tzinfo=dt.UTC)
    assert models._utc_iso(early) == early.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_the_stages_dump_is_asdict_with_its_list_copied():
    stages = _Stages(seen=3, state="resolved", create=["credit_code"], routed=True, evidence=2)
    dumped = stages.dump()
    assert dumped == {"v": 1, **{name: getattr(stages, name) for name in stages.__dataclass_fields__}}
    assert dumped["create"] is not stages.create
    assert _Stages.load(dumped) == stages and _Stages().dump()["create"] is None


def test_the_check_character_as_first_defined():
    rng = random.Random(11)
    for _ in range(2000):
        first17 = "".join(rng.choice(credit_code.ALPHABET) for _ in range(17))
        total = sum(credit_code._VALUE[ch] * w for ch, w in zip(first17, credit_code.WEIGHTS, strict=True))
        assert credit_code.check_character(first17) == credit_code.ALPHABET[(31 - total % 31) % 31]
    with pytest.raises(ValueError):
        credit_code.check_character("12345")

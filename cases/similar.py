"""Similar cases (重复件): the same enterprise's recent cases whose text is close (SPEC §8).

A case is similar to another when both come from the same enterprise (the same unified social
credit code), the other was received in the 365 days before it, and their descriptions share
enough of their wording. Wording is compared as sets of two-character fragments (character
bigrams — Chinese has no spaces, and two characters are the shortest unit that carries a word's
meaning), after dropping punctuation, spaces and the fragments every complaint uses (企业, 问题,
反映 …). The score is the Dice coefficient ``2·|A∩B| / (|A| + |B|)``: 1 for the same wording, 0
for none shared; two descriptions are close from ``THRESHOLD`` on, sharing at least ``MIN_SHARED``
fragments (or all of the shorter one's). The same category alone never
makes two cases similar: the category is not part of the comparison.

Only the cases the user may see are ever compared (``Case.objects.for_user``), so a county is
never told of another county's case of a shared enterprise.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from .models import Case, Enterprise

WINDOW = dt.timedelta(days=365)
THRESHOLD = 0.4
MIN_SHARED = 3
LIMIT = 10  # similar cases listed at most, the closest first

# Fragments nearly every complaint contains: they say nothing about what the problem is.
COMMON_BIGRAMS = frozenset(
    {
        "企业",
        "问题",
        "反映",
        "希望",
        "请求",
        "要求",
        "解决",
        "协调",
        "帮助",
        "我司",
        "公司",
        "有限",
        "情况",
        "相关",
        "部门",
        "目前",
        "存在",
        "需要",
        "进行",
        "尽快",
        "能够",
        "一个",
    }
)
_NOT_TEXT = re.compile(r"[\W_]+", re.UNICODE)


def bigrams(text: str) -> frozenset[str]:
    """The text's two-character fragments, punctuation and spacing removed (a one-character text
    is its own fragment); letters are compared without case."""
    clean = _NOT_TEXT.sub("", unicodedata.normalize("NFKC", text or "")).lower()
    if len(clean) == 1:
        return frozenset({clean})
    return frozenset(clean[i : i + 2] for i in range(len(clean) - 1)) - COMMON_BIGRAMS


def closeness(a: frozenset[str], b: frozenset[str]) -> float:
    """Dice coefficient of two fragment sets; 0 when either is empty or they share fewer than
    ``MIN_SHARED`` fragments (and not all of the shorter set)."""
    if not a or not b:
        return 0.0
    shared = len(a & b)
    if shared < min(MIN_SHARED, len(a), len(b)):
        return 0.0
    return 2 * shared / (len(a) + len(b))


@dataclass(frozen=True)
class Similar:
    pk: int
    number: str
    state: str
    received_at: dt.datetime
    score: float

    def as_json(self) -> dict:
        return {"number": self.number, "state": self.state, "received_at": self.received_at}


def _rank(description: str, candidates: Iterable[tuple[int, str, str, dt.datetime, str]]) -> list[Similar]:
    mine = bigrams(description)
    found = []
    for pk, number, state, received_at, text in candidates:
        score = closeness(mine, bigrams(text))
        if score >= THRESHOLD:
            found.append(Similar(pk, number, state, received_at, round(score, 4)))
    found.sort(key=lambda s: (-s.score, -s.received_at.timestamp(), s.number))
    return found[:LIMIT]


def window_start(moment: dt.datetime) -> dt.datetime:
    """365 days before ``moment`` (the earliest instant there is, for a moment too early to have one)."""
    try:
        return moment - WINDOW
    except OverflowError:
        return dt.datetime.min.replace(tzinfo=dt.UTC)


_COLUMNS = ("pk", "number", "state", "received_at", "description")


def similar_to_text(
    user, *, credit_code: str, description: str, now: dt.datetime | None = None, exclude_pk: int | None = None
) -> list[Similar]:
    """Before a case is saved: the enterprise's cases of the last 365 days (as the user sees
    them) whose description is close to ``description``. One query."""
    now = now or timezone.now()
    enterprise = Enterprise.objects.filter(credit_code=credit_code).values_list("pk", flat=True).first()
    if enterprise is None or not bigrams(description):
        return []
    rows = (
        Case.objects.for_user(user)
        .filter(enterprise_id=enterprise, received_at__gte=window_start(now), received_at__lte=now)
        .exclude(pk=exclude_pk)
        .values_list(*_COLUMNS)
    )
    return _rank(description, rows)


def similar_for_cases(user, cases: list[Case]) -> dict[int, list[Similar]]:
    """{case pk: its similar cases} for many cases in one query: for each, the same enterprise's
    cases the user may see received in the 365 days before it."""
    if not cases:
        return {}
    by_enterprise: dict[int, list[tuple]] = defaultdict(list)
    earliest = window_start(min(c.received_at for c in cases))
    latest = max(c.received_at for c in cases)
    rows = (
        Case.objects.for_user(user)
        .filter(enterprise_id__in={c.enterprise_id for c in cases}, received_at__gte=earliest, received_at__lte=latest)
        .values_list("enterprise_id", *_COLUMNS)
    )
    for enterprise_id, *row in rows:
        by_enterprise[enterprise_id].append(tuple(row))
    result = {}
    for case in cases:
        candidates = [
            row
            for row in by_enterprise[case.enterprise_id]
            if row[0] != case.pk and window_start(case.received_at) <= row[3] <= case.received_at
        ]
        result[case.pk] = _rank(case.description, candidates)
    return result

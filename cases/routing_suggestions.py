"""Which department should take a new case: learned from the region's own history (SPEC §8).

For a new text, the region's cases of the last two years with the most similar words (the search
index's own ranking: ts_rank / bm25 over the words of the text, any of them, among the region's
``CANDIDATES`` newest cases holding one; words most of the region's cases hold are left out) vote for the
department that handled them, each vote weighted by how similar the case is and how recent
(half-life ``HALF_LIFE_DAYS``):

- closed on time by the department: +1 (an explanation reply +0.6: it often says "not ours");
- closed late: half of that; still with the department, not yet closed: +0.3;
- returned by the department (退单): −1 — the department said the text was not its remit.

Only active departments that may take the region's cases are suggested (its own and the
city's, so the city's departments step in where a county has none). When the text finds fewer
than three, the category's usual departments in the region — or, for a region without history,
city-wide among the departments that serve it — add a small share and fill the list. Scores are
shares of the suggestions' total, best first. Everything is read as of ``now``: a case received,
closed or returned later does not count (the benchmark trains on a year's first ten months).

Two paths give those answers. The usual one reads the region's kept model
(``cases.search.routing_model``: per term of the text and department, the summed votes of the
cases holding the term, kept in the transaction of every case write): each department scores
the sum over the text's telling terms of its weight divided by the number of the region's cases
holding the term, in four queries whatever the history's size (the reason's counts and the
similar cases come from the department's best term's row). The query path below — the region's
most similar cases vote — answers for a region whose model is not built yet (a database that had
cases before migration case_search 0003, until ``manage.py rebuild_routing_model``) and for a
question about a moment before the model's ``as_of``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Count
from django.utils.translation import gettext as _

from ledger.models import LedgerEntry

from .models import CLOSED_STATES, Case, Category, Department, Region, State, local_date
from .search.models import RoutingModelRegion, RoutingTerm, RoutingWeight
from .search.query import matching, ranked, word_shares
from .search.routing_model import (
    EXPLAINED_FACTOR,
    HALF_LIFE_DAYS,
    HISTORY_DAYS,
    LATE_FACTOR,
    ON_TIME,
    OPEN_WEIGHT,
    RETURN_WEIGHT,
    case_terms,
    months_since,
    scale,
    telling,
)
from .search.segment import document_words

SIMILAR_CASES = 40  # the most similar cases that vote
CANDIDATES = 1000  # the newest cases sharing a word with the text, of which the most similar vote
# The first window of case ids looked in (cases.search.query.ranked): one county's share of the
# city's newest 150,000 cases usually holds a thousand sharing a word, so one probe mostly does.
FIRST_WINDOW = 150_000
# A word in more than one in twenty of the region's newest cases (its own name, the enterprises'
# usual name parts, 新建 …) is left out: it tells departments apart less than the rarer words of the
# text do, and an any-word query with it reads a large part of the history (the index's posting
# lists are city-wide). Measured on the generated year: 5 % routes as well as keeping every word
# (100,000 cases: top-1 97.3 % vs 97.0 %) at half the time. Shares are taken over COMMON_SAMPLE
# documents (not below COMMON_MIN_SAMPLE: a short history keeps every word) and remembered for
# COMMON_SECONDS (Django's cache; none is fine).
COMMON_SHARE = 0.05
COMMON_SAMPLE = 1000
COMMON_MIN_SAMPLE = 200
COMMON_SECONDS = 6 * 3600
CATEGORY_SECONDS = 3600
MAX_WORDS = 8  # the longest words of the text: the rarer ones, and a bounded OR query
CATEGORY_WEIGHT = 0.15
LIMIT = 3


@dataclass
class Suggestion:
    department: Department
    score: float
    similar: list[str] = field(default_factory=list)  # case numbers, most similar first
    closed_last_year: int = 0  # similar cases this department closed in the last 365 days
    handled: int = 0  # similar cases it closed or holds
    category_name: str = ""

    @property
    def reason(self) -> str:
        if self.closed_last_year:
            return _("In the past year %(n)d similar cases were closed by %(department)s.") % {
                "n": self.closed_last_year,
                "department": self.department.name,
            }
        if self.handled:
            return _("%(n)d similar cases were handled by %(department)s.") % {
                "n": self.handled,
                "department": self.department.name,
            }
        return _("Cases of the category “%(category)s” usually go to %(department)s.") % {
            "category": self.category_name,
            "department": self.department.name,
        }


@dataclass
class _Tally:
    score: float = 0.0
    similar: list[tuple[float, str, int]] = field(default_factory=list)  # (similarity, number, case id)
    closed_last_year: int = 0
    handled: int = 0


def text_words(description: str) -> list[str]:
    """The words a text is compared by: its indexed words without stopwords, longest first."""
    words = [w for w in dict.fromkeys(document_words(description)) if telling(w)]
    return sorted(words, key=len, reverse=True)[:MAX_WORDS]


def _recency(moment: dt.datetime | None, now: dt.datetime) -> float:
    if moment is None:
        return 1.0
    return math.pow(0.5, max(0.0, (now - moment).total_seconds()) / 86400 / HALF_LIFE_DAYS)


def _vote(case: dict, now: dt.datetime) -> float:
    """What a similar case says for the department that has it (before similarity)."""
    if case["state"] in CLOSED_STATES and case["closed_at"] is not None and case["closed_at"] < now:
        on_time = case["due_date"] is None or local_date(case["closed_at"]) <= case["due_date"]
        weight = ON_TIME if on_time else ON_TIME * LATE_FACTOR
        if case["state"] == State.EXPLAINED:
            weight *= EXPLAINED_FACTOR
        return weight * _recency(case["closed_at"], now)
    if case["state"] == State.ASSIGNED:
        return OPEN_WEIGHT * _recency(case["received_at"], now)
    return 0.0


def _telling_words(region: Region, words: list[str]) -> list[str]:
    """The words without those common to most of the region's cases."""
    keys = {w: f"routing:word-share:{region.pk}:{w}" for w in words}
    cached = cache.get_many(list(keys.values()))
    shares = {w: cached[keys[w]] for w in words if keys[w] in cached}
    missing = [w for w in words if w not in shares]
    if missing:
        looked_at, measured = word_shares(missing, region_id=region.pk, sample=COMMON_SAMPLE)
        if looked_at < COMMON_MIN_SAMPLE:
            return words
        cache.set_many({keys[w]: share for w, share in measured.items()}, COMMON_SECONDS)
        shares.update(measured)
    return [w for w in words if shares[w] <= COMMON_SHARE]


def _similar_cases(region: Region, words: list[str], now: dt.datetime, exclude_case: int | None) -> list[dict]:
    history = Case.objects.filter(
        region=region, received_at__gte=now - dt.timedelta(days=HISTORY_DAYS), received_at__lt=now
    )
    if exclude_case:
        history = history.exclude(pk=exclude_case)
    # The best of the region's CANDIDATES newest cases sharing a word (cases.search.query.ranked).
    best = ranked(
        matching(history, words, any_word=True, region_id=region.pk).order_by("-search_rank", "-received_at"),
        limit=CANDIDATES,
        first_window=FIRST_WINDOW,
    )
    return list(
        best.values("pk", "number", "state", "department_id", "received_at", "closed_at", "due_date", "search_rank")[
            :SIMILAR_CASES
        ]
    )


def _category_shares(
    region: Region, category: Category | None, candidates: dict[int, Department], now: dt.datetime
) -> dict[int, float]:
    """Each candidate's share of the category's routed cases: in the region, else city-wide."""
    if category is None:
        return {}
    for region_id in (region.pk, None):
        counts = {pk: n for pk, n in _routed_counts(region_id, category.pk, now).items() if pk in candidates}
        total = sum(counts.values())
        if total:
            return {pk: n / total for pk, n in counts.items()}
    return {}


def _routed_counts(region_id: int | None, category_id: int, now: dt.datetime) -> dict[int, int]:
    """How many of the category's cases of the two years before ``now`` each department got (in
    the region, or city-wide), remembered for the day (Django's cache; none is fine): a day's new
    cases barely move two years' shares."""
    key = f"routing:category-counts:{region_id or 'city'}:{category_id}:{local_date(now).isoformat()}"
    counts = cache.get(key)
    if counts is None:
        routed = Case.objects.filter(
            category_id=category_id,
            department__isnull=False,
            received_at__gte=now - dt.timedelta(days=HISTORY_DAYS),
            received_at__lt=now,
        )
        if region_id is not None:
            routed = routed.filter(region_id=region_id)
        # COUNT(*): read from case_category_region_idx alone (COUNT(id) would fetch every row).
        counts = dict(routed.order_by().values_list("department_id").annotate(n=Count("*")))
        cache.set(key, counts, CATEGORY_SECONDS)
    return counts


MODEL_TERMS = 16  # the longest terms of a text looked up in the model (one indexed query)


def suggest(
    *,
    region: Region,
    description: str,
    now: dt.datetime,
    category: Category | None = None,
    visible_cases=None,
    exclude_departments=(),
    exclude_case: int | None = None,
    limit: int = LIMIT,
) -> list[Suggestion]:
    """Up to ``limit`` departments for a case of this region, category and text, best first.

    Read from the region's kept model (``cases.search.routing_model``) in a bounded number of
    queries whatever the history's size; a region whose model is not built, or a question about a
    moment before the model's ``as_of``, takes the query path over the history instead.

    ``visible_cases``: a queryset of the cases the asking user may see; only their numbers are
    given as ``similar`` (the scores may learn from any case of the region)."""
    arguments = dict(
        region=region,
        description=description,
        now=now,
        category=category,
        visible_cases=visible_cases,
        exclude_departments=exclude_departments,
        exclude_case=exclude_case,
        limit=limit,
    )
    state = RoutingModelRegion.objects.filter(region_id=region.pk).first()
    if state is None or not state.ready or now < state.as_of:
        return _from_history(**arguments)
    return _from_model(state, **arguments)


def _from_model(
    state: RoutingModelRegion,
    *,
    region: Region,
    description: str,
    now: dt.datetime,
    category: Category | None,
    visible_cases,
    exclude_departments,
    exclude_case: int | None,
    limit: int,
) -> list[Suggestion]:
    """Each department scores the sum, over the text's telling terms, of its weight on the term
    divided by how many of the region's cases hold the term (a rare term says more); the rows of
    its best term give its similar cases and the counts of the reason. (``exclude_case``: a case
    being rerouted is in the model; its own votes are for departments excluded anyway.)"""
    candidates = {
        d.pk: d
        for d in Department.objects.serving(region.pk)
        .filter(active=True)
        .exclude(pk__in=list(exclude_departments))
        .select_related("region")
    }
    if not candidates:
        return []
    terms = case_terms(description)[:MODEL_TERMS]
    frequency = (
        dict(RoutingTerm.objects.filter(region_id=region.pk, term__in=terms).values_list("term", "cases"))
        if terms
        else {}
    )
    common = COMMON_SHARE * state.cases if state.cases >= COMMON_MIN_SAMPLE else None
    telling = {t: n for t, n in frequency.items() if n > 0 and (common is None or n <= common)}
    rows = (
        RoutingWeight.objects.filter(
            region_id=region.pk, term__in=list(telling), department_id__in=list(candidates)
        ).values_list("term", "department_id", "weight", "held", "closed", "similar")
        if telling
        else []
    )
    unit = 1.0 / scale(now)
    first_month, last_month = months_since(now - dt.timedelta(days=365), 1), months_since(now, 1)
    tallies: dict[int, _Tally] = defaultdict(_Tally)
    best: dict[int, float] = {}
    for term, department_id, weight, held, closed, similar in rows:
        part = weight * unit / telling[term]
        tally = tallies[department_id]
        tally.score += part
        if part > 0 and part > best.get(department_id, 0.0):
            best[department_id] = part
            tally.similar = [(part, number, pk) for pk, number in similar]
            tally.handled = held
            tally.closed_last_year = sum(n for m, n in (closed or {}).items() if first_month <= m <= last_month)
    if sum(1 for t in tallies.values() if t.score > 0) < limit:  # the text alone does not fill the list
        for department_id, share in _category_shares(region, category, candidates, now).items():
            tallies[department_id].score += CATEGORY_WEIGHT * share
    return _ranked(tallies, candidates, category, visible_cases, limit)


def _ranked(tallies, candidates, category, visible_cases, limit) -> list[Suggestion]:
    ranked = sorted(
        ((pk, t) for pk, t in tallies.items() if t.score > 0),
        key=lambda item: (-item[1].score, -item[1].handled, candidates[item[0]].name),
    )[:limit]
    total = sum(t.score for _pk, t in ranked) or 1.0
    visible = _visible_ids(visible_cases, [pk for _d, t in ranked for _c, _n, pk in t.similar])
    return [
        Suggestion(
            department=candidates[pk],
            score=round(t.score / total, 3),
            similar=[
                number
                for _c, number, case_pk in sorted(t.similar, key=lambda s: -s[0])
                if visible is None or case_pk in visible
            ][:5],
            closed_last_year=t.closed_last_year,
            handled=t.handled,
            category_name=category.name if category else "",
        )
        for pk, t in ranked
    ]


def _from_history(
    *,
    region: Region,
    description: str,
    now: dt.datetime,
    category: Category | None = None,
    visible_cases=None,
    exclude_departments=(),
    exclude_case: int | None = None,
    limit: int = LIMIT,
) -> list[Suggestion]:
    """The query path: the region's most similar cases of the history vote (the module's docstring)."""
    candidates = {
        d.pk: d
        for d in Department.objects.serving(region.pk)
        .filter(active=True)
        .exclude(pk__in=list(exclude_departments))
        .select_related("region")
    }
    if not candidates:
        return []
    tallies: dict[int, _Tally] = defaultdict(_Tally)
    words = text_words(description)
    words = _telling_words(region, words) if words else []
    similar = _similar_cases(region, words, now, exclude_case) if words else []
    top = max((c["search_rank"] for c in similar), default=0.0) or 1.0
    year_ago = now - dt.timedelta(days=365)
    for case in similar:
        closeness = case["search_rank"] / top
        department_id = case["department_id"]
        if department_id not in candidates:
            continue
        weight = _vote(case, now)
        if weight <= 0:
            continue
        tally = tallies[department_id]
        tally.score += closeness * weight
        tally.similar.append((closeness, case["number"], case["pk"]))
        tally.handled += 1
        if case["state"] in CLOSED_STATES and case["closed_at"] and year_ago <= case["closed_at"] < now:
            tally.closed_last_year += 1
    closeness_of = {c["pk"]: c["search_rank"] / top for c in similar}
    returns = LedgerEntry.objects.filter(case_id__in=list(closeness_of), action="return", occurred_at__lt=now)
    for case_id, payload, occurred_at in returns.values_list("case_id", "payload", "occurred_at"):
        department_id = (payload or {}).get("department")
        if department_id in candidates:
            tallies[department_id].score += RETURN_WEIGHT * closeness_of[case_id] * _recency(occurred_at, now)
    if sum(1 for t in tallies.values() if t.score > 0) < limit:  # the text alone does not fill the list
        for department_id, share in _category_shares(region, category, candidates, now).items():
            tallies[department_id].score += CATEGORY_WEIGHT * share
    return _ranked(tallies, candidates, category, visible_cases, limit)


def _visible_ids(visible_cases, ids: list[int]) -> set[int] | None:
    if visible_cases is None:
        return None
    return set(visible_cases.filter(pk__in=ids).values_list("pk", flat=True))


def suggest_for_case(case: Case, *, now: dt.datetime, visible_cases=None) -> list[Suggestion]:
    """Suggestions for routing (or rerouting) an existing case: not its current department, nor
    one that already returned it, nor the case itself as history."""
    returned = {
        (p or {}).get("department")
        for p in LedgerEntry.objects.filter(case=case, action="return").values_list("payload", flat=True)
    }
    exclude = {pk for pk in returned | {case.department_id} if pk}
    return suggest(
        region=case.region,
        description=case.description,
        category=case.category,
        now=now,
        visible_cases=visible_cases,
        exclude_departments=exclude,
        exclude_case=case.pk,
    )

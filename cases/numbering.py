"""Case numbers (``<region code>-<year>-<serial>``) and the gaps in their sequences.

Serials are handed out by ``CaseNumberCounter`` in ``services.create_case`` and never reused, so a
serial below a region's last that no case carries is a case gone missing (``verify_ledger``).
"""

from __future__ import annotations

from django.db.models import Count, Max


def missing_numbers(
    case_queryset, *, issued: dict[tuple[str, int], int] | None = None
) -> dict[tuple[str, int], list[int]]:
    """Serial numbers missing from each region's yearly sequence: 1 up to the last serial handed
    out (``issued``: {(region code, year): the counter's last serial}) or on record, whichever is
    higher — so a deleted newest case is missing too."""
    issued = issued or {}
    gaps: dict[tuple[str, int], list[int]] = {}
    groups = {
        (g["region__code"], g["year"]): (g["n"], g["top"])
        for g in case_queryset.values("region__code", "year").annotate(n=Count("pk"), top=Max("serial"))
    }
    for key in issued:
        groups.setdefault(key, (0, 0))
    for (code, year), (count, top) in groups.items():
        top = max(top or 0, issued.get((code, year), 0))
        if count == top:
            continue
        have = set(case_queryset.filter(region__code=code, year=year).values_list("serial", flat=True))
        gaps[(code, year)] = [n for n in range(1, top + 1) if n not in have]
    return gaps

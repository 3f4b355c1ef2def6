"""The import's region locks: all of them, at the start of its write transaction, in one order.

Numbering a case takes its region's row lock (``services.create_case``; the bulk writer per
batch), held until the import commits. Taken as each region's first row comes up, two imports of
overlapping counties in different orders deadlock — one holds 浉河区 and waits for 平桥区, the
other the reverse — and PostgreSQL aborts one of them. Locking every region the import will write
in before anything else, sorted by id, makes the second import wait for the first to commit and
then run: they serialise instead. (SQLite has one writer at a time anyway: there it is a no-op.)
"""

from __future__ import annotations

from collections.abc import Iterable

from cases.models import Region


def lock_regions(region_ids: Iterable[int]) -> list[int]:
    """Lock these regions' rows for the rest of the transaction, in ascending id order (FOR UPDATE
    locks rows in the order the sorted query returns them); the ids locked."""
    ids = sorted(set(region_ids))
    if not ids:
        return []
    return list(Region.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))

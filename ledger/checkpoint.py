"""Ledger checkpoints: a dated commitment to every chain, kept outside the ledger's reach.

A checkpoint lists every case's chain head — (number, seq, hash) of its last entry — and per
region a root: SHA-256 over the lines ``"{number} {seq} {hash}\\n"`` in number order. Chains are
append-only, so a later ledger must still hold every (number, seq, hash) of any earlier
checkpoint: ``compare`` names each case the checkpoint had that the ledger no longer has, or
whose entry at that seq changed (a deleted newest case, a rewritten chain). The roots are short
enough to print on every issued notice and to email to the city office; the per-case list is the
checkpoint file (``write_file``, gzip'd JSON, one case per line: at 1,000,000 cases about 100 MB
raw, ~50 MB compressed — kept under ``MEDIA_ROOT/ledger_checkpoints/``, not in the database).

``take`` reads what the database holds and reports the outcome; it does not send anything:
it announces ``checkpoint_taken`` and the notifications app emails the city office.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.dispatch import Signal

from .models import LedgerCheckpoint, LedgerEntry

FORMAT = "caseledger-checkpoint/1"
CHUNK = 2000

# Sent after the checkpoint's row commits, with ``checkpoint`` (a LedgerCheckpoint).
checkpoint_taken = Signal()


def chain_heads(case_queryset) -> Iterator[tuple[str, str, int, str, int, int]]:
    """(region code, number, last seq, last hash, year, serial) of every case, by region and number, read from
    the entries themselves at the head's seq (a case without entries: seq 0, hash "")."""
    last_hash = LedgerEntry.objects.filter(case_id=OuterRef("pk"), seq=OuterRef("ledger_head__seq")).values("hash")[:1]
    rows = (
        case_queryset.order_by("region__code", "number")
        .annotate(last_hash=Subquery(last_hash))
        .values_list("region__code", "number", "ledger_head__seq", "last_hash", "year", "serial")
    )
    for code, number, seq, digest, year, serial in rows.iterator(chunk_size=CHUNK):
        yield code, number, seq or 0, digest or "", year, serial


def _line(number: str, seq: int, digest: str) -> bytes:
    return f"{number} {seq} {digest}\n".encode()


def overall_root(regions: dict[str, dict]) -> str:
    digest = hashlib.sha256()
    for code in sorted(regions):
        r = regions[code]
        digest.update(f"{code} {r['cases']} {r['last_number']} {r['root']}\n".encode())
    return digest.hexdigest()


def summarise(heads: Iterable[tuple], sink=None) -> dict[str, dict]:
    """{region code: {"cases", "last_number", "root"}} over ``chain_heads`` rows; each case's
    (number, seq, hash) also goes to ``sink`` if given (the checkpoint file)."""
    regions: dict[str, dict] = {}
    digests: dict[str, hashlib._Hash] = {}
    top: dict[str, tuple[int, int]] = {}
    for code, number, seq, digest, year, serial in heads:
        if code not in regions:
            regions[code] = {"cases": 0, "last_number": ""}
            digests[code] = hashlib.sha256()
            top[code] = (0, 0)
        regions[code]["cases"] += 1
        digests[code].update(_line(number, seq, digest))
        if (year, serial) > top[code]:
            top[code] = (year, serial)
            regions[code]["last_number"] = number
        if sink is not None:
            sink(number, seq, digest)
    for code, digest in digests.items():
        regions[code]["root"] = digest.hexdigest()
    return regions


def directory() -> Path:
    return Path(settings.MEDIA_ROOT) / "ledger_checkpoints"


def take(case_queryset, *, now: dt.datetime, store_file: bool = True) -> LedgerCheckpoint:
    """Compute, store and announce a checkpoint over the cases of ``case_queryset``."""
    path = directory() / f"{now:%Y%m%d-%H%M%S-%f}.json.gz" if store_file else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wt", encoding="utf-8") as out:
            regions = write_file(out, case_queryset, now=now)
        detail_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    else:
        regions, detail_sha256 = summarise(chain_heads(case_queryset)), ""
    with transaction.atomic():
        checkpoint = LedgerCheckpoint.objects.create(
            created_at=now,
            root=overall_root(regions),
            regions=regions,
            detail_file=str(path.relative_to(settings.MEDIA_ROOT)) if path else "",
            detail_sha256=detail_sha256,
        )
        transaction.on_commit(lambda: checkpoint_taken.send(sender=LedgerCheckpoint, checkpoint=checkpoint))
    return checkpoint


def write_file(out, case_queryset, *, now: dt.datetime) -> dict[str, dict]:
    """Stream the checkpoint document to ``out``: one JSON object, one case per line."""
    out.write(f'{{"format": "{FORMAT}", "created_at": "{now.isoformat()}",\n"cases": [\n')
    first = [True]

    def sink(number: str, seq: int, digest: str) -> None:
        out.write(("" if first[0] else ",\n") + json.dumps([number, seq, digest], ensure_ascii=False))
        first[0] = False

    regions = summarise(chain_heads(case_queryset), sink)
    out.write("\n],\n")
    out.write(f'"regions": {json.dumps(regions, ensure_ascii=False, sort_keys=True)},\n')
    out.write(f'"root": "{overall_root(regions)}"}}\n')
    return regions


def as_document(checkpoint: LedgerCheckpoint) -> dict:
    """The checkpoint as the command prints it (the roots; the per-case list is in its file)."""
    return {
        "format": FORMAT,
        "id": checkpoint.pk,
        "created_at": checkpoint.created_at.isoformat(),
        "root": checkpoint.root,
        "regions": checkpoint.regions,
        "file": checkpoint.detail_file,
        "file_sha256": checkpoint.detail_sha256,
    }


def latest_for_region(code: str) -> LedgerCheckpoint | None:
    return LedgerCheckpoint.objects.filter(regions__has_key=code).order_by("-created_at", "-id").first()


# -- checking a ledger against a checkpoint file --------------------------------------------------


def read_file(path: Path) -> dict:
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    document = json.loads(raw.decode("utf-8"))
    if (
        not isinstance(document, dict)
        or document.get("format") != FORMAT
        or not isinstance(document.get("cases"), list)
    ):
        raise ValueError(f"not a {FORMAT} file")
    return document


def file_problems(document: dict) -> list[str]:
    """Whether the file's own roots agree with its per-case list (a file edited by hand)."""
    by_region: dict[str, list] = {}
    for number, seq, digest in document["cases"]:
        by_region.setdefault(str(number).split("-", 1)[0], []).append((number, seq, digest))
    problems = []
    for code, stated in sorted((document.get("regions") or {}).items()):
        digest = hashlib.sha256()
        for number, seq, value in by_region.get(code, []):
            digest.update(_line(number, seq, value))
        if digest.hexdigest() != stated.get("root") or len(by_region.get(code, [])) != stated.get("cases"):
            problems.append(f"the file's root of region {code} does not match its own list of cases")
    if overall_root(document.get("regions") or {}) != document.get("root"):
        problems.append("the file's overall root does not match its regions")
    return problems


def compare(document: dict, case_queryset) -> list[tuple[str, str]]:
    """(number, what is wrong) for every case of the checkpoint that the ledger (restricted to
    ``case_queryset``'s model) no longer holds as it was."""
    cases = list(document["cases"])
    model = case_queryset.model
    found: list[tuple[str, str]] = []
    for start in range(0, len(cases), CHUNK):
        chunk = cases[start : start + CHUNK]
        numbers = [c[0] for c in chunk]
        present = dict(model.objects.filter(number__in=numbers).values_list("number", "pk"))
        wanted = {present[n]: (n, seq, digest) for n, seq, digest in chunk if n in present}
        held = {
            (case_id, seq): digest
            for case_id, seq, digest in LedgerEntry.objects.filter(case_id__in=list(wanted)).values_list(
                "case_id", "seq", "hash"
            )
        }
        for number, seq, digest in chunk:
            if number not in present:
                found.append((number, "the case is no longer in the ledger"))
                continue
            if not seq:
                continue
            now_held = held.get((present[number], seq))
            if now_held is None:
                found.append((number, f"entry #{seq} is no longer in the ledger"))
            elif now_held != digest:
                found.append((number, f"entry #{seq} has changed since the checkpoint"))
    return found

"""The ledger (台帐): an append-only, per-case hash chain of everything that happened to a case.

Rows are written only by ``ledger.services.append`` inside the transaction of the change they
record; the database refuses UPDATE and DELETE (triggers created in migration 0002).
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from . import json_text

GENESIS_HASH = "0" * 64


class Source(models.TextChoices):
    WEB = "web", _("Web")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    SYSTEM = "system", _("System")


def _utc_iso(moment: dt.datetime) -> str:
    """``%Y-%m-%dT%H:%M:%S.%fZ`` in UTC (what every hash on record covers), by ``isoformat``: the
    same text, at two thirds of ``strftime``'s cost, for any year from 1000 on (a moment already in
    ``datetime.UTC``, as ``timezone.now()`` gives, is not converted again)."""
    utc = moment if moment.tzinfo is dt.UTC else moment.astimezone(dt.UTC)
    if utc.year < 1000:  # strftime writes such a year unpadded
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.isoformat(timespec="microseconds")[:-6] + "Z"  # (without its "+00:00")


_CANONICAL = json_text.encoder(sort_keys=True, separators=(",", ":"))


def canonical_json(fields: dict) -> str:
    """``json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))``."""
    return _CANONICAL(fields)


def compute_hash(prev_hash: str, fields: dict) -> str:
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()


class LedgerEntry(models.Model):
    # Indexed by the unique (case, seq) and the (case, occurred_at) indexes, which begin with it.
    case = models.ForeignKey(
        "cases.Case", models.PROTECT, related_name="ledger_entries", verbose_name=_("case"), db_index=False
    )
    seq = models.PositiveIntegerField(_("sequence"))
    action = models.CharField(_("action"), max_length=40)
    from_state = models.CharField(_("from state"), max_length=20, blank=True)
    to_state = models.CharField(_("to state"), max_length=20, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("actor")
    )
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    recorded_at = models.DateTimeField(_("recorded at"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.WEB)
    # The case's due date as set by this entry (creation, routing, extension, recomputation);
    # null when the entry does not touch it. Lets scoring read "the due date as of the cutoff".
    due_date = models.DateField(_("due date"), null=True, blank=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    # Unique by a constraint in Meta, not ``unique=True``, which on PostgreSQL also made a LIKE
    # index (``varchar_pattern_ops``) that no query uses: a second random insert for every entry.
    hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        ordering = ["case_id", "seq"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [
            models.UniqueConstraint(fields=["case", "seq"], name="ledger_unique_seq_per_case"),
            models.UniqueConstraint(fields=["hash"], name="ledger_ledgerentry_hash_key"),
        ]
        indexes = [
            models.Index(fields=["case", "occurred_at"], name="ledger_case_occurred_idx"),
            models.Index(fields=["action", "occurred_at"], name="ledger_action_occurred_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.seq} {self.action}"

    def hashed_fields(self, case_number: str) -> dict:
        """What the hash covers: every field of the entry except the hashes themselves."""
        return {
            "case": case_number,
            "seq": self.seq,
            "action": self.action,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "actor": self.actor_name,
            "occurred_at": _utc_iso(self.occurred_at),
            "recorded_at": _utc_iso(self.recorded_at),
            "source": self.source,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "payload": self.payload,
        }

    def expected_hash(self, case_number: str) -> str:
        return compute_hash(self.prev_hash, self.hashed_fields(case_number))


class LedgerHead(models.Model):
    """The head of one case's chain: its last entry and the running facts read "as of a date".

    Kept by ``ledger.services.append`` in the transaction of the entry it follows (with the
    chain's completeness verdict), rebuilt from the entries by ``ledger.heads.rebuild`` and
    checked against a replay of the chain by ``verify_ledger``. Derived data, never a source: for a case whose chain
    ends before a moment, these are exactly the facts an aggregate over its entries gives, so
    scoring reads one row per case instead of every entry (``scoring.item15``).
    """

    case = models.OneToOneField("cases.Case", models.CASCADE, primary_key=True, related_name="ledger_head")
    seq = models.PositiveIntegerField(_("last sequence"))
    last_at = models.DateTimeField(_("last entry occurred at"))
    close_seq = models.PositiveIntegerField(_("latest closing"), null=True)
    closed_at = models.DateTimeField(_("latest closing occurred at"), null=True)
    reopen_seq = models.PositiveIntegerField(_("latest reopening"), null=True)
    due_date = models.DateField(_("due date"), null=True)
    department_id = models.PositiveIntegerField(_("department"), null=True)
    # ``ledger.completeness.lacks`` of the chain through ``seq`` (scoresheet item 13); null when
    # not judged yet (heads rebuilt from entries), judged again on the chain's next entry.
    complete = models.BooleanField(_("complete"), null=True)
    missing = models.JSONField(_("what the ledger lacks"), default=list)
    # The last verification of the chain's hashes (``ledger.integrity``): through which entry, that
    # entry's hash, when, and whether the chain verified. ``append`` sets them: it checks that the
    # chain's last entry is still the one verified here (re-hashing the whole chain only when the
    # head cannot vouch for it, ``ledger.services``); a rewrite of an earlier entry behind the
    # triggers' back is found by the next full pass (daily, and every ``verify_ledger``), which
    # records ``chain_ok`` false and the ``ledger_chain`` verdict here.
    verified_seq = models.PositiveIntegerField(_("verified through"), null=True)
    # A database default too: ``heads.rebuild`` inserts heads in SQL, unverified.
    verified_hash = models.CharField(_("hash verified"), max_length=64, blank=True, default="", db_default="")
    verified_at = models.DateTimeField(_("verified at"), null=True)
    chain_ok = models.BooleanField(_("chain verifies"), null=True)
    # What ``completeness.lacks`` needs of the chain through ``seq`` besides its hashes: the fold
    # of its stages (``completeness.stages_of``), which ``append`` steps by the entry it appends
    # instead of reading the chain. Null when not folded yet (heads rebuilt from the entries, or
    # older than the fold): the chain's next ``append`` reads the chain once and stores it.
    stages = models.JSONField(_("completeness state"), null=True, blank=True)

    class Meta:
        verbose_name = _("ledger head")
        verbose_name_plural = _("ledger heads")
        indexes = [
            models.Index(fields=["last_at"], name="ledger_head_last_at_idx"),
            # Scoring asks for the broken chains in scope: few rows, found through this index.
            models.Index(fields=["case"], name="ledger_head_broken_idx", condition=models.Q(chain_ok=False)),
            models.Index(fields=["case"], name="ledger_head_unverified_idx", condition=models.Q(verified_seq=None)),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.seq}"


class LedgerCheckpoint(models.Model):
    """A commitment to the whole ledger at a moment (``manage.py checkpoint_ledger``, daily by beat).

    Per region: how many cases, the highest number, and a root — SHA-256 over the sorted lines
    ``number seq hash`` of every chain's last entry (``ledger.checkpoint``). The per-case list
    behind the roots is the checkpoint file (``detail_file`` under ``MEDIA_ROOT``, gzip'd JSON,
    its SHA-256 in ``detail_sha256``) that ``verify_ledger --checkpoint`` checks a ledger against;
    the row keeps the roots, which issued notices print and the city office receives by email.
    """

    created_at = models.DateTimeField(_("created at"), db_index=True)
    root = models.CharField(_("root hash"), max_length=64)
    regions = models.JSONField(_("regions"), default=dict)  # {code: {"cases", "last_number", "root"}}
    detail_file = models.CharField(_("checkpoint file"), max_length=200, blank=True)
    detail_sha256 = models.CharField(_("checkpoint file SHA-256"), max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ledger checkpoint")
        verbose_name_plural = _("ledger checkpoints")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.root[:12]}"

    def region_root(self, code: str) -> str | None:
        return (self.regions.get(code) or {}).get("root")

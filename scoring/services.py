"""Every write of the assessment goes through here: entries, overrides, attachments, freezing.

Each function checks who may do it, validates everything before writing anything, and records an
audit event in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.errors import InvalidInput, NotAllowed, NotFound, WrongState
from cases.models import Case, Region, local_date
from cases.roles import Role, role_of
from cases.scope import scope_of
from cases.uploads import check_upload, files_removed_on_failure
from ledger.models import LedgerEntry

from . import derived, snapshots
from .ladders import is_half_step, parse_points, points_str
from .models import Assessment, Attachment, AuditEvent, Item, ItemEntry, Override
from .results import dumps, find_rule_set, score_year
from .scope import make_scope

# -- who ---------------------------------------------------------------------------------------


def can_read_all(user) -> bool:
    return bool(user and user.is_authenticated and role_of(user) in (Role.ASSESSOR, Role.CITY_OFFICE))


def readable_region_codes(user) -> list[str] | None:
    """None: every region; else the codes this user may read (a county office: its own)."""
    if can_read_all(user):
        return None
    if not (user and user.is_authenticated):
        return []
    # The one scope rule: the regions whose notices and scores this user reads.
    return list(Region.objects.read_by(scope_of(user)).values_list("code", flat=True))


def can_read_region(user, region: Region) -> bool:
    codes = readable_region_codes(user)
    return codes is None or region.code in codes


def can_enter(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or role_of(user) == Role.ASSESSOR))


def _require_assessor(by, region: Region) -> None:
    if not can_read_region(by, region):
        raise NotFound(_("No such region."))
    if not can_enter(by):
        raise NotAllowed(_("Only the assessment group may enter or override points."))


# -- the assessment ----------------------------------------------------------------------------


def get_or_create_assessment(
    year: int, *, by=None, rule_set: str | None = None, cutoff: dt.date | None = None, now: dt.datetime | None = None
) -> Assessment:
    now = now or timezone.now()
    existing = Assessment.objects.select_related("rule_set").filter(year=year).first()
    if existing is not None:
        return existing
    scope = make_scope(year, cutoff)
    rules = find_rule_set(rule_set)
    with transaction.atomic():
        assessment, created = Assessment.objects.get_or_create(
            year=year, defaults={"rule_set": rules, "cutoff": scope.cutoff, "created_at": now}
        )
        if created:
            transaction.on_commit(lambda: snapshots.forget(year))  # the dashboard's rows used the default cutoff
            _audit(
                assessment,
                None,
                None,
                AuditEvent.Action.CREATED,
                None,
                {"rule_set": rules.code, "cutoff": scope.cutoff.isoformat()},
                by,
                now,
            )
    return assessment


def _audit(assessment, region, item_number, action, before, after, by, now) -> AuditEvent:
    return AuditEvent.objects.create(
        assessment=assessment,
        region=region,
        item_number=item_number,
        action=action,
        before=before,
        after=after,
        actor=by if by is not None and by.pk else None,
        actor_name=by.get_username() if by is not None else "system",
        occurred_at=now,
    )


def _item(assessment: Assessment, number) -> Item:
    try:
        number = int(number)
    except (TypeError, ValueError):
        raise NotFound(_("No such item.")) from None
    item = Item.objects.filter(rule_set=assessment.rule_set, number=number).first()
    if item is None:
        raise NotFound(_("No such item."))
    return item


def _check_points(raw, item: Item) -> Decimal:
    try:
        points = parse_points(raw)
    except ValueError:
        raise InvalidInput(_("Points must be a number such as 3 or 2.5."), field="points") from None
    if points < 0:
        raise InvalidInput(_("Points cannot be negative."), field="points")
    if points > item.max_points:
        raise InvalidInput(
            _("Item %(n)d is worth at most %(max)s points.") % {"n": item.number, "max": points_str(item.max_points)},
            field="points",
        )
    if not is_half_step(points):
        raise InvalidInput(_("Points are given in steps of 0.5."), field="points")
    return points


def _entry_snapshot(entry: ItemEntry | Override | None) -> dict | None:
    if entry is None:
        return None
    data = {"points": points_str(entry.points)}
    if isinstance(entry, Override):
        data.update({"computed": points_str(entry.computed_points), "reason": entry.reason})
    else:
        data.update({"note": entry.note, "inputs": entry.inputs})
    return data


def set_item_points(
    year: int,
    region: Region,
    number,
    *,
    by,
    points=None,
    note: str = "",
    inputs: dict | None = None,
    now: dt.datetime | None = None,
):
    """Enter a manual item's points (or, for an automatic item, override it: ``note`` is the reason).

    Items 19 and 21 may be given ``inputs`` instead (report count; survey rate and enterprise
    counts) and their points follow from the rule set. Returns the ItemEntry or Override."""
    now = now or timezone.now()
    _require_assessor(by, region)
    if region.is_city:
        raise NotFound(_("No such region."))
    assessment = get_or_create_assessment(year, by=by, now=now)
    item = _item(assessment, number)
    note = (note or "").strip()
    if len(note) > 5000:
        raise InvalidInput(_("The note is too long (at most 5000 characters)."), field="note")
    params = assessment.rule_set.params
    clean_inputs: dict = {}
    if inputs and item.kind in (Item.Kind.REPORTS, Item.Kind.SURVEY):
        if item.kind == Item.Kind.REPORTS:
            derived_points, clean_inputs = derived.report_points(inputs, params.get("item19", {}))
        else:
            derived_points, clean_inputs, _rung = derived.survey_points(inputs, params.get("item21", {}))
        derived_points = min(derived_points, item.max_points)
        if points not in (None, "") and _check_points(points, item) != derived_points:
            raise InvalidInput(
                _("The points (%(given)s) do not follow from the figures entered (%(derived)s).")
                % {"given": points, "derived": points_str(derived_points)},
                field="points",
            )
        points = derived_points
    elif inputs:
        raise InvalidInput(_("Only items 19 and 21 are derived from figures."), field="inputs")
    if points in (None, ""):
        raise InvalidInput(_("Enter the points."), field="points")
    points = _check_points(points, item)

    if item.is_automatic and not note:
        raise InvalidInput(_("Give the reason for overriding an automatic item."), field="note")
    # Score the year before taking the assessment's lock: it reads the ledger as of the cutoff,
    # which no entry or override changes, and it is the slow part.
    computed = (
        score_year(year, today=local_date(timezone.now())).region(region.code).items[item.number].computed
        if item.is_automatic
        else None
    )
    with transaction.atomic():
        locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
        transaction.on_commit(lambda: snapshots.forget(year))  # the dashboard's cached rows
        if computed is not None:  # an automatic item: the rules always give it a value
            before = Override.objects.filter(assessment=locked, region=region, item_number=item.number).first()
            snapshot = _entry_snapshot(before)
            record, _created = Override.objects.update_or_create(
                assessment=locked,
                region=region,
                item_number=item.number,
                defaults={
                    "computed_points": computed,
                    "points": points,
                    "reason": note,
                    "entered_by": by,
                    "entered_at": now,
                },
            )
            _audit(locked, region, item.number, AuditEvent.Action.OVERRIDE, snapshot, _entry_snapshot(record), by, now)
            _refreeze(locked, by=by, now=now)
            return record
        previous = ItemEntry.objects.filter(assessment=locked, region=region, item_number=item.number).first()
        snapshot = _entry_snapshot(previous)
        entry, _created = ItemEntry.objects.update_or_create(
            assessment=locked,
            region=region,
            item_number=item.number,
            defaults={"points": points, "note": note, "inputs": clean_inputs, "entered_by": by, "entered_at": now},
        )
        _audit(locked, region, item.number, AuditEvent.Action.ENTRY, snapshot, _entry_snapshot(entry), by, now)
        _refreeze(locked, by=by, now=now)
        return entry


def remove_override(year: int, region: Region, number, *, by, reason: str, now=None) -> None:
    now = now or timezone.now()
    _require_assessor(by, region)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for removing the override."), field="note")
    assessment = Assessment.objects.filter(year=year).first()
    if assessment is None:
        raise NotFound(_("No override to remove."))
    with transaction.atomic():
        locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
        transaction.on_commit(lambda: snapshots.forget(year))
        override = Override.objects.filter(assessment=locked, region=region, item_number=int(number)).first()
        if override is None:
            raise NotFound(_("No override to remove."))
        snapshot = _entry_snapshot(override)
        override.delete()
        _audit(locked, region, int(number), AuditEvent.Action.OVERRIDE_REMOVED, snapshot, {"reason": reason}, by, now)
        _refreeze(locked, by=by, now=now)


def add_attachments(year: int, region: Region, number, *, by, files, now=None) -> list[Attachment]:
    """Store supporting files for an item (checked by content, stored under generated names)."""
    now = now or timezone.now()
    _require_assessor(by, region)
    files = [f for f in (files or []) if f is not None]
    if not files:
        raise InvalidInput(_("Choose at least one file."), field="files")
    if len(files) > 20:
        raise InvalidInput(_("At most 20 files at once."), field="files")
    checked = [check_upload(f) for f in files]
    assessment = get_or_create_assessment(year, by=by, now=now)
    item = _item(assessment, number)
    with files_removed_on_failure() as stored:
        # Files are written before the assessment's lock is taken; only the rows inside it.
        attachments = []
        for one in checked:
            attachment = Attachment(
                assessment=assessment,
                region=region,
                item_number=item.number,
                original_name=one.name,
                content_type=one.content_type,
                size=one.size,
                sha256=one.sha256,
                uploaded_by=by,
                uploaded_at=now,
            )
            attachment.file.save(one.name, one.upload, save=False)
            stored.append(attachment.file.name)
            attachments.append(attachment)
        with transaction.atomic():
            locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
            for attachment, one in zip(attachments, checked, strict=True):
                attachment.save()
                _audit(
                    locked,
                    region,
                    item.number,
                    AuditEvent.Action.ATTACHMENT,
                    None,
                    {"name": one.name, "sha256": one.sha256, "size": one.size},
                    by,
                    now,
                )
        return attachments


def get_attachment_for_user(user, pk) -> Attachment:
    try:
        attachment = Attachment.objects.select_related("region").get(pk=int(pk))
    except (Attachment.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such file.")) from None
    if not can_read_region(user, attachment.region):
        raise NotFound(_("No such file."))
    return attachment


# -- freezing ----------------------------------------------------------------------------------


def inputs_hash(year: int, *, cutoff: dt.date | None = None, board=None) -> str:
    """SHA-256 over what the result depends on: the rules, the cutoff, the entries and overrides,
    the notices' facts, and for every case in scope the hash of its last ledger entry as of the
    cutoff (each chain hash commits to the whole chain before it). ``board``: the year's
    scoreboard when the caller has just scored it (not scored again)."""
    board = board or score_year(year, cutoff=cutoff)
    scope = board.scope
    digest = hashlib.sha256()
    rules = board.rule_set
    head = {
        "year": year,
        "cutoff": scope.cutoff.isoformat(),
        "rule_set": rules.code,
        "params": rules.params,
        "items": [[i.item.number, points_str(i.item.max_points), i.item.kind] for i in board.regions[0].items.values()]
        if board.regions
        else [],
    }
    digest.update(json.dumps(head, sort_keys=True, ensure_ascii=False).encode())
    for region_score in board.regions:
        for number, score in sorted(region_score.items.items()):
            record = {
                "region": region_score.region.code,
                "item": number,
                "points": points_str(score.points),
                "note": score.note,
            }
            detail = score.detail
            if detail is not None and hasattr(detail, "periods_due"):
                record["notices"] = [detail.schedule, detail.periods_due, detail.periods_served, detail.notices]
            digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode())
    end = connection.ops.adapt_datetimefield_value(scope.end)
    start = connection.ops.adapt_datetimefield_value(scope.start)
    counties = [r.region.pk for r in board.regions]
    if counties:
        cases = Case._meta.db_table
        entries = LedgerEntry._meta.db_table
        sql = f"""
            SELECT c.number, last.hash FROM {cases} c
            JOIN (SELECT e.case_id AS case_id, MAX(e.seq) AS top FROM {entries} e
                  JOIN {cases} c2 ON c2.id = e.case_id
                  WHERE c2.region_id IN ({", ".join(["%s"] * len(counties))})
                    AND c2.received_at >= %s AND c2.received_at < %s AND e.occurred_at < %s
                  GROUP BY e.case_id) p ON p.case_id = c.id
            JOIN {entries} last ON last.case_id = p.case_id AND last.seq = p.top
            ORDER BY c.number
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [*counties, start, end, end])
            while rows := cursor.fetchmany(10000):
                for number, last_hash in rows:
                    digest.update(f"{number}:{last_hash}\n".encode())
    return digest.hexdigest()


def freeze(year: int, *, by=None, now: dt.datetime | None = None) -> Assessment:
    """Freeze the year's result after its cutoff: the JSON bytes and the hash of its inputs."""
    now = now or timezone.now()
    assessment = get_or_create_assessment(year, by=by, now=now)
    if timezone.localtime(now).date() <= assessment.cutoff:
        raise WrongState(_("The %(year)d result can be frozen only after the cutoff day has ended.") % {"year": year})
    with transaction.atomic():
        locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
        if locked.is_frozen:
            return locked
        board = score_year(year)
        locked.result_json = board.to_bytes().decode("utf-8")
        locked.inputs_hash = inputs_hash(year, board=board)
        locked.frozen_at = now
        locked.frozen_by = by if by is not None and by.pk else None
        locked.save(update_fields=["result_json", "inputs_hash", "frozen_at", "frozen_by"])
        _audit(locked, None, None, AuditEvent.Action.FREEZE, None, {"inputs_hash": locked.inputs_hash}, by, now)
    return locked


def _refreeze(locked: Assessment, *, by, now: dt.datetime) -> None:
    """Assessors enter the manual items after the cutoff, when the year is already frozen: the
    automatic items stay as the ledger stood at the cutoff, and the frozen bytes and inputs hash
    are renewed to include the entry (audited), so re-scoring still gives the same bytes."""
    if not locked.is_frozen:
        return
    board = score_year(locked.year)
    locked.result_json = board.to_bytes().decode("utf-8")
    locked.inputs_hash = inputs_hash(locked.year, board=board)
    locked.save(update_fields=["result_json", "inputs_hash"])
    _audit(
        locked,
        None,
        None,
        AuditEvent.Action.FREEZE,
        None,
        {"inputs_hash": locked.inputs_hash, "renewed": True},
        by,
        now,
    )


def verify_frozen(year: int) -> tuple[bool, bool]:
    """(same JSON bytes, same inputs hash) when re-scoring a frozen year."""
    assessment = Assessment.objects.filter(year=year).first()
    if assessment is None or not assessment.is_frozen:
        raise WrongState(_("The %(year)d result is not frozen.") % {"year": year})
    board = score_year(year)
    same_bytes = board.to_bytes() == assessment.result_json.encode("utf-8")
    return same_bytes, inputs_hash(year, board=board) == assessment.inputs_hash


def frozen_or_live_bytes(
    year: int,
    *,
    cutoff: dt.date | None,
    region_codes: list[str] | None,
    rule_set: str | None = None,
    stored: bool = False,
) -> bytes:
    """The JSON of the API and the command: the frozen bytes when they answer the question asked."""
    assessment = Assessment.objects.select_related("rule_set").filter(year=year).first()
    if (
        assessment is not None
        and assessment.is_frozen
        and cutoff in (None, assessment.cutoff)
        and rule_set in (None, assessment.rule_set.code)
    ):
        data = json.loads(assessment.result_json)
        if region_codes is not None:
            data["regions"] = [r for r in data["regions"] if r["code"] in region_codes]
        return dumps(data)
    # Live: before the cutoff has passed, as of today like every page (SPEC §6).
    # ``stored`` (the API): the default question from the stored snapshot and today's entries
    # (scoring.snapshots), not scored on the request; the command scores live.
    today = local_date(timezone.now())
    default = snapshots.question(year, today)
    if stored and cutoff in (None, default.planned) and rule_set in (None, default.rule_set.code):
        return snapshots.stored_bytes(year, region_codes=region_codes, today=today)
    return score_year(year, cutoff=cutoff, rule_set=rule_set, today=today).to_bytes(region_codes)

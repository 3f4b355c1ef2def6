"""Keeping the search index current: on every case write, and in bulk.

A case's row is written by a ``post_save`` receiver, inside the transaction of the service that
saved the case: the index changes with the case or not at all (a refused or rolled-back action
leaves both as they were). Both databases then update their own text index in the same statement
(PostgreSQL's generated tsvector, SQLite's FTS5 triggers).

Writers that bypass ``save()`` call ``index_cases`` with the ids they wrote, in their own
transaction (``generate_load``), or announce each batch they wrote (a bulk import:
``cases.signals.after_bulk_import``), whose rows are then made from the cases in memory and
copied in, the texts that recur (enterprise names, stock results) segmented once each.
``manage.py reindex_search`` rebuilds every row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from cases.models import Case, CaseAssignment, DepartmentCase, Enterprise
from cases.signals import after_bulk_import

from .models import SearchDocument
from .segment import document_words, joined

# The case fields a document is made of: a save that names none of them leaves the row alone.
INDEXED_FIELDS = frozenset({"number", "description", "result", "policy_basis", "redirect_to", "enterprise"})
BODY_FIELDS = ("description", "result", "policy_basis", "redirect_to")
BATCH = 2000

_ID_PART = re.compile(r"[0-9A-Za-z]+")


def ident_text(number: str, credit_code: str) -> str:
    """The case number's parts (411502 2026 00017, so a search for 00017 finds it) and the credit
    code whole, lower-cased as both databases fold it."""
    parts = _ID_PART.findall(number or "")
    if credit_code:
        parts.append(credit_code)
    return joined([part.lower() for part in parts])


def body_text(description: str, result: str = "", policy_basis: str = "", redirect_to: str = "") -> str:
    words: list[str] = []
    for text in (description, result, policy_basis, redirect_to):
        words += document_words(text or "")
    return joined(words)


def enterprise_text(name: str) -> str:
    return joined(document_words(name or ""))


def department_text(ids: Iterable[int]) -> str:
    """The ``departments`` of a document: the ids, each once, ascending, space-separated."""
    return " ".join(str(pk) for pk in sorted(set(ids)))


def _departments_of(case_ids: list[int], *, model=DepartmentCase) -> dict[int, str]:
    """Each case's departments (its DepartmentCase rows: every department any routing named)."""
    named: dict[int, list[int]] = {}
    for case_id, department_id in model.objects.filter(case_id__in=case_ids).values_list("case_id", "department_id"):
        named.setdefault(case_id, []).append(department_id)
    return {case_id: department_text(ids) for case_id, ids in named.items()}


def index_departments(case_id: int) -> None:
    """Write a case's departments to its row, if a routing named a new one (a row left as it was
    is not rewritten: no new version, no tsvector computed again)."""
    departments = _departments_of([case_id]).get(case_id, "")
    SearchDocument.objects.filter(case_id=case_id).exclude(departments=departments).update(departments=departments)


def _body_of(case: Case) -> str:
    return body_text(*(getattr(case, field) for field in BODY_FIELDS))


def index_case(case: Case) -> None:
    """Write one case's row (one statement: an UPDATE of the body, or an INSERT for a new case).

    Only the body can change after intake — the number and enterprise of a case are fixed — so
    an existing row gets its body rewritten without reading the enterprise again."""
    body = _body_of(case)
    if SearchDocument.objects.filter(case_id=case.pk).update(body=body):
        return
    enterprise = case.enterprise
    SearchDocument.objects.bulk_create(
        [
            SearchDocument(
                case_id=case.pk,
                region_id=case.region_id,
                ident=ident_text(case.number, enterprise.credit_code),
                enterprise=enterprise_text(enterprise.name),
                body=body,
                departments=_departments_of([case.pk]).get(case.pk, "") if case.first_assigned_at else "",
            )
        ],
        update_conflicts=True,
        unique_fields=["case"],
        update_fields=["ident", "enterprise", "body", "departments"],
    )


@receiver(post_save, sender=Case, dispatch_uid="case_search_index_case")
def case_saved(sender, instance: Case, created: bool, raw: bool = False, update_fields=None, **kwargs) -> None:
    if raw:  # loaddata: related rows may not be there yet; run reindex_search afterwards
        return
    if update_fields is not None and not INDEXED_FIELDS.intersection(update_fields):
        return  # e.g. satisfaction, due date, supervised: nothing the index holds
    index_case(instance)


@receiver(post_save, sender=CaseAssignment, dispatch_uid="case_search_case_routed")
def case_routed(sender, instance: CaseAssignment, created: bool, raw: bool = False, **kwargs) -> None:
    """Every routing (``CaseAssignment.record``, in the routing's transaction, after the
    department's DepartmentCase row): the row names the case's departments, the new one too."""
    if raw or not created:
        return
    index_departments(instance.case_id)


@receiver(post_save, sender=Enterprise, dispatch_uid="case_search_enterprise_renamed")
def enterprise_saved(
    sender, instance: Enterprise, created: bool, raw: bool = False, update_fields=None, **kwargs
) -> None:
    """An enterprise renamed at a later intake: its earlier cases are found by the new name."""
    if raw or created or (update_fields is not None and "name" not in update_fields):
        return
    SearchDocument.objects.filter(case__enterprise_id=instance.pk).update(enterprise=enterprise_text(instance.name))


def document_row(case: dict, enterprise: tuple[str, str], departments: Iterable[int] = ()) -> tuple:
    """(case_id, region_id, ident, enterprise, body, departments) of a case written in bulk
    (``generate_load``): a case's field values by attname, its enterprise's (name, credit code)
    and the departments its routings name."""
    name, code = enterprise
    return (
        case["id"],
        case["region_id"],
        ident_text(case["number"], code),
        enterprise_text(name),
        body_text(*(case.get(field, "") for field in BODY_FIELDS)),
        department_text(departments),
    )


def index_cases(
    ids: Iterable[int] | None = None, *, case_model=Case, document_model=SearchDocument, batch: int = BATCH
) -> int:
    """Write the rows of these cases (all cases when ``ids`` is None) in batches; returns how many.

    Each batch in a transaction of its own (a savepoint inside a caller's), its cases locked as it
    reads them (as an action locks its case): a routing of one of them waits for the batch, or
    the batch reads the departments that routing wrote — never writes the departments it read
    before a routing committed over them. ``case_model``/``document_model`` let a migration pass
    its historical models."""
    # (enterprise id, name as read) → its words: one enterprise has many cases. Keyed by the name
    # each batch reads, not the id alone: batches commit one by one, and a rename between two must
    # not have the later batch write the old name's words back.
    names: dict[tuple[int, str], str] = {}
    fields = ("pk", "region_id", "number", "enterprise_id", "enterprise__name", "enterprise__credit_code", *BODY_FIELDS)
    written = 0
    # (A migration's historical model before case_search 0005 has no departments.)
    routed = "departments" in {field.name for field in document_model._meta.fields}
    written_fields = ["ident", "enterprise", "body", *(["departments"] if routed else [])]

    def flush(rows) -> int:
        documents = []
        departments = _departments_of([row[0] for row in rows]) if routed else {}
        for pk, region_id, number, enterprise_id, name, code, *body in rows:
            if (enterprise_id, name) not in names:
                names[(enterprise_id, name)] = enterprise_text(name)
            document = document_model(
                case_id=pk,
                region_id=region_id,
                ident=ident_text(number, code),
                enterprise=names[(enterprise_id, name)],
                body=body_text(*body),
            )
            if routed:
                document.departments = departments.get(pk, "")
            documents.append(document)
        document_model.objects.bulk_create(
            documents, update_conflicts=True, unique_fields=["case"], update_fields=written_fields
        )
        return len(documents)

    def locked(cases):
        return cases.select_for_update(no_key=True, of=("self",)).order_by("pk").values_list(*fields)

    if ids is None:
        last = 0
        while True:
            with transaction.atomic():
                rows = list(locked(case_model.objects.filter(pk__gt=last))[:batch])
                if not rows:
                    return written
                written += flush(rows)
            last = rows[-1][0]
    wanted = list(ids)
    for start in range(0, len(wanted), batch):
        with transaction.atomic():
            written += flush(list(locked(case_model.objects.filter(pk__in=wanted[start : start + batch]))))
    return written


@lru_cache(maxsize=20_000)
def _repeated_text_words(text: str) -> str:
    """``joined(document_words(text))`` of a text that recurs across a ledger (an enterprise's
    name, a stock result such as 已协调解决): segmented once per distinct text, not per case."""
    return joined(document_words(text))


def imported_document_row(case: Case, enterprise_name: str, credit_code: str) -> tuple:
    """(case_id, region_id, ident, enterprise, body, departments) of a case an import wrote in
    bulk, as ``index_case`` and the routing write them: the body is the description's words then
    the shorter texts' (the same words, joined the same way, as ``body_text``); a case imported
    routed has one routing, to its department."""
    parts = [joined(document_words(case.description))]
    parts += [_repeated_text_words(text) for text in (case.result, case.policy_basis, case.redirect_to) if text]
    return (
        case.pk,
        case.region_id,
        ident_text(case.number, credit_code),
        _repeated_text_words(enterprise_name) if enterprise_name else "",
        " ".join(part for part in parts if part),
        department_text([case.department_id] if case.department_id else []),
    )


# The columns of ``imported_document_row``, written by COPY on PostgreSQL (the generated tsvector
# and its GIN index follow) or executemany on SQLite (the FTS5 triggers follow).
DOCUMENT_COLUMNS = ("case_id", "region_id", "ident", "enterprise", "body", "departments")


@receiver(after_bulk_import, dispatch_uid="case_search_bulk_import")
def _index_bulk_import(sender, *, cases, enterprises, tables, renamed=(), **kwargs) -> None:
    """A batch of cases an import wrote without ``post_save``, indexed in the import's transaction.

    ``enterprises``: id → (name, credit code) of the batch's cases' enterprises as the batch
    leaves them; ``renamed``: the ids of enterprises on record before the batch whose name it
    changed — their earlier cases are found by the new name, as after ``enterprise_saved``;
    ``tables``: the import's ``TableWriter``, which writes the rows with the batch's."""
    for enterprise_id in renamed:
        name = enterprises[enterprise_id][0]
        SearchDocument.objects.filter(case__enterprise_id=enterprise_id).update(enterprise=enterprise_text(name))
    rows = [imported_document_row(case, *enterprises[case.enterprise_id]) for case in cases]
    tables.insert_rows(SearchDocument, list(DOCUMENT_COLUMNS), rows)

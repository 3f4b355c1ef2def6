"""Rule sets kept as data files: ``<code>.json`` beside this module.

``install`` writes one into the database (used by the data migration for ``xinyang-2012`` and by
``manage.py load_rule_set`` for a new year's method). A file is never edited once installed: a new
method is a new file with a new code.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CODE = "xinyang-2012"


def read(code_or_path: str) -> dict:
    path = Path(code_or_path)
    if not path.suffix:
        path = HERE / f"{code_or_path}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def check(data: dict) -> list[str]:
    """Problems with a rule-set file: totals that do not add up, duplicate numbers, unknown kinds."""
    problems = []
    kinds = {"manual", "ledger", "notices", "timeliness", "reports", "survey"}
    seen = set()
    total = Decimal(0)
    for section in data.get("sections", []):
        section_sum = Decimal(0)
        for item in section.get("items", []):
            if item["number"] in seen:
                problems.append(f"item {item['number']} appears twice")
            seen.add(item["number"])
            if item.get("kind", "manual") not in kinds:
                problems.append(f"item {item['number']}: unknown kind {item.get('kind')}")
            item_max = Decimal(item["max"])
            section_sum += item_max
            rows = sum((Decimal(c[1]) for c in item.get("criteria", [])), Decimal(0))
            if item.get("criteria") and rows != item_max:
                problems.append(f"item {item['number']}: rows add up to {rows}, not {item_max}")
        if section_sum != Decimal(section["max"]):
            problems.append(f"section {section['number']}: items add up to {section_sum}, not {section['max']}")
        total += section_sum
    if total != Decimal(100):
        problems.append(f"the sheet totals {total}, not 100")
    return problems


def install(data: dict, *, RuleSet, Section, Item, Criterion, based_on=None):
    """Create the rule set and its sheet; refuses a code that exists or a sheet that does not add up."""
    problems = check(data)
    if problems:
        raise ValueError("; ".join(problems))
    if RuleSet.objects.filter(code=data["code"]).exists():
        raise ValueError(f"rule set {data['code']} exists already; a new method needs a new code")
    rule_set = RuleSet.objects.create(
        code=data["code"],
        name=data["name"],
        version=data.get("version", 1),
        description=data.get("description", ""),
        params=data.get("params", {}),
        based_on=based_on,
    )
    for section_data in data["sections"]:
        section = Section.objects.create(
            rule_set=rule_set,
            number=section_data["number"],
            title=section_data["title"],
            max_points=Decimal(section_data["max"]),
        )
        for item_data in section_data["items"]:
            item = Item.objects.create(
                rule_set=rule_set,
                section=section,
                number=item_data["number"],
                title=item_data["title"],
                max_points=Decimal(item_data["max"]),
                kind=item_data.get("kind", "manual"),
            )
            Criterion.objects.bulk_create(
                Criterion(item=item, position=n, content=content, max_points=Decimal(points), standard=standard)
                for n, (content, points, standard) in enumerate(item_data.get("criteria", []), start=1)
            )
    return rule_set

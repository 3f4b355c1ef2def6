"""The apps stand in layers and import only downward (ARCHITECTURE: ledger < cases <
notifications < notices < scoring < desk; ``config`` wires them and is not checked).

Every import counts, at module level or inside a function — an import placed in a function to
dodge a cycle is still a dependency. Templates count too: an app's templates may include,
extend or reverse only its own app's and lower apps' templates and URLs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["ledger", "cases", "notifications", "notices", "scoring", "desk"]
RANK = {app: rank for rank, app in enumerate(LAYERS)}

# Known upward imports still being removed in parallel branches (issue 12), as
# (importing file, imported app). Removed by layer-cases/layer-ledger; the list must end empty.
ALLOWED: set[tuple[str, str]] = set()  # no exception: every app imports only the layers below it

TEMPLATE_REFERENCE = re.compile(
    r"""\{%\s*(?:include|extends)\s+["']([a-z_]+)/"""  # {% include "scoring/_x.html" %}
    r"""|\{%\s*url\s+["']([a-z_]+):"""  # {% url 'scoring:index' %}
)


def _source_files(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" not in path.relative_to(ROOT).parts:
            yield path


def imported_apps(path: Path) -> list[tuple[int, str]]:
    """(line, app) for every absolute import of one of the layered apps in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name.split(".")[0]) for name in names if name.split(".")[0] in RANK]
    return found


def upward_imports() -> dict[tuple[str, str], list[int]]:
    """{(file, higher app): [lines]} over every app's Python files."""
    upward: dict[tuple[str, str], list[int]] = {}
    for app in LAYERS:
        for path in _source_files(app):
            for line, target in imported_apps(path):
                if RANK[target] > RANK[app]:
                    upward.setdefault((path.relative_to(ROOT).as_posix(), target), []).append(line)
    return upward


def upward_template_references() -> list[str]:
    found = []
    for app in LAYERS:
        for path in sorted((ROOT / app / "templates").rglob("*.html")):
            for match in TEMPLATE_REFERENCE.finditer(path.read_text(encoding="utf-8")):
                target = match.group(1) or match.group(2)
                if target in RANK and RANK[target] > RANK[app]:
                    found.append(f"{path.relative_to(ROOT).as_posix()}: {match.group(0)}")
    return found


def test_every_layered_app_exists():
    assert [app for app in LAYERS if not (ROOT / app / "apps.py").exists()] == []


def test_no_app_imports_an_app_above_it():
    unexpected = {key: lines for key, lines in upward_imports().items() if key not in ALLOWED}
    assert unexpected == {}, "\n".join(f"{file}:{lines} imports {app}" for (file, app), lines in unexpected.items())


def test_the_allow_list_names_only_imports_still_there():
    """An entry whose import is gone must leave the list, so it cannot hide a new one later."""
    assert ALLOWED - set(upward_imports()) == set()


def test_no_template_reaches_an_app_above_its_own():
    assert upward_template_references() == []


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from scoring.provisional import x\n", [(1, "scoring")]),
        ("def f():\n    from notices import periods\n", [(2, "notices")]),
        ("import notifications.models\n", [(1, "notifications")]),
        ("from .models import Case\nfrom django.db import models\n", []),
    ],
)
def test_the_import_finder_sees_function_level_and_dotted_imports(tmp_path, source, expected):
    path = tmp_path / "module.py"
    path.write_text(source, encoding="utf-8")
    assert imported_apps(path) == expected

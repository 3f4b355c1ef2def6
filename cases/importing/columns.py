"""The columns of an imported ledger (SPEC §7): Chinese header, English alias, and when required."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    key: str  # also the English alias
    header: str  # the Chinese header offices write
    required: bool  # the column must be present in the file
    extra_aliases: tuple[str, ...] = ()


# Order matters: it is the order of the downloadable template.
COLUMNS = [
    Column("ref", "编号", True, ("external_ref", "序号编号")),
    Column("region", "县区代码", True, ("region_code", "县区")),
    Column("enterprise", "企业名称", True, ("enterprise_name",)),
    Column("credit_code", "统一社会信用代码", True, ("信用代码",)),
    Column("category", "问题类别", True),
    Column("channel", "反映渠道", False),
    Column("description", "问题内容", True),
    Column("received_at", "受理时间", True),
    Column("department", "责任单位", False),
    Column("assigned_at", "交办时间", False),
    Column("due_date", "办理时限", False),
    Column("state", "办理状态", True),
    Column("closed_at", "办结时间", False),
    Column("result", "办理结果", False),
    Column("evidence", "佐证材料", False),
    # Not in SPEC §7's table, but kept by many offices; read when present.
    Column("policy_basis", "政策依据", False),
    Column("redirect_to", "告知去向", False),
    Column("contact_name", "联系人", False),
    Column("contact_phone", "联系电话", False),
    Column("size", "企业规模", False),
]
BY_KEY = {column.key: column for column in COLUMNS}
SPEC_COLUMNS = [
    column
    for column in COLUMNS
    if column.key not in {"policy_basis", "redirect_to", "contact_name", "contact_phone", "size"}
]


def _normalise(text: str) -> str:
    # Headers come with stray spaces, full-width brackets, a trailing "*" for required, or "(ref)".
    text = str(text or "").strip().lower()
    text = re.sub(r"[\s*＊:：]", "", text)
    text = re.sub(r"[（(].*?[)）]$", "", text)
    return text.replace("-", "_")


_LOOKUP: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.key, _column.header, *_column.extra_aliases):
        _LOOKUP[_normalise(_name)] = _column.key


def key_for(header) -> str | None:
    """The column key a header cell names, or None for a column we do not read (序号, 备注…)."""
    if header is None:
        return None
    return _LOOKUP.get(_normalise(str(header)))


def describe(key: str) -> str:
    column = BY_KEY[key]
    return f"{column.header}（{column.key}）"


REQUIRED_KEYS = [column.key for column in COLUMNS if column.required]

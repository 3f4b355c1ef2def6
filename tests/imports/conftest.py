import csv
import io
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent / "data"  # copies of ../shared/examples
HEADER = [
    "编号",
    "县区代码",
    "企业名称",
    "统一社会信用代码",
    "问题类别",
    "反映渠道",
    "问题内容",
    "受理时间",
    "责任单位",
    "交办时间",
    "办理时限",
    "办理状态",
    "办结时间",
    "办理结果",
    "佐证材料",
]
GOOD = [
    "411502-2025-A001",
    "411502",
    "信阳示例纺织有限公司",
    "914115683BJ1XG612H",
    "用工对接",
    "热线电话",
    "季节性用工缺口约80人",
    "2025-03-13 09:36",
    "县人社局",
    "2025-03-13 14:00",
    "",
    "已解决",
    "2025-03-15 15:30",
    "已协调解决",
    "办理情况说明1.pdf；会议纪要2.pdf",
]


@pytest.fixture
def examples():
    return EXAMPLES


@pytest.fixture
def write_csv(tmp_path):
    """write_csv(rows, encoding="utf-8", header=HEADER) → path of a CSV file."""

    def write(rows, *, encoding="utf-8", header=HEADER, name="ledger.csv"):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)
        path = tmp_path / name
        path.write_bytes(buffer.getvalue().encode(encoding))
        return path

    return write


def row(**changes):
    """GOOD with some columns changed, by Chinese header."""
    values = dict(zip(HEADER, GOOD, strict=True))
    values.update(changes)
    return [values[h] for h in HEADER]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploaded evidence and import files go to a temporary folder, not the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"

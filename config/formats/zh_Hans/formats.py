"""Chinese input formats with ISO first.

Django's zh_Hans formats put ``%Y/%m/%d`` first, and a form widget renders its initial value in
the first input format. An ``<input type="date">`` only accepts ``2026-01-01``: a value rendered
as ``2026/01/01`` shows as empty and is saved back as nothing. Everything not named here (the
display formats) still comes from Django's own zh_Hans module.
"""

DATE_INPUT_FORMATS = [
    "%Y-%m-%d",  # '2026-01-01', what <input type="date"> sends and accepts
    "%Y/%m/%d",  # '2026/01/01'
    "%Y年%m月%d日",  # '2026年1月1日'
]

DATETIME_INPUT_FORMATS = [
    "%Y-%m-%dT%H:%M",  # <input type="datetime-local">
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
]

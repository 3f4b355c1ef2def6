"""Matched words marked in a text, safely: every piece of the user's text is escaped, and only the
``<mark>`` tags we add are markup — a description holding ``<script>`` shows as text."""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def _pattern(words) -> re.Pattern | None:
    # Longest first, so 用电增容 is marked whole rather than as 用电 + 增容.
    words = sorted({w for w in words if w}, key=len, reverse=True)
    if not words:
        return None
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)


def highlight(text: str, words, *, width: int | None = None) -> SafeString:
    """``text`` as HTML with each occurrence of the words in ``<mark>``.

    With ``width``, a window of about that many characters around the first match (…-marked
    where cut), so a match deep in a long description still shows in a table cell."""
    text = text or ""
    pattern = _pattern(words)
    matches = list(pattern.finditer(text)) if pattern else []
    start, end = 0, len(text)
    if width is not None and len(text) > width:
        first = matches[0].start() if matches else 0
        start = max(0, min(first - width // 3, len(text) - width))
        end = start + width
    pieces = []
    if start > 0:
        pieces.append("…")
    cursor = start
    for match in matches:
        if match.start() < cursor or match.end() > end:
            continue
        pieces.append(escape(text[cursor : match.start()]))
        pieces.append(f"<mark>{escape(match.group())}</mark>")
        cursor = match.end()
    pieces.append(escape(text[cursor:end]))
    if end < len(text):
        pieces.append("…")
    return mark_safe("".join(pieces))  # noqa: S308 — every piece of user text above is escaped

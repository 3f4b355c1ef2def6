"""The API's JSON parser, with the limits a request body must keep (REST_FRAMEWORK's
DEFAULT_PARSER_CLASSES).

DRF's own JSON parser reads the whole stream, whatever its size (Django's
DATA_UPLOAD_MAX_MEMORY_SIZE guards only ``request.body`` and forms), and a deeply nested body
makes ``json`` raise RecursionError — a 500. This one answers 400 with a Chinese ``detail`` for:
a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE, nesting deeper than API_JSON_MAX_DEPTH, text
that no database or file can hold (NUL, lone surrogates), and anything that is not JSON.
"""

from __future__ import annotations

import json
import re

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.settings import api_settings

# Our bodies are at most three levels deep ({"enterprise": {...}}, {"recipients": [{...}]},
# {"inputs": {...}}); eight leaves room without letting a client make the server recurse.
DEFAULT_MAX_DEPTH = 8
_UNSTORABLE = re.compile("[\x00\ud800-\udfff\ufffe\uffff]")


def _strict_constant(name):
    raise ValueError(name)


def _read_limited(stream, limit: int) -> bytes:
    data = stream.read(limit + 1) if stream is not None else b""
    if len(data) > limit:
        raise ParseError(_("The request body is too large (at most %(n)d bytes).") % {"n": limit})
    return data


def _unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def check_shape(value, *, max_depth: int) -> None:
    """Walk the parsed body without recursion: refuse deep nesting and unstorable text."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise ParseError(_("The JSON body is nested too deeply (at most %(n)d levels).") % {"n": max_depth})
            children = item.items() if isinstance(item, dict) else ((None, child) for child in item)
            for key, child in children:
                if isinstance(key, str) and _unstorable(key):
                    raise ParseError(_("The request contains a NUL or another character that cannot be stored."))
                pending.append((child, depth + 1))
        elif isinstance(item, str) and _unstorable(item):
            raise ParseError(_("The request contains a NUL or another character that cannot be stored."))


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = _read_limited(stream, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        try:
            text = raw.decode(encoding)
            body = json.loads(text, parse_constant=_strict_constant if api_settings.STRICT_JSON else None)
        except RecursionError:
            raise ParseError(_("The JSON body is nested too deeply.")) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(_("The body is not valid JSON: %(error)s") % {"error": exc}) from None
        check_shape(body, max_depth=getattr(settings, "API_JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH))
        return body

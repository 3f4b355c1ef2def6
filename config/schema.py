"""What every API operation can answer, added to the OpenAPI schema in one place.

Views document their own success and the refusals particular to them (403, 409 …) with
``extend_schema``. Some answers come from the machinery every operation passes through, and are
documented here so the schema tells the truth for all of them (SPECTACULAR_SETTINGS'
POSTPROCESSING_HOOKS):

- 400: bad input — a control character in the address (config.middleware), a body that is too
  large, too deeply nested or not JSON (config.parsers), or the fields themselves;
- 401: no or a wrong token / session;
- 404: an operation with an id or a code in its path — no such object, or outside scope.

Every free string query parameter gets the pattern of ``cases.input_rules`` (no control
characters), since the middleware refuses anything else.
"""
from __future__ import annotations

from cases.input_rules import ECMA_LINE_PATTERN

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# {"detail": "…"} or {"field": ["…"], …} (config.api_errors.flat_errors).
BAD_INPUT = {
    "type": "object",
    "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
}
DEFAULTS = {
    "400": ("Bad input: {field: [message]} or {detail: message}", BAD_INPUT),
    "401": ("Not authenticated", ERROR),
}
NOT_FOUND = ("No such object, or outside this user's scope", ERROR)
METHODS = {"get", "put", "patch", "post", "delete"}


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _document_query_strings(operation: dict) -> None:
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        if parameter.get("in") not in ("query", "path") or schema.get("type") != "string":
            continue
        if not ({"enum", "pattern", "format"} & set(schema)):
            schema["pattern"] = ECMA_LINE_PATTERN


def add_common_responses(result, generator, request, public):
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code, (description, schema) in DEFAULTS.items():
                responses.setdefault(code, _json(description, schema))
            if "{" in path:
                responses.setdefault("404", _json(*NOT_FOUND))
            _document_query_strings(operation)
    return result

"""What every API operation can answer, added to the OpenAPI schema in one place.

Views document their own success and the refusals particular to them (403, 409 …) with
``extend_schema``. Some answers come from the machinery every operation passes through, and are
documented here so the schema tells the truth for all of them (SPECTACULAR_SETTINGS'
POSTPROCESSING_HOOKS):

- 400: bad input — a control character in the address (config.middleware), a body that is too
  large, too deeply nested or not JSON (config.parsers), or the fields themselves;
- 401: no or a wrong token / session;
- 404: no such object (an id, a code, a page) or outside the user's scope;
- 415 on every operation with a body: a media type it does not read;
- 403 and 409 on every write: a role that may not, and a conflict with a change made meanwhile
  (config.api_errors maps a lost unique race to 409 on any write).

Every free string query parameter gets the pattern of ``cases.input_rules`` (no control
characters), since the middleware refuses anything else.
"""

from __future__ import annotations

from cases.input_rules import ECMA_FILTER_DAY_PATTERN, ECMA_URL_PATTERN

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
WRITES = {
    "403": ("This user's role may not do this", ERROR),
    "409": ("Not possible in the object's current state, or lost a race", ERROR),
}
# A body whose Content-Type no parser takes (or a multipart body without its boundary).
UNSUPPORTED = ("The body's media type is not one this operation reads", ERROR)
METHODS = {"get", "put", "patch", "post", "delete"}
# Integer query parameters are ids and page numbers: 1 and up (a page size at most 500).
INTEGER_BOUNDS = {"page_size": {"minimum": 1, "maximum": 500}}


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _document_query_strings(operation: dict) -> None:
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        if parameter.get("in") == "query" and schema.get("type") in ("integer", "number"):
            # django-filter's number filters document "number"; ours take ids, whole numbers.
            schema["type"] = "integer"
            for key, value in INTEGER_BOUNDS.get(parameter["name"], {"minimum": 1}).items():
                schema.setdefault(key, value)
        if parameter.get("in") == "query" and schema.get("format") == "date" and not parameter.get("required"):
            # A filter's date may be left empty (no bound), as in the 台帐 page's filter form.
            parameter["schema"] = {
                "type": "string",
                "pattern": ECMA_FILTER_DAY_PATTERN,
                "anyOf": [{"format": "date"}, {"maxLength": 0}],
            }
            continue
        if parameter.get("in") not in ("query", "path") or schema.get("type") != "string":
            continue
        if (
            parameter.get("in") == "query"
            and "enum" in schema
            and not parameter.get("required")
            and "" not in schema["enum"]
        ):
            # An empty choice means "any", as the 台帐 page's filter form sends it.
            schema["enum"] = [*schema["enum"], ""]
        if not ({"enum", "pattern", "format"} & set(schema)):
            schema["pattern"] = ECMA_URL_PATTERN


def add_common_responses(result, generator, request, public):
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code, (description, schema) in DEFAULTS.items():
                responses.setdefault(code, _json(description, schema))
            responses.setdefault("404", _json(*NOT_FOUND))
            if method != "get":
                for code, (description, schema) in WRITES.items():
                    responses.setdefault(code, _json(description, schema))
            if "requestBody" in operation:
                responses.setdefault("415", _json(*UNSUPPORTED))
            _document_query_strings(operation)
    return result

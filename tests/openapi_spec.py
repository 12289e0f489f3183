"""WAHA's published OpenAPI spec as JSON Schema validators, for fidelity tests.

The spec (``../shared/waha/openapi.json`` beside the repo) is the source of truth for every
WAHA answer, but it is written in OpenAPI 3.0 habits under a 3.1 header, so it cannot be fed
to a JSON Schema validator as is. This module loads it once and normalises it:

* ``nullable: true`` becomes a ``null``-accepting type (and ``null`` joins any ``enum``);
* a property-level ``required: true`` (invalid JSON Schema) moves into its parent's
  ``required`` list, so ``timestamps.activity`` and ``worker.id`` stay demanded;
* the gaps documented in ``waha/CONTRACT.md`` are patched: ``WebhookConfig.events`` items
  are strings, the pairing-code operation answers ``{"code": ...}``, webhook envelopes'
  ``event`` is a string, and ``me``/``config``/``presence`` may be null in real answers
  (``GET /api/sessions/{session}/me`` answers ``null`` until WORKING).

Everything else (required keys, enums, types) is enforced exactly as published.

Usage::

    from tests.openapi_spec import validate_response, validate_schema
    validate_response("/api/sessions/{session}", "get", 200, body)   # raises ValidationError
    validate_schema("WAHAWebhookSessionStatus", event)
    validate_request("/api/sessions/abc/start", "post")              # concrete paths work too
    match_path("get", "/api/abc/auth/qr")  # -> "/api/{session}/auth/qr"

The spec is read from env ``WAHA_OPENAPI`` when set, else from ``shared/`` beside the repo,
else from the copy in ``docs/waha/`` (kept equal to shared's).
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

REPO_ROOT = Path(__file__).resolve().parents[1]
_SHARED_SPEC = REPO_ROOT.parent / "shared" / "waha" / "openapi.json"
#: A copy kept in the repo, so a clone without shared/ beside it still runs the contract tests.
_VENDORED_SPEC = REPO_ROOT / "docs" / "waha" / "openapi.json"
SPEC_PATH = Path(os.environ.get("WAHA_OPENAPI") or (_SHARED_SPEC if _SHARED_SPEC.is_file() else _VENDORED_SPEC))
SPEC_URI = "urn:waha:openapi"

# Properties that real WAHA answers with null although the spec types them as objects
# (CONTRACT.md, "Reading the spec").
NULLABLE_IN_PRACTICE: dict[str, tuple[str, ...]] = {
    "SessionInfo": ("me", "config", "presence"),
    "SessionDTO": ("config",),
}
NULLABLE_OPERATIONS: tuple[tuple[str, str, str], ...] = (
    ("/api/sessions/{session}/me", "get", "200"),
)
PAIRING_CODE_SCHEMA = {
    "type": "object",
    "properties": {"code": {"type": "string"}},
    "required": ["code"],
}


def _allow_null(schema: dict[str, Any]) -> dict[str, Any]:
    """Return a schema that also accepts null, keeping every other constraint."""
    if "$ref" in schema or "allOf" in schema or "oneOf" in schema or "anyOf" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    result = dict(schema)
    kind = result.get("type")
    if isinstance(kind, str):
        result["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        result["type"] = [*kind, "null"]
    if "enum" in result and None not in result["enum"]:
        result["enum"] = [*result["enum"], None]
    return result


def _normalise(node: Any) -> Any:
    """Rewrite OpenAPI 3.0 idioms into JSON Schema 2020-12, bottom-up."""
    if isinstance(node, list):
        return [_normalise(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _normalise(value) for key, value in node.items()}
    properties = node.get("properties")
    if isinstance(properties, dict):
        required = list(node.get("required") or []) if isinstance(node.get("required"), list) else []
        for name, prop in properties.items():
            if isinstance(prop, dict) and prop.get("required") is True:
                prop.pop("required")
                if name not in required:
                    required.append(name)
        if required:
            node["required"] = required
    if node.get("nullable") is True:
        node.pop("nullable")
        node = _allow_null(node)
    elif "nullable" in node and isinstance(node["nullable"], bool):
        node.pop("nullable")
    return node


def _patch_known_gaps(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    schemas["WebhookConfig"]["properties"]["events"]["items"] = {"type": "string"}
    for name, schema in schemas.items():
        props = schema.get("properties") or {}
        if name.startswith("WAHAWebhook"):
            event = props.get("event")
            if isinstance(event, dict) and event.get("type") == "object":
                event["type"] = "string"
            if "me" in props:
                props["me"] = _allow_null(props["me"])
    for name, fields in NULLABLE_IN_PRACTICE.items():
        props = schemas[name]["properties"]
        for field in fields:
            props[field] = _allow_null(props[field])
    request_code = spec["paths"]["/api/{session}/auth/request-code"]["post"]["responses"]["201"]
    request_code["content"] = {"application/json": {"schema": PAIRING_CODE_SCHEMA}}
    for path, method, status in NULLABLE_OPERATIONS:
        content = spec["paths"][path][method]["responses"][status]["content"]["application/json"]
        content["schema"] = _allow_null(content["schema"])


@functools.cache
def load_spec() -> dict[str, Any]:
    """The normalised, patched spec (cached; treat it as read-only)."""
    raw = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    spec = _normalise(copy.deepcopy(raw))
    _patch_known_gaps(spec)
    return spec


@functools.cache
def _registry() -> Registry:
    resource = Resource.from_contents(load_spec(), default_specification=DRAFT202012)
    return Registry().with_resource(SPEC_URI, resource)


def _pointer(*parts: str) -> str:
    escaped = [part.replace("~", "~0").replace("/", "~1") for part in parts]
    return "#/" + "/".join(quote(part, safe="~") for part in escaped)


def _validator_for_pointer(pointer: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"$ref": SPEC_URI + pointer}, registry=_registry())


def response_schema(
    path: str, method: str, status: int | str, content_type: str = "application/json"
) -> dict[str, Any] | None:
    """The response schema of an operation, or None when the spec declares no body."""
    response = load_spec()["paths"][path][method.lower()]["responses"][str(status)]
    content = response.get("content") or {}
    media = content.get(content_type)
    return None if media is None else media.get("schema")


def validate_response(
    path: str, method: str, status: int | str, body: Any, content_type: str = "application/json"
) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``body`` fits the operation's response.

    ``path`` is the spec's path template (``/api/sessions/{session}``) or a concrete path
    (``/api/sessions/abc``), which is matched to its template first.
    An operation declared without a body demands an empty one (``None`` or ``b""``).
    """
    path = match_path(method, path)
    if response_schema(path, method, status, content_type) is None:
        if body not in (None, b"", ""):
            raise jsonschema.ValidationError(
                f"{method.upper()} {path} -> {status} declares no body, got {body!r:.200}"
            )
        return
    pointer = _pointer(
        "paths", path, method.lower(), "responses", str(status), "content", content_type, "schema"
    )
    _validator_for_pointer(pointer).validate(body)


def validate_schema(name: str, instance: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``instance`` fits ``components.schemas[name]``."""
    if name not in load_spec()["components"]["schemas"]:
        raise KeyError(f"no schema named {name!r} in the WAHA spec")
    _validator_for_pointer(_pointer("components", "schemas", name)).validate(instance)


def is_valid_response(path: str, method: str, status: int | str, body: Any) -> bool:
    try:
        validate_response(path, method, status, body)
    except jsonschema.ValidationError:
        return False
    return True


# -- requests and path templates (added for the WAHA client's contract test) ---------------------

#: Default ``body`` of validate_request: "no body at all", distinct from a JSON ``null``.
NO_BODY: Any = type("NoBody", (), {"__repr__": lambda self: "NO_BODY"})()


@functools.cache
def _templates() -> tuple[tuple[str, re.Pattern[str]], ...]:
    def regex(template: str) -> re.Pattern[str]:
        parts = re.split(r"(\{[^/{}]+\})", template)
        return re.compile("".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts))

    # Most literal template first, so /api/server/version wins over /api/{session}/...
    ordered = sorted(load_spec()["paths"], key=lambda template: (template.count("{"), -len(template)))
    return tuple((template, regex(template)) for template in ordered)


def match_path(method: str, path: str) -> str:
    """The spec's path template for a concrete path (or the template itself).

    Raises ``jsonschema.ValidationError`` when no operation of the spec has that method and path.
    """
    paths = load_spec()["paths"]
    path = path.split("?", 1)[0]
    method = method.lower()
    if method in paths.get(path, {}):
        return path
    for template, regex in _templates():
        if regex.fullmatch(path) and method in paths[template]:
            return template
    raise jsonschema.ValidationError(f"{method.upper()} {path} is not an operation of WAHA's spec")


def validate_request(
    path: str,
    method: str,
    body: Any = NO_BODY,
    *,
    query: Mapping[str, str] | None = None,
    content_type: str = "application/json",
) -> str:
    """Raise ``jsonschema.ValidationError`` unless the request fits the operation; return its template.

    Checks query parameters (declared, required ones present, enums, booleans as
    "true"/"false" as on the wire) and the body (leave it out for "no body").
    """
    template = match_path(method, path)
    operation = load_spec()["paths"][template][method.lower()]
    where = f"{method.upper()} {template}"
    problems = _query_problems(operation, dict(query or {}), where)
    declared = operation.get("requestBody")
    if body is NO_BODY:
        if declared and declared.get("required"):
            problems.append(f"{where}: the spec requires a request body, none was sent")
    elif not declared:
        problems.append(f"{where}: the spec declares no request body, got {body!r:.200}")
    elif content_type not in declared.get("content", {}):
        problems.append(f"{where}: request body type {content_type} is not declared")
    else:
        pointer = _pointer("paths", template, method.lower(), "requestBody", "content", content_type, "schema")
        problems += [
            f"{where} body at /{'/'.join(map(str, error.path))}: {error.message}"
            for error in _validator_for_pointer(pointer).iter_errors(body)
        ]
    if problems:
        raise jsonschema.ValidationError("\n".join(problems))
    return template


def _query_problems(operation: Mapping[str, Any], query: Mapping[str, str], where: str) -> list[str]:
    declared = {p["name"]: p for p in operation.get("parameters", []) if p.get("in") == "query"}
    problems = [f"{where}: query parameter {name!r} is not declared" for name in query if name not in declared]
    for name, parameter in declared.items():
        if name not in query:
            if parameter.get("required"):
                problems.append(f"{where}: required query parameter {name!r} is missing")
            continue
        schema, value = parameter.get("schema", {}), query[name]
        if schema.get("type") == "boolean" and value not in ("true", "false"):
            problems.append(f"{where}: query {name}={value!r} is not a boolean")
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{where}: query {name}={value!r} is not one of {schema['enum']}")
    return problems

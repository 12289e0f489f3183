"""WAHA's request validation: NestJS's ValidationPipe over class-validator DTOs.

Real WAHA answers a bad DTO with 400 and a *list* of messages in class-validator's words
(``"name must be shorter than or equal to 54 characters"``), nested fields prefixed with
their path (``"config.webhooks.0.url must be a URL address"``). It runs with
``whitelist: true``: unknown keys are silently stripped, not refused. It has no rule on the
characters of a session name. Each function here returns the cleaned value or raises
``errors.bad_request`` with every problem found, like the pipe does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from . import errors

SESSION_NAME_MAX_LENGTH = 54
WEBHOOK_EVENTS = (
    "session.status", "message", "message.reaction", "message.any", "message.ack",
    "message.ack.group", "message.waiting", "message.revoked", "message.edited", "state.change",
    "group.join", "group.leave", "group.v2.join", "group.v2.leave", "group.v2.update",
    "group.v2.participants", "presence.update", "poll.vote", "poll.vote.failed", "chat.archive",
    "call.received", "call.accepted", "call.rejected", "label.upsert", "label.deleted",
    "label.chat.added", "label.chat.deleted", "event.response", "event.response.failed",
    "engine.event", "*",
)
"""``WAHAEvents`` plus the wildcard, from the 2026.7.1 spec."""
SESSION_CONFIG_KEYS = ("metadata", "proxy", "debug", "ignore", "client", "noweb", "gows", "webjs", "webhooks")
WEBHOOK_KEYS = ("url", "events", "hmac", "retries", "customHeaders")
BOOLEAN_QUERY = {"true": True, "false": False, "1": True, "0": False}


def _is_url(value: Any) -> bool:
    if not isinstance(value, str) or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _webhook(index: int, webhook: Any, problems: list[str]) -> dict[str, Any]:
    where = f"config.webhooks.{index}"
    if not isinstance(webhook, dict):
        problems.append(f"{where} must be an object")
        return {}
    clean = {key: webhook[key] for key in WEBHOOK_KEYS if key in webhook}
    if not _is_url(webhook.get("url")):
        problems.append(f"{where}.url must be a URL address")
    events = webhook.get("events")
    if not isinstance(events, list):
        problems.append(f"{where}.events must be an array")
    elif not all(isinstance(e, str) and e in WEBHOOK_EVENTS for e in events):
        problems.append(
            f"{where}.each value in events must be one of the following values: {', '.join(WEBHOOK_EVENTS)}"
        )
    hmac = webhook.get("hmac")
    if hmac is not None:
        if not isinstance(hmac, dict):
            problems.append(f"{where}.hmac must be an object")
        elif hmac.get("key") is not None and not isinstance(hmac["key"], str):
            problems.append(f"{where}.hmac.key must be a string")
        else:
            clean["hmac"] = {"key": hmac["key"]} if "key" in hmac else {}
    headers = webhook.get("customHeaders")
    if headers is not None and not (
        isinstance(headers, list)
        and all(isinstance(h, dict) and isinstance(h.get("name"), str) and isinstance(h.get("value"), str) for h in headers)
    ):
        problems.append(f"{where}.customHeaders must be an array of {{name, value}} strings")
    retries = webhook.get("retries")
    if retries is not None and not isinstance(retries, dict):
        problems.append(f"{where}.retries must be an object")
    return clean


def session_config(config: Any, problems: list[str]) -> dict[str, Any] | None:
    """The config with unknown keys stripped; problems appended in class-validator's words."""
    if config is None:
        return None
    if not isinstance(config, dict):
        problems.append("config must be an object")
        return None
    clean = {key: config[key] for key in SESSION_CONFIG_KEYS if key in config}
    metadata = config.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        problems.append("config.metadata must be an object")
    webhooks = config.get("webhooks")
    if webhooks is not None:
        if not isinstance(webhooks, list):
            problems.append("config.webhooks must be an array")
        else:
            clean["webhooks"] = [_webhook(i, w, problems) for i, w in enumerate(webhooks)]
    return clean


def _name(body: dict[str, Any], problems: list[str]) -> str | None:
    name = body.get("name")
    if name is None:
        return None
    if not isinstance(name, str):
        problems.append("name must be a string")
        return None
    if len(name) > SESSION_NAME_MAX_LENGTH:
        problems.append(f"name must be shorter than or equal to {SESSION_NAME_MAX_LENGTH} characters")
    return name or None


def create_request(body: Any, start_default: bool) -> tuple[str | None, dict[str, Any] | None, bool]:
    """``SessionCreateRequest``: (name or None for a generated one, config, start)."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise errors.bad_request(["request body must be an object"])
    problems: list[str] = []
    name = _name(body, problems)
    start = body.get("start", start_default)
    if start is None:
        start = start_default
    if not isinstance(start, bool):
        problems.append("start must be a boolean value")
    config = session_config(body.get("config"), problems)
    if problems:
        raise errors.bad_request(problems)
    return name, config, start


def update_request(body: Any) -> dict[str, Any] | None:
    """``SessionUpdateRequest``: the new config."""
    if not isinstance(body, dict):
        raise errors.bad_request(["request body must be an object"])
    problems: list[str] = []
    config = session_config(body.get("config"), problems)
    if problems:
        raise errors.bad_request(problems)
    return config


def named_request(body: Any, *, with_config: bool = False) -> tuple[str, dict[str, Any] | None, dict[str, Any]]:
    """The deprecated ``{name, ...}`` bodies of ``POST /api/sessions/{start,stop,logout}``."""
    if not isinstance(body, dict):
        raise errors.bad_request(["name must be a string"])
    problems: list[str] = []
    name = _name(body, problems)
    if name is None and not problems:
        problems.append("name must be a string")
    config = session_config(body.get("config"), problems) if with_config else None
    if "logout" in body and not isinstance(body["logout"], bool):
        problems.append("logout must be a boolean value")
    if problems:
        raise errors.bad_request(problems)
    assert name is not None
    return name, config, body


def boolean_query(name: str, raw: str | None) -> bool | None:
    """A boolean query parameter as WAHA's pipe reads it; anything else is a 400."""
    if raw is None:
        return None
    value = BOOLEAN_QUERY.get(raw.lower())
    if value is None:
        raise errors.bad_request([f"{name} must be a boolean value"])
    return value


def phone_request(body: Any) -> str:
    if not isinstance(body, dict) or not isinstance(body.get("phoneNumber"), str):
        raise errors.bad_request(["phoneNumber must be a string"])
    return body["phoneNumber"]

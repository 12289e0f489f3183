"""What can go wrong talking to WAHA, as exceptions core can catch by meaning.

`str()` of every error is written for the person in front of the page; the
attributes keep the detail for logs. No message ever contains the API key:
it travels in a header only, and body excerpts are scrubbed of it anyway in
case a proxy echoes request headers back.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

#: Longest piece of a WAHA answer kept on an error; enough to diagnose, too short to flood a log.
BODY_EXCERPT_LIMIT = 300


class WahaError(Exception):
    """Base of every WAHA failure. `str()` is fit for a user."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body_excerpt: str | None = None,
        method: str | None = None,
        path: str | None = None,
        session: str | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body_excerpt = body_excerpt
        self.method = method
        self.path = path
        self.session = session
        #: How many requests were sent; >1 means an earlier attempt may have reached WAHA.
        self.attempts = attempts

    def __str__(self) -> str:
        return self.message


class WahaUnauthorized(WahaError):
    """401: the WAHA key wahaweb sends is missing or wrong (an operator problem)."""


class WahaNotFound(WahaError):
    """404: the session (or route) does not exist on this WAHA."""


class WahaUnprocessable(WahaError):
    """422: WAHA understood the request and refused it; `.waha_message` says why."""

    def __init__(self, message: str, *, waha_message: str, **details: Any) -> None:
        super().__init__(message, **details)
        self.waha_message = waha_message


class WahaAlreadyExists(WahaUnprocessable):
    """422 on create: a session with that name is already on WAHA."""


class WahaWrongState(WahaUnprocessable):
    """422 because the session is not in the status the request needs (e.g. QR while FAILED)."""

    def __init__(
        self,
        message: str,
        *,
        current_status: str | None,
        expected: list[str],
        **details: Any,
    ) -> None:
        super().__init__(message, **details)
        self.current_status = current_status
        self.expected = expected


class WahaUnavailable(WahaError):
    """WAHA could not be reached, or kept answering 5xx, after every retry."""


class WahaTimeout(WahaUnavailable):
    """WAHA did not answer in time: the call's deadline passed, or a non-idempotent request
    timed out and was not retried (it may have been carried out: check before repeating it)."""


class WahaHTTPError(WahaError):
    """Any other answer wahaweb did not expect (400, 403, 409, an unreadable body...)."""


class WahaBadRequest(WahaHTTPError):
    """400: WAHA's validation refused the request; `.problems` lists what it said, one per item."""

    def __init__(self, message: str, *, problems: list[str], **details: Any) -> None:
        super().__init__(message, **details)
        self.problems = problems


def body_excerpt(response: httpx.Response, api_key: str | None = None) -> str:
    """The start of a response body, at most BODY_EXCERPT_LIMIT characters, key scrubbed."""
    try:
        text = response.text
    except Exception:  # undecodable bytes: an excerpt must never raise
        text = repr(response.content[:BODY_EXCERPT_LIMIT])
    return excerpt(text, api_key)


def excerpt(text: str, api_key: str | None = None) -> str:
    if api_key:
        text = text.replace(api_key, "***")
    text = " ".join(text.split())
    if len(text) > BODY_EXCERPT_LIMIT:
        text = text[: BODY_EXCERPT_LIMIT - 1] + "…"
    return text


def waha_message_of(response: httpx.Response) -> str:
    """WAHA's own explanation, wherever this WAHA version put it.

    Seen shapes: Nest's `{"message": "...", "error": "Unprocessable Entity"}`
    (where `error` is only the reason phrase), validation lists
    `{"message": ["a", "b"]}`, WAHA's `{"error": "..."}` and
    `{"exception": {"message": "..."}}`, and plain text.
    """
    body = _json_or_none(response)
    if isinstance(body, dict):
        exception = body.get("exception")
        candidates = [
            exception.get("message") if isinstance(exception, dict) else None,
            body.get("message"),
            body.get("error"),
        ]
        for candidate in candidates:
            text = _as_text(candidate)
            if text:
                return text
    elif isinstance(body, str) and body.strip():
        return body.strip()
    text = response.text.strip() if response.content else ""
    return text or response.reason_phrase or f"HTTP {response.status_code}"


def error_from_response(
    response: httpx.Response,
    *,
    method: str,
    path: str,
    session: str | None,
    attempts: int,
    api_key: str | None,
) -> WahaError:
    """Map a 4xx answer to the error core catches."""
    status = response.status_code
    details: dict[str, Any] = {
        "status_code": status,
        "body_excerpt": body_excerpt(response, api_key),
        "method": method,
        "path": path,
        "session": session,
        "attempts": attempts,
    }
    if status == 401:
        return WahaUnauthorized(
            "WAHA refused wahaweb's API key (401 Unauthorized): "
            "check WAHA_API_KEY against the key WAHA runs with.",
            **details,
        )
    if status == 404:
        what = f"Session '{session}'" if session else f"{method} {path}"
        return WahaNotFound(f"{what} was not found on WAHA.", **details)
    if status == 422:
        return _unprocessable(response, details, api_key)
    if status == 400:
        return _bad_request(response, details, api_key)
    return WahaHTTPError(
        f"WAHA answered {status} {response.reason_phrase} to {method} {path}: "
        f"{details['body_excerpt'] or '(empty body)'}",
        **details,
    )


def _unprocessable(response: httpx.Response, details: dict[str, Any], api_key: str | None) -> WahaError:
    waha_message = excerpt(waha_message_of(response), api_key)
    body = _json_or_none(response)
    if isinstance(body, dict) and "expected" in body:
        expected = body.get("expected")
        expected_list = [str(item) for item in expected] if isinstance(expected, list) else [str(expected)]
        current = body.get("status")
        session = details["session"] or body.get("session") or "the session"
        return WahaWrongState(
            f"Session '{session}' is {current or 'in another state'}, "
            f"but this needs {' or '.join(expected_list)}. ({waha_message})",
            waha_message=waha_message,
            current_status=str(current) if current is not None else None,
            expected=expected_list,
            **details,
        )
    if "already exists" in waha_message.lower():
        return WahaAlreadyExists(f"WAHA refused: {waha_message}", waha_message=waha_message, **details)
    return WahaUnprocessable(f"WAHA refused: {waha_message}", waha_message=waha_message, **details)


def _bad_request(response: httpx.Response, details: dict[str, Any], api_key: str | None) -> WahaError:
    """Nest's validation list (`{"message": ["a", "b"]}`) as one sentence a person can read."""
    body = _json_or_none(response)
    raw = body.get("message") if isinstance(body, dict) else None
    items = raw if isinstance(raw, list) else [raw] if raw is not None else []
    problems = [excerpt(str(item), api_key) for item in items if str(item).strip()]
    if not problems:
        problems = [excerpt(waha_message_of(response), api_key)]
    sentence = "; ".join(problem.rstrip(".") for problem in problems)
    return WahaBadRequest(
        f"WAHA refused the request as invalid (400 Bad Request): {sentence}.", problems=problems, **details
    )


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list):
        parts = [str(item).strip() for item in value if str(item).strip()]
        return "; ".join(parts) or None
    return None

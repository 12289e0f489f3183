"""WAHA's error answers, shaped the way its NestJS stack shapes them.

Clients branch on these bodies (the status code, ``message``, the QR 422's ``status``), so
the simulator raises them from its engine and the routes turn them into responses as is.
"""

from __future__ import annotations

import base64
from http import HTTPStatus
from typing import Any

PLUS_VERSION_DOCS = "https://waha.devlike.pro/docs/how-to/plus-version/"


class SimulatorError(Exception):
    """An HTTP answer WAHA would give instead of the normal one."""

    def __init__(self, status_code: int, body: Any):
        self.status_code = status_code
        self.body = body
        super().__init__(body.get("message", body) if isinstance(body, dict) else body)


def nest_error(status_code: int, message: Any) -> SimulatorError:
    """NestJS's ``HttpException`` body: ``{message, error, statusCode}``."""
    return SimulatorError(
        status_code,
        {"message": message, "error": HTTPStatus(status_code).phrase, "statusCode": status_code},
    )


def unauthorized() -> SimulatorError:
    return SimulatorError(401, {"message": "Unauthorized", "statusCode": 401})


def session_not_found(name: str) -> SimulatorError:
    return nest_error(404, "Session not found")


def session_not_running(name: str) -> SimulatorError:
    """What routes that need a live engine (me, QR, pairing code) answer for a stopped session."""
    return nest_error(
        404,
        f"We didn't find a session with name '{name}'.\n"
        f"Please start it first by using POST /api/sessions/{name}/start request",
    )


def unprocessable(message: str) -> SimulatorError:
    return nest_error(422, message)


def bad_request(messages: list[str]) -> SimulatorError:
    """WAHAValidationPipe answers 400 with the list of what is wrong."""
    return nest_error(400, messages)


def only_default_session(name: str, template: str) -> SimulatorError:
    """``template`` is the profile's text (``{name}``/``{encoded}`` filled in when it has them)."""
    encoded = base64.b64encode(name.encode("utf-8")).decode("ascii")
    return unprocessable(template.format(name=name, encoded=encoded))


def plus_only(feature: str = "The feature") -> SimulatorError:
    """What a Core server answers for a Plus feature (``/health`` on 2024.10)."""
    return unprocessable(f"{feature} is available only in Plus version. Check this out: {PLUS_VERSION_DOCS}")


def pairing_wrong_status(status: str) -> SimulatorError:
    """NOWEB's answer to ``request-code`` outside SCAN_QR_CODE (after waiting for the QR)."""
    return unprocessable(f"Can request code only in SCAN_QR_CODE status. The current status is {status}")


def wrong_status_for_qr(name: str, status: str) -> SimulatorError:
    """WAHA answers this one with a bare body, not the NestJS envelope."""
    return SimulatorError(
        422,
        {
            "error": "Session status is not as expected. Try again later or restart the session",
            "session": name,
            "status": status,
            "expected": ["SCAN_QR_CODE"],
        },
    )

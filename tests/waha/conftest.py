"""A WahaClient wired to a respx router, and a sleep that records instead of waiting."""

from __future__ import annotations

import httpx
import pytest
import respx

from wahaweb.waha import WahaClient

BASE_URL = "http://waha.test"
#: Distinctive so a leak is easy to find in any message or log line.
API_KEY = "key-Zq8-NEVER-SHOW-4711"


class RecordingSleep:
    """Stands in for asyncio.sleep: the retry schedule is asserted, not waited out."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE_URL, assert_all_called=False)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def client(router: respx.Router, sleep: RecordingSleep):
    waha = WahaClient(BASE_URL, API_KEY, transport=httpx.MockTransport(router.async_handler), sleep=sleep)
    yield waha
    await waha.aclose()


def session_info(name: str = "session_1_1700000000_ab12", status: str = "WORKING", **overrides) -> dict:
    """A GET /api/sessions/{session} answer shaped like WAHA's (and valid against the spec)."""
    body = {
        "name": name,
        "status": status,
        "config": {
            "metadata": {"wahaweb.user_id": "1"},
            "webhooks": [{"url": "https://app.test/api/waha/webhook", "events": ["session.status"]}],
        },
        "me": {"id": "6281234567890@c.us", "pushName": "Ann"} if status == "WORKING" else None,
        "engine": {"engine": "WEBJS", "state": "CONNECTED"},
        "presence": None,
        "timestamps": {"activity": 1700000000000},
        "assignedWorker": "worker-1",
    }
    body.update(overrides)
    return body


def session_dto(name: str = "session_1_1700000000_ab12", status: str = "STARTING") -> dict:
    return {"name": name, "status": status, "config": {"metadata": {"wahaweb.user_id": "1"}}}

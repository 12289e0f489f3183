"""A Reflex client that speaks the websocket protocol directly, as an attacker would.

It is python-socketio's client with the wire format of Reflex's own `state.js`: connect to
`/_event?token=<any string the client likes>`, emit `"event"` frames `{name, payload,
router_data}`, receive every `"event"` frame the server pushes. Nothing here goes through
the UI, so whatever the server lets it do, anyone can do. The scale benchmark's pages
scenario holds its open pages with it too (`timed`: each frame with the wall-clock second,
`time.time()`, it arrived at).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import httpx
import socketio

#: Reflex's root state name, as state.js addresses it.
ROOT = "reflex___state____state"
#: Reflex serves its events on the socket.io path and namespace `/_event`.
NAMESPACE = "/_event"


def sign_in_cookie(base_url: str, email: str, password: str, *, register: bool = False) -> str:
    """Sign up or in through the real form posts; returns the session cookie header value."""
    path = "/api/auth/register" if register else "/api/auth/login"
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=30) as http:
        response = http.post(path, data={"email": email, "password": password})
        assert response.status_code == 303, response.text
        cookie = response.cookies.get("wahaweb_session")
        assert cookie, f"no session cookie after {path}: {response.headers.get('location')}"
        return f"wahaweb_session={cookie}"


class RawClient:
    """One websocket connection with a client-chosen token; records every frame it receives."""

    def __init__(self, base_url: str, *, token: str | None = None, cookie: str | None = None,
                 origin: str | None = None) -> None:
        self.base_url = base_url
        self.token = token or str(uuid.uuid4())
        self.frames: list[str] = []
        #: (time.time() on arrival, the decoded frame), in order.
        self.timed: list[tuple[float, Any]] = []
        self._lock = threading.Lock()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("event", self._record, namespace=NAMESPACE)
        headers = {}
        if cookie:
            headers["Cookie"] = cookie
        if origin is not None:  # websocket-client sends the server's own origin unless told otherwise
            headers["Origin"] = origin
        self.headers = headers

    def _record(self, data: Any) -> None:
        arrived = time.time()
        with self._lock:
            self.timed.append((arrived, data))
            self.frames.append(data if isinstance(data, str) else json.dumps(data, default=str))

    def connect(self) -> RawClient:
        self.sio.connect(f"{self.base_url}?token={self.token}", headers=self.headers, transports=["websocket"],
                         socketio_path=NAMESPACE, namespaces=[NAMESPACE], wait_timeout=15)
        return self

    def send(self, name: str, payload: dict | None = None, *, path: str = "/") -> None:
        self.sio.emit("event", {"name": name, "payload": payload or {},
                                "router_data": {"pathname": path, "asPath": path, "query": {}}},
                      namespace=NAMESPACE)

    def hydrate(self, path: str = "/") -> None:
        self.send(f"{ROOT}.hydrate", path=path)

    def text(self) -> str:
        with self._lock:
            return "\n".join(self.frames)

    def wait_for(self, needle: str, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text():
                return True
            time.sleep(0.1)
        return False

    def close(self) -> None:
        try:
            self.sio.disconnect()
        except Exception:  # noqa: BLE001 - already closed by the server
            pass

"""A production build of wahaweb, started once per browser-test run, and Chromium to drive it.

The app runs with `reflex run --env prod --single-port` on a free port, on the embedded
WAHA simulator (QR rotation sped up) and a throw-away SQLite file, exactly as `make run`
serves it. Browser tests are marked `browser` and run in their own pytest invocation.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import RUN_ID

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
#: The app's stdout of this run (two runs side by side write two files).
APP_LOG = ARTIFACTS / f"app-server-{RUN_ID}.log"
#: Held while a run builds and serves the app from this checkout's `.web` and `.states`.
APP_ROOT_LOCK = ARTIFACTS / ".app-root.lock"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BOOT_TIMEOUT_S = 420
#: The embedded simulator's key in the app under test: no browser may ever see it.
SIM_API_KEY = "sim-key-must-never-reach-a-browser-7f3a"
#: Prometheus' bearer token for /metrics in the app under test.
METRICS_TOKEN = "metrics-token-for-the-browser-suite-5b1e"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _AppRoot:
    holders = 0
    handle = None


@contextlib.contextmanager
def app_root() -> Iterator[None]:
    """This checkout's `.web` and `.states` for the app(s) this run starts.

    `reflex run` rebuilds `.web` when it starts: a second run in the same checkout doing that
    while the first one serves from it would pull the pages out from under the first one's
    browser tests. So a run holds an exclusive lock while its apps run, and another run in
    the same checkout waits for it (two clones never wait). Re-entrant within one run.
    """
    if _AppRoot.holders == 0:
        ARTIFACTS.mkdir(exist_ok=True)
        handle = APP_ROOT_LOCK.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"\nanother test run is serving the app from {REPO}/.web; waiting for it", file=sys.stderr)
            fcntl.flock(handle, fcntl.LOCK_EX)
        _AppRoot.handle = handle
    _AppRoot.holders += 1
    try:
        yield
    finally:
        _AppRoot.holders -= 1
        if _AppRoot.holders == 0 and _AppRoot.handle is not None:
            _AppRoot.handle.close()  # releases the lock
            _AppRoot.handle = None


def _wait_until_up(base_url: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"wahaweb exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            if httpx.get(f"{base_url}/api/health", timeout=2).status_code in (200, 503):
                if httpx.get(f"{base_url}/", timeout=5).status_code == 200:
                    return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(f"wahaweb did not come up in {BOOT_TIMEOUT_S}s:\n{log_path.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def app_env(tmp_path_factory) -> dict[str, str]:
    """Environment of the app under test (tests may read the simulator settings from it)."""
    data = tmp_path_factory.mktemp("wahaweb-browser")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WAHA_", "WAHAWEB_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{data / 'wahaweb.db'}",
        WAHAWEB_SIM_QR_DELAY="0.3",
        WAHAWEB_SIM_API_KEY=SIM_API_KEY,
        WAHAWEB_SIM_TIME_SCALE="6",
        WAHAWEB_METRICS_TOKEN=METRICS_TOKEN,
        # Every test signs up from 127.0.0.1: the per-client sign-up limit is tested in tests/api.
        WAHAWEB_SIGN_UP_RATE="1000/hour",
        WAHAWEB_SIGN_IN_CLIENT_RATE="1000/hour",
        REFLEX_TELEMETRY_ENABLED="false",
        REFLEX_USE_SYSTEM_BUN="1",
        PYTHONUNBUFFERED="1",
        # `make test` puts bun on PATH; a bare pytest run finds the same one here.
        PATH=os.pathsep.join([str(REPO / ".tools" / "node_modules" / ".bin"), env.get("PATH", "")]),
    )
    return env


@pytest.fixture(scope="session")
def base_url(app_env) -> Iterator[str]:
    with app_root():
        port = _free_port()
        ARTIFACTS.mkdir(exist_ok=True)
        log_path = APP_LOG
        bin_dir = Path(sys.executable).parent
        subprocess.run([str(bin_dir / "python"), "-m", "wahaweb.core.migrate"], cwd=REPO, env=app_env, check=True)
        with log_path.open("w") as log:
            proc = subprocess.Popen(
                [str(bin_dir / "reflex"), "run", "--env", "prod", "--single-port",
                 "--frontend-port", str(port), "--backend-port", str(port)],
                cwd=REPO, env=app_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, proc, log_path)
            yield url
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    p = context.new_page()
    p.set_default_timeout(15_000)
    yield p
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/ for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


class Traffic:
    """Every websocket frame and HTTP response body a page received, for leak checks."""

    def __init__(self) -> None:
        self.chunks: list[str] = []

    def attach(self, page) -> None:
        def on_ws(ws):
            ws.on("framereceived", lambda payload: self.chunks.append(payload if isinstance(payload, str) else payload.decode("utf-8", "replace")))

        def on_response(response):
            try:
                self.chunks.append(response.text())
            except Exception as exc:  # redirects and aborted loads have no body
                self.chunks.append(f"<no body: {type(exc).__name__}>")
            self.chunks.append(str(response.headers))

        page.on("websocket", on_ws)
        page.on("response", on_response)

    def contains(self, needle: str) -> bool:
        return any(needle in chunk for chunk in self.chunks)


PASSWORD = "correct horse battery"
_counter = iter(range(1, 10_000))


def new_email(prefix: str = "user") -> str:
    return f"{prefix}{next(_counter)}-{int(time.time() * 1000) % 10_000_000}@example.com"


def register(page, base_url: str, email: str | None = None) -> str:
    """Sign up through the real form; lands on the dashboard."""
    email = email or new_email()
    page.goto(f"{base_url}/register")
    page.fill("#register-email", email)
    page.fill("#register-password", PASSWORD)
    page.click("#register-submit")
    page.wait_for_selector("#plan-usage")
    return email


def login(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login")
    page.fill("#login-email", email)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#plan-usage")


def create_session(page, label: str = "") -> str:
    """Click create on the dashboard; returns the new session's id from the session page URL."""
    if label:
        page.fill("#new-session-label", label)
    page.click("#create-session")
    page.wait_for_url(lambda url: "/sessions/" in url)
    page.wait_for_selector("#session-status")
    return page.url.rstrip("/").rsplit("/", 1)[-1]


@pytest.fixture(scope="session")
def admin_email(browser, base_url) -> str:
    """The first account of the install becomes the admin; take that seat before other tests."""
    context = browser.new_context()
    page = context.new_page()
    email = register(page, base_url, new_email("admin"))
    context.close()
    return email

"""Starting wahaweb itself for the app-level scenarios (written for the hooks; not used yet).

``start_wahaweb_app(ctx)`` serves a production build exactly like ``make run`` and
tests/browser/conftest.py do (``reflex run --env prod --single-port`` on a free port, a
throw-away SQLite file), but pointed at the benchmark's simulator subprocess with
``WAHA_URL``/``WAHA_API_KEY``, so every WAHA request the app makes lands in the same request
log and meets the same fixed qr-delay as the old flows and the physical limit.
``WAHAWEB_PUBLIC_URL`` is the app's own URL so the simulator can deliver webhooks to it.

Status: used by wahaweb_qr_visible and backend_memory (boots in ~10 s from an existing build).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.context import BenchContext
from benchmarks.simproc import free_port

ROOT = Path(__file__).resolve().parent.parent
BOOT_TIMEOUT_S = 420


@dataclass
class AppProcess:
    process: subprocess.Popen
    port: int
    data_dir: Path
    log_path: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, chars: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


def app_environment(ctx: BenchContext, port: int, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WAHA_", "WAHAWEB_", "DATABASE_URL", "REDIS_URL"))}
    tools = ROOT / ".tools" / "node_modules" / ".bin"
    env.update(
        WAHA_URL=ctx.base_url,
        WAHA_API_KEY=ctx.api_key,
        WAHAWEB_PUBLIC_URL=f"http://127.0.0.1:{port}",
        WAHAWEB_SIGN_UP_RATE="1000/hour",  # every browser run signs up a fresh user from 127.0.0.1
        WAHAWEB_SIGN_IN_CLIENT_RATE="1000/hour",  # and signs in with it: 20 per 15 minutes refused run 20 on
        DATABASE_URL=f"sqlite+aiosqlite:///{data_dir / 'wahaweb.db'}",
        REFLEX_TELEMETRY_ENABLED="false",
        REFLEX_USE_SYSTEM_BUN="1",
        PYTHONUNBUFFERED="1",
        PATH=f"{tools}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def start_wahaweb_app(ctx: BenchContext, *, extra_env: dict[str, str] | None = None,
                      boot_timeout: float = BOOT_TIMEOUT_S) -> AppProcess:
    """Migrate a fresh database, start the app, wait until it serves pages. Call ``.stop()`` after."""
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="wahaweb-bench-"))
    env = {**app_environment(ctx, port, data_dir), **(extra_env or {})}
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "python"), "-m", "wahaweb.core.migrate"], cwd=ROOT, env=env, check=True)
    log_path = data_dir / "app-server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(bin_dir / "reflex"), "run", "--env", "prod", "--single-port",
             "--frontend-port", str(port), "--backend-port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    app = AppProcess(process, port, data_dir, log_path, env)
    try:
        wait_until_serving(app.base_url, process, app.log_tail, boot_timeout)
    except RuntimeError:
        app.stop()
        raise
    return app


def wait_until_serving(base_url: str, process: subprocess.Popen, log_tail: Callable[[], str],
                       boot_timeout: float = BOOT_TIMEOUT_S) -> None:
    """Until the app answers /api/health and serves its front page; RuntimeError (with the
    log's tail) when it exits or does not come up in `boot_timeout` s."""
    deadline = time.monotonic() + boot_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"wahaweb exited with {process.returncode}:\n{log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/api/health", timeout=2).status_code in (200, 503):
                if httpx.get(f"{base_url}/", timeout=5).status_code == 200:
                    return
        time.sleep(1)
    raise RuntimeError(f"wahaweb did not come up in {boot_timeout:.0f} s:\n{log_tail()}")

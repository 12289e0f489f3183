"""The standalone WAHA simulator as a subprocess on a free local port."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class SimulatorProcess:
    """``python -m wahaweb.simulator`` on 127.0.0.1:<free port>; a context manager."""

    def __init__(self, *, api_key: str, qr_delay: float = 0.8, time_scale: float = 1.0,
                 host: str = "127.0.0.1", startup_timeout: float = 20.0, action_delay: float = 3.0):
        self.api_key = api_key
        self.qr_delay = qr_delay
        self.action_delay = action_delay
        """Stop/restart/logout/PUT take about 3 s on a real WAHA; benchmarks pay it too."""
        self.time_scale = time_scale
        self.host = host
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile(mode="w+b")

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "wahaweb.simulator",
            "--host", self.host, "--port", str(self.port),
            f"--api-key={self.api_key}",  # "=": a random key may start with "-"
            "--qr-delay", str(self.qr_delay),
            "--time-scale", str(self.time_scale),
            "--action-delay", str(self.action_delay),
            "--log-level", "warning",
        ]

    def start(self) -> SimulatorProcess:
        last_error = "did not start"
        for _ in range(3):  # the free port can be taken between probing and binding: try again
            self.port = free_port(self.host)
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            self.process = subprocess.Popen(
                self.command(), cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
            )
            try:
                self._wait_for_ping()
                return self
            except RuntimeError as exc:
                last_error = str(exc)
                self.stop()
        raise RuntimeError(f"the WAHA simulator did not start: {last_error}\n{self.output()}")

    def _wait_for_ping(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self.process is None or self.process.poll() is not None:
                    raise RuntimeError(f"exited with {self.process.returncode if self.process else '?'}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.base_url}/ping").status_code == 200:
                        return
                time.sleep(0.05)
        raise RuntimeError(f"no answer on {self.base_url}/ping after {self.startup_timeout:.0f} s")

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-4000:]

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self._log.close()

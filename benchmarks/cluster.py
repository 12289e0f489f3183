"""wahaweb's production deployment on one machine: N backend workers over the local Redis and
PostgreSQL, against standalone WAHA simulators (`python -m wahaweb.simulator`) on real ports.

Shared by the multi-worker browser test (tests/browser/test_workers.py) and the scale
benchmark's pages scenario (benchmarks/scale/pages.py), so both run exactly the same thing:
a fresh PostgreSQL schema, two Redis databases claimed for the run alone (SET NX in db 0, so
two runs never share one), the production build (`reflex run --env prod --single-port`) with
`WAHAWEB_WORKERS`/`GRANIAN_WORKERS` workers and `WAHAWEB_TEST_HOOKS=1` (each dashboard shows
its worker's pid, to tests only). The first simulator is the `default` server (WAHA_URL);
`configure` adds the others through the admin service, as the /admin pages do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

from benchmarks.app import wait_until_serving
from benchmarks.simproc import free_port

REPO = Path(__file__).resolve().parent.parent

#: Run with the cluster's environment: the first account (the operator) adds the other servers
#: and moves customers to plans (through the admin services, as the /admin pages do).
SETUP = """
import asyncio, json, sys
from wahaweb.core.container import Core
from wahaweb.settings import Settings

async def main(args):
    core = Core.from_settings(Settings.from_env())
    try:
        admin = (await core.accounts.sign_in(args["admin"], args["password"])).user
        for name, (url, key) in args["servers"].items():
            await core.server_admin.add(admin, name, url, key, args["capacity"])
        for email, plan in args["plans"].items():
            customer = (await core.accounts.sign_in(email, args["password"])).user
            await core.admin.set_plan(admin, customer.id, plan)
    finally:
        await core.aclose()

asyncio.run(main(json.loads(sys.argv[1])))
"""


@dataclasses.dataclass
class Cluster:
    base_url: str
    #: server name -> simulator URL; the first is `default` (WAHA_URL).
    sims: dict[str, str]
    #: server name -> its simulator's API key.
    keys: dict[str, str]
    #: wahaweb's Redis (rate limits, leases, feeds); Reflex's state is in the next database.
    redis_url: str
    schema: str
    env: dict[str, str]
    app: subprocess.Popen
    capacity: int

    #: The operator (the install's first account) and his password, once `configure` ran.
    operator: tuple[str, str] | None = None

    def configure(self, admin: str, password: str, plans: Mapping[str, str] | None = None) -> None:
        """The operator (`admin`, the install's first account) adds every server but `default`
        (the first call only) and moves each customer (e-mail -> plan name) to his plan."""
        servers = {} if self.operator else {name: (url, self.keys[name]) for name, url in self.sims.items()
                                            if name != "default"}
        args = {"admin": admin, "password": password, "capacity": self.capacity, "plans": dict(plans or {}),
                "servers": servers}
        done = subprocess.run([sys.executable, "-c", SETUP, json.dumps(args)], cwd=REPO, env=self.env,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"configuring the cluster failed:\n{done.stderr[-3000:]}")
        self.operator = (admin, password)

    def worker_pids(self) -> list[int]:
        """The backend workers: the processes under `reflex run` that serve the app (Granian's
        workers; its main process and `reflex run` itself are not counted)."""
        import psutil

        try:
            tree = psutil.Process(self.app.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        leaves = [p for p in tree if not _has_children(p)]
        return sorted(p.pid for p in leaves)


def _has_children(process) -> bool:  # noqa: ANN001 - a psutil.Process
    import psutil

    try:
        return bool(process.children())
    except psutil.NoSuchProcess:
        return False


def services_down(pg_host: str = "127.0.0.1", redis_host: str = "127.0.0.1") -> str | None:
    """Why PostgreSQL (5432) or Redis (6379) cannot be reached, or None when both answer."""
    for host, port in ((pg_host, 5432), (redis_host, 6379)):
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError as exc:
            return f"{host}:{port} unreachable ({exc})"
    return None


def claim_redis_dbs(base_redis: str, token: str) -> tuple[int, int]:
    """Two Redis databases for this run alone: claimed with SET NX (1 h expiry) in db 0, then flushed."""
    import redis

    claims = redis.Redis.from_url(f"{base_redis}/0")
    for first in range(2, 16, 2):
        pair = (first, first + 1)
        if all(claims.set(f"wahaweb-test:redis-db:{db}", token, nx=True, ex=3600) for db in pair):
            for db in pair:
                redis.Redis.from_url(f"{base_redis}/{db}").flushdb()
            return pair
        release_redis_dbs(base_redis, token, pair)
    raise RuntimeError("no free pair of Redis databases (2-15) to claim for a multi-worker run")


def release_redis_dbs(base_redis: str, token: str, dbs: tuple[int, ...]) -> None:
    import redis

    claims = redis.Redis.from_url(f"{base_redis}/0")
    for db in dbs:
        if claims.get(f"wahaweb-test:redis-db:{db}") == token.encode():
            claims.delete(f"wahaweb-test:redis-db:{db}")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process group, SIGKILL it after 20 s."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def psql(sql: str, *, tuples: bool = False) -> str:
    """Run one statement on the local `test` database as postgres; its output (unaligned with `tuples`)."""
    flags = ["-At"] if tuples else ["-q"]
    done = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", *flags, "-c", sql],
                          capture_output=True, text=True, check=True)
    return done.stdout


@contextlib.contextmanager
def running(servers: Mapping[str, str], *, workers: int, pg_url: str, redis_url: str, logs: Path, tag: str,
            capacity: int, qr_delay: float = 0.3, time_scale: float = 6.0,
            extra_env: Mapping[str, str] | None = None) -> Iterator[Cluster]:
    """Simulators (`servers`: name -> API key, the first is `default`) and the app with `workers`
    workers; everything stopped, the schema dropped and the Redis databases released afterwards.
    Logs go to `logs`/multiworker-*-`tag`.log."""
    schema = f"mw_{tag}_{uuid.uuid4().hex[:10]}"
    token = uuid.uuid4().hex
    psql(f'CREATE SCHEMA "{schema}"')
    base_redis = redis_url.rsplit("/", 1)[0]
    dbs = claim_redis_dbs(base_redis, token)
    bin_dir = Path(sys.executable).parent
    app_port = free_port()
    sims = {name: f"http://127.0.0.1:{free_port()}" for name in servers}
    base_url = f"http://127.0.0.1:{app_port}"
    logs.mkdir(parents=True, exist_ok=True)
    # Not the test suite's REFLEX_STATE_MANAGER_MODE=memory: every worker must share Reflex's state in Redis.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WAHA_", "WAHAWEB_", "DATABASE_URL", "REDIS_URL", "REFLEX_STATE_MANAGER_MODE"))}
    first = next(iter(servers))
    env.update(
        DATABASE_URL=f"{pg_url}?search_path={schema}", REDIS_URL=f"{base_redis}/{dbs[0]}",
        REFLEX_REDIS_URL=f"{base_redis}/{dbs[1]}", WAHA_URL=sims[first], WAHA_API_KEY=servers[first],
        WAHAWEB_DEFAULT_SERVER_CAPACITY=str(capacity),
        WAHAWEB_PUBLIC_URL=base_url, WAHAWEB_WORKERS=str(workers), GRANIAN_WORKERS=str(workers),
        WAHAWEB_TEST_HOOKS="1", WAHAWEB_SIGN_UP_RATE="1000/hour", WAHAWEB_SIGN_IN_CLIENT_RATE="1000/hour",
        REFLEX_TELEMETRY_ENABLED="false", REFLEX_USE_SYSTEM_BUN="1", PYTHONUNBUFFERED="1",
        PATH=os.pathsep.join([str(REPO / ".tools" / "node_modules" / ".bin"), os.environ.get("PATH", "")]),
        **(extra_env or {}),
    )
    procs: list[subprocess.Popen] = []
    files = []
    try:
        for name, url in sims.items():
            log = (logs / f"multiworker-sim-{name}-{tag}.log").open("w")
            files.append(log)
            procs.append(subprocess.Popen(
                [str(bin_dir / "python"), "-m", "wahaweb.simulator", "--host", "127.0.0.1",
                 "--port", url.rsplit(":", 1)[1], f"--api-key={servers[name]}", "--qr-delay", str(qr_delay),
                 "--time-scale", str(time_scale)],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        subprocess.run([str(bin_dir / "python"), "-m", "wahaweb.core.migrate"], cwd=REPO, env=env, check=True)
        log_path = logs / f"multiworker-app-{tag}.log"
        with log_path.open("w") as log:
            app = subprocess.Popen([str(bin_dir / "reflex"), "run", "--env", "prod", "--single-port",
                                    "--frontend-port", str(app_port), "--backend-port", str(app_port)],
                                   cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.insert(0, app)
        wait_until_serving(base_url, app, lambda: log_path.read_text(errors="replace")[-4000:])
        yield Cluster(base_url=base_url, sims=sims, keys=dict(servers), redis_url=f"{base_redis}/{dbs[0]}",
                      schema=schema, env=env, app=app, capacity=capacity)
    finally:
        for proc in procs:
            stop(proc)
        for log in files:
            log.close()
        with contextlib.suppress(subprocess.CalledProcessError):
            psql(f'DROP SCHEMA "{schema}" CASCADE')
        release_redis_dbs(base_redis, token, dbs)


def wait_for(check, *, timeout: float, every: float = 0.2, what: str = "a condition"):  # noqa: ANN001, ANN201
    """Poll `check()` until it returns something truthy (returned); RuntimeError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)

"""Several backend workers over Redis and PostgreSQL, proven in a browser (issue 15).

The production build runs with 3 workers (`WAHAWEB_WORKERS=3`) on the local PostgreSQL
(a fresh schema) and Redis (two databases claimed for this run, so two runs never share
one), against 3 standalone WAHA simulators on real ports, each with its own API key: the
first is the `default` server (WAHA_URL), the other two are added as servers through the
admin service. Chromium tabs of one user land on different workers (each page shows its
worker's pid to tests only) and all see create, QR and connected live; each WAHA server has
its own watcher lease held by a live worker; 20 creates at once from raw clients never beat
the plan and are placed one per server; SIGKILL of the worker holding the session's server
lease hands that lease to another worker while a QR keeps rotating on the page; and, per
server, the database and that WAHA agree at the end (no orphans either way).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import (
    ARTIFACTS,
    PASSWORD,
    _free_port,
    _wait_until_up,
    app_root,
    new_email,
    register,
    screenshot,
)
from tests.browser.rawclient import RawClient, sign_in_cookie
from tests.conftest import PG_URL, REDIS_URL, RUN_ID
from wahaweb.core.live.lease import server_key

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
WORKERS = 3
#: One simulator per WAHA server, each with its own key; the first is `default` (WAHA_URL).
SERVERS = {"default": "mw-default-key-5d1c", "b": "mw-b-key-0e77", "c": "mw-c-key-93af"}
CAPACITY = 10  # the same on every server: placement (most free room first) spreads sessions one per server
#: The customer's plan: 3 sessions, one per server.
PLAN, PLAN_LIMIT = "Basic", 3

#: Run with the cluster's environment: the first account (the operator) adds servers b and c
#: and moves the customer to PLAN (through the admin services, as the /admin pages do).
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
        customer = (await core.accounts.sign_in(args["customer"], args["password"])).user
        await core.admin.set_plan(admin, customer.id, args["plan"])
    finally:
        await core.aclose()

asyncio.run(main(json.loads(sys.argv[1])))
"""


def _services_up() -> str | None:
    import socket

    for host, port in (("127.0.0.1", 5432), ("127.0.0.1", 6379)):
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError as exc:
            return f"{host}:{port} unreachable ({exc})"
    return None


def _claim_redis_dbs(base_redis: str, token: str) -> tuple[int, int]:
    """Two Redis databases for this run alone: claimed with SET NX (1 h expiry) in db 0, then flushed."""
    import redis

    claims = redis.Redis.from_url(f"{base_redis}/0")
    for first in range(2, 16, 2):
        pair = (first, first + 1)
        if all(claims.set(f"wahaweb-test:redis-db:{db}", token, nx=True, ex=3600) for db in pair):
            for db in pair:
                redis.Redis.from_url(f"{base_redis}/{db}").flushdb()
            return pair
        _release_redis_dbs(base_redis, token, pair)
    pytest.fail("no free pair of Redis databases (2-15) to claim for the multi-worker test")


def _release_redis_dbs(base_redis: str, token: str, dbs: tuple[int, ...]) -> None:
    import redis

    claims = redis.Redis.from_url(f"{base_redis}/0")
    for db in dbs:
        if claims.get(f"wahaweb-test:redis-db:{db}") == token.encode():
            claims.delete(f"wahaweb-test:redis-db:{db}")


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def held_app_root():
    """The checkout's `.web` is this run's while the cluster runs (see `app_root`)."""
    with app_root():
        yield


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, held_app_root):
    """3 simulators + 3-worker app; yields a dict: base_url, sims (name -> url), redis_url, schema, env."""
    down = _services_up()
    if down:
        pytest.skip(f"POSTGRESQL/REDIS UNREACHABLE: {down}; start them to run the multi-worker test")
    schema = f"mw_{RUN_ID}_{uuid.uuid4().hex[:10]}"
    token = uuid.uuid4().hex
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-q", "-c", f'CREATE SCHEMA "{schema}"'],
                   check=True, capture_output=True)
    base_redis = REDIS_URL.rsplit("/", 1)[0]
    dbs = _claim_redis_dbs(base_redis, token)
    bin_dir = Path(sys.executable).parent
    app_port = _free_port()
    sims = {name: f"http://127.0.0.1:{_free_port()}" for name in SERVERS}
    base_url = f"http://127.0.0.1:{app_port}"
    ARTIFACTS.mkdir(exist_ok=True)
    # Not the suite's REFLEX_STATE_MANAGER_MODE=memory: every worker must share Reflex's state in Redis.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WAHA_", "WAHAWEB_", "DATABASE_URL", "REDIS_URL", "REFLEX_STATE_MANAGER_MODE"))}
    env.update(
        DATABASE_URL=f"{PG_URL}?search_path={schema}", REDIS_URL=f"{base_redis}/{dbs[0]}",
        REFLEX_REDIS_URL=f"{base_redis}/{dbs[1]}", WAHA_URL=sims["default"], WAHA_API_KEY=SERVERS["default"],
        WAHAWEB_DEFAULT_SERVER_CAPACITY=str(CAPACITY),
        WAHAWEB_PUBLIC_URL=base_url, WAHAWEB_WORKERS=str(WORKERS), GRANIAN_WORKERS=str(WORKERS),
        WAHAWEB_TEST_HOOKS="1", WAHAWEB_SIGN_UP_RATE="1000/hour", WAHAWEB_SIGN_IN_CLIENT_RATE="1000/hour",
        REFLEX_TELEMETRY_ENABLED="false", REFLEX_USE_SYSTEM_BUN="1", PYTHONUNBUFFERED="1",
        PATH=os.pathsep.join([str(REPO / ".tools" / "node_modules" / ".bin"), os.environ.get("PATH", "")]),
    )
    procs: list[subprocess.Popen] = []
    logs = []
    try:
        for name, url in sims.items():
            log = (ARTIFACTS / f"multiworker-sim-{name}-{RUN_ID}.log").open("w")
            logs.append(log)
            procs.append(subprocess.Popen(
                [str(bin_dir / "python"), "-m", "wahaweb.simulator", "--host", "127.0.0.1",
                 "--port", url.rsplit(":", 1)[1], "--api-key", SERVERS[name], "--qr-delay", "0.3", "--time-scale", "6"],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        subprocess.run([str(bin_dir / "python"), "-m", "wahaweb.core.migrate"], cwd=REPO, env=env, check=True)
        log_path = ARTIFACTS / f"multiworker-app-{RUN_ID}.log"
        with log_path.open("w") as log:
            app = subprocess.Popen([str(bin_dir / "reflex"), "run", "--env", "prod", "--single-port",
                                    "--frontend-port", str(app_port), "--backend-port", str(app_port)],
                                   cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        procs.insert(0, app)
        _wait_until_up(base_url, app, log_path)
        yield {"base_url": base_url, "sims": sims, "redis_url": f"{base_redis}/{dbs[0]}", "schema": schema, "env": env}
    finally:
        for proc in procs:
            _stop(proc)
        for log in logs:
            log.close()
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-q", "-c",
                        f'DROP SCHEMA "{schema}" CASCADE'], capture_output=True)
        _release_redis_dbs(base_redis, token, dbs)


def _setup_servers_and_plan(cluster, admin: str, customer: str) -> None:
    args = {"admin": admin, "customer": customer, "password": PASSWORD, "capacity": CAPACITY, "plan": PLAN,
            "servers": {name: (cluster["sims"][name], SERVERS[name]) for name in SERVERS if name != "default"}}
    done = subprocess.run([sys.executable, "-c", SETUP, json.dumps(args)], cwd=REPO, env=cluster["env"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


def _lease_keys(cluster) -> dict[str, str]:
    """server name -> its watcher lease key in Redis (the same on every worker)."""
    return {name: f"wahaweb:watcher:{server_key(url)}" for name, url in cluster["sims"].items()}


def _holders(store, keys: dict[str, str]) -> dict[str, int | None]:
    """server name -> pid of the worker holding its lease (None: nobody)."""
    found = {}
    for name, key in keys.items():
        value = store.get(key)
        found[name] = int(value.decode().split(":")[1]) if value is not None else None
    return found


def _wait_for_holders(store, keys: dict[str, str], *, not_pid: int | None = None, timeout: float = 45) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        holders = _holders(store, keys)
        if all(pid is not None and pid != not_pid and _pid_alive(pid) for pid in holders.values()):
            return holders
        if time.monotonic() > deadline:
            pytest.fail(f"not every WAHA server's lease is held by a live worker: {holders} (killed: {not_pid})")
        time.sleep(0.5)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _worker_of(page) -> str:
    page.wait_for_selector("#plan-usage")
    page.wait_for_function("document.querySelector('#worker-id') && document.querySelector('#worker-id').textContent")
    return page.text_content("#worker-id") or ""


def _sim_sessions(cluster, name: str) -> dict[str, str]:
    answer = httpx.get(f"{cluster['sims'][name]}/api/sessions", params={"all": "true"},
                       headers={"X-Api-Key": SERVERS[name]}, timeout=10)
    assert answer.status_code == 200, answer.text
    return {item["name"]: item["status"] for item in answer.json()}


def _db_rows(schema: str) -> dict[str, tuple[str, str]]:
    """session id -> (status, WAHA server name)."""
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-At", "-c",
                          f'SELECT s.id, s.status, w.name FROM "{schema}".wa_session s '
                          f'JOIN "{schema}".waha_server w ON w.id = s.server_id'],
                         capture_output=True, text=True, check=True)
    return {sid: (status, server) for sid, status, server in
            (line.split("|") for line in out.stdout.splitlines() if line.count("|") == 2)}


def test_three_workers_three_servers_one_user_live_everywhere_and_the_lease_moves_on(cluster, browser):
    import redis

    base_url, schema = cluster["base_url"], cluster["schema"]
    store = redis.Redis.from_url(cluster["redis_url"])
    # The install's first account is its admin (no plan); it adds servers b and c and puts the customer on Basic.
    operator = new_email("operator")
    sign_in_cookie(base_url, operator, PASSWORD, register=True)
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    first = context.new_page()
    email = register(first, base_url, new_email("workers"))
    _setup_servers_and_plan(cluster, operator, email)
    # Every WAHA server gets its own watcher lease, each held by a live worker (servers are re-read every 5 s).
    keys = _lease_keys(cluster)
    holders = _wait_for_holders(store, keys)
    first.reload()
    # Open tabs of the same user until three different workers serve them.
    tabs, workers = [first], {_worker_of(first)}
    assert first.get_attribute("#plan-usage", "data-plan") == PLAN
    for _ in range(20):
        if len(workers) >= WORKERS:
            break
        page = context.new_page()
        page.goto(base_url + "/")
        worker = _worker_of(page)
        if worker not in workers:
            tabs.append(page)
            workers.add(worker)
        else:
            page.close()
    assert len(workers) == WORKERS, f"tabs landed on {len(workers)} workers only"

    # Create in one tab: every tab sees it, opens it, and gets the QR live.
    tabs[0].click("#create-session")
    tabs[0].wait_for_url(re.compile(r"/sessions/session_"))
    session_id = tabs[0].url.rstrip("/").rsplit("/", 1)[-1]
    for page in tabs[1:]:
        page.wait_for_selector(f"#session-row-{session_id}")
        page.goto(f"{base_url}/sessions/{session_id}")
    for page in tabs:
        page.wait_for_selector("#session-qr", timeout=30_000)
    screenshot(tabs[-1], "multiworker-pairing")

    # SIGKILL the worker that holds the lease of the session's WAHA server: another one takes it
    # over within the lease time (and every other server's lease is held by a live worker too),
    # and the QR keeps rotating on the pages meanwhile.
    server = _db_rows(schema)[session_id][1]
    holder_pid = _holders(store, keys)[server]
    assert holder_pid is not None
    before = tabs[0].get_attribute("#session-qr", "src")
    os.kill(holder_pid, signal.SIGKILL)
    holders = _wait_for_holders(store, keys, not_pid=holder_pid)
    survivors = [page for page in tabs if _alive(page)]
    assert survivors
    survivors[0].wait_for_function(
        "src => document.querySelector('#session-qr') && document.querySelector('#session-qr').src !== src",
        arg=before, timeout=30_000)

    # The phone scans: every surviving tab turns connected by itself.
    httpx.post(f"{cluster['sims'][server]}/_sim/sessions/{session_id}/scan",
               headers={"X-Api-Key": SERVERS[server]}, timeout=10)
    for page in survivors:
        page.wait_for_selector("#session-status[data-status='connected']", timeout=30_000)
    screenshot(survivors[0], "multiworker-connected")
    context.close()

    # 20 creates at once from raw clients (workers at random): the plan's 3 sessions hold,
    # one per server (placement: most free room first, inside the plan-limit transaction).
    cookie = sign_in_cookie(base_url, email, PASSWORD)
    clients = [RawClient(base_url, cookie=cookie).connect() for _ in range(20)]
    from tests.browser.test_protocol import _named

    create = _named("create_session").event_name
    for client in clients:
        client.hydrate("/")
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        list(pool.map(lambda c: c.send(create), clients))
    time.sleep(5)
    for client in clients:
        client.close()
    rows = _db_rows(schema)
    active = {sid: server for sid, (status, server) in rows.items()
              if status in ("creating", "starting", "pairing", "connected")}
    assert len(active) == PLAN_LIMIT, rows
    assert sorted(active.values()) == sorted(SERVERS), rows

    # Per server, DB == WAHA: no row without its session on that WAHA, no WAHA session without its row.
    for name in SERVERS:
        waha = _sim_sessions(cluster, name)
        ours = {sid for sid, (_, srv) in rows.items() if srv == name}
        assert set(waha) == ours, (name, sorted(waha), sorted(ours))
    print(f"\nleases after the kill of {holder_pid}: {holders}; sessions per server: {active}")


def _alive(page) -> bool:
    try:
        page.wait_for_selector("#session-status", timeout=5_000)
        return True
    except Exception:  # noqa: BLE001 - a tab whose worker died may need a reconnect first
        return False

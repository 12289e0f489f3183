"""The watcher: one list call per tick, and the drift cases (deleted, logged out, stuck, WAHA down)."""

from __future__ import annotations

import asyncio
import datetime as dt

from wahaweb.core.audit import AuditLog
from wahaweb.core.live.watcher import MISSING_REASON
from wahaweb.core.models import WaSession

from .conftest import Recorder


async def _pairing(env, user, count: int) -> list[str]:
    ids = [(await env.core.sessions.create(user)).id for _ in range(count)]
    for sid in ids:
        assert await env.sim.wait_for_status(sid, "SCAN_QR_CODE") == "SCAN_QR_CODE"
    env.recorder.changes.clear()  # what the service announced of its own writes (creating, starting)
    return ids


async def _connected(env, user) -> str:
    [sid] = await _pairing(env, user, 1)
    await env.engine.tick()
    await env.engine.drain()
    env.sim.scan(sid, phone="628000111222", push_name="Ann")
    await env.engine.tick()
    row = await env.row(sid)
    assert (row.status, row.phone) == ("connected", "+628000111222")
    return sid


def _waha_calls(env) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in env.sim.requests]


async def test_one_list_call_per_tick_for_1_or_20_pairing_sessions_and_any_number_of_listeners(make_env):
    calls_per_tick = {}
    for sessions, tabs in ((1, 1), (20, 100)):
        env = await make_env(webhooks=False, qr_delay=0.01, time_scale=1.0)  # QR lives 60 s: no rotation here
        user = await env.user(f"user{sessions}@example.com")
        recorders = [Recorder() for _ in range(tabs)]
        for recorder in recorders:
            env.engine.notifier.add(recorder)
        ids = await _pairing(env, user, sessions)
        env.sim.clear_requests()
        for _ in range(5):
            report = await env.engine.tick()
            assert report.polled and report.fast
        await env.engine.drain()
        calls = _waha_calls(env)
        lists = [c for c in calls if c == ("GET", "/api/sessions")]
        qrs = [c for c in calls if c[1].endswith("/auth/qr")]
        assert len(lists) == 5, calls
        # Besides the list: exactly one QR fetch per pairing session (its first rotation), not per tab.
        assert sorted(path for _, path in qrs) == sorted(f"/api/{sid}/auth/qr" for sid in ids)
        assert len(calls) == 5 + sessions
        for recorder in recorders:
            assert sorted(c.session_id for c in recorder.changes if c.kind == "qr") == sorted(ids)
            # The service announces its own writes (creating, starting); the watcher saw pairing.
            assert {c.status for c in recorder.changes if c.kind == "status"} == {"creating", "starting", "pairing"}
            assert [c.status for c in recorder.changes if c.source == "watcher"] == ["pairing"] * sessions
        calls_per_tick[(sessions, tabs)] = len(lists) / 5
    assert calls_per_tick == {(1, 1): 1.0, (20, 100): 1.0}


async def test_deleted_on_waha_becomes_failed_with_the_reason(make_env):
    env = await make_env(webhooks=False)
    user = await env.user("alice@example.com")
    sid = await _connected(env, user)
    env.sim.engine.delete(sid)  # gone behind wahaweb's back
    report = await env.engine.tick()
    row = await env.row(sid)
    assert (row.status, row.last_error, row.phone) == ("failed", MISSING_REASON, None)
    [change] = report.changes
    assert (change.session_id, change.user_id, change.status, change.old_status) == (sid, user.id, "failed", "connected")
    assert env.recorder.changes[-1].detail == MISSING_REASON
    # Next ticks: nothing more to say.
    before = len(env.recorder.changes)
    await env.engine.tick()
    assert len(env.recorder.changes) == before
    events = await AuditLog(env.core.db).for_session(sid)
    assert any(e.action == "status" and "connected -> failed" in e.detail for e in events)


async def test_logged_out_on_the_phone_updates_the_row_and_clears_the_phone(make_env):
    env = await make_env(webhooks=False)
    user = await env.user("alice@example.com")
    sid = await _connected(env, user)
    env.sim.logout_phone(sid)  # POST /_sim/sessions/{name}/logout-phone: WAHA says FAILED
    await env.engine.tick()
    row = await env.row(sid)
    assert (row.status, row.waha_status, row.phone, row.push_name, row.connected_at) == \
        ("failed", "FAILED", None, None, None)
    assert "logged out" in row.last_error
    assert env.recorder.statuses(sid)[-1] == "failed"


async def test_connected_session_asking_for_a_qr_again_becomes_pairing_without_phone(make_env):
    env = await make_env(webhooks=False, qr_delay=0.01, time_scale=1.0)
    user = await env.user("alice@example.com")
    sid = await _connected(env, user)
    env.sim.engine.logout(sid)  # unlinked on WAHA: it restarts and shows a QR
    assert await env.sim.wait_for_status(sid, "SCAN_QR_CODE") == "SCAN_QR_CODE"
    await env.engine.tick()
    await env.engine.drain()
    row = await env.row(sid)
    assert (row.status, row.phone) == ("pairing", None)
    assert env.engine.current_qr(sid) is not None


async def test_stuck_in_starting_is_restarted_once_then_failed(make_env):
    env = await make_env(webhooks=False, qr_delay=3600.0)  # WAHA never gets past STARTING
    user = await env.user("alice@example.com")
    sid = (await env.core.sessions.create(user)).id
    await env.engine.tick()
    assert (await env.row(sid)).status == "starting"
    env.clock.advance(30)
    await env.engine.tick()
    assert ("POST", f"/api/sessions/{sid}/restart") not in _waha_calls(env)  # not stuck yet
    env.clock.advance(31)
    report = await env.engine.tick()
    assert _waha_calls(env).count(("POST", f"/api/sessions/{sid}/restart")) == 1
    row = await env.row(sid)
    assert (row.status, row.auto_restarts) == ("starting", 1)
    assert report.changes[0].source == "auto_restart" and "restarted automatically" in report.changes[0].detail
    # The next stuck period counts from the restart.
    env.clock.advance(59)
    await env.engine.tick()
    assert (await env.row(sid)).status == "starting"
    env.clock.advance(2)
    await env.engine.tick()
    row = await env.row(sid)
    assert row.status == "failed" and "STARTING for more than 60 seconds" in row.last_error
    assert _waha_calls(env).count(("POST", f"/api/sessions/{sid}/restart")) == 1  # restarted ONCE
    assert ("POST", f"/api/sessions/{sid}/stop") in _waha_calls(env)  # not left running on WAHA
    assert env.sim.status(sid) == "STOPPED"
    # Failed and stopped on WAHA is consistent: later ticks leave the reason in place.
    await env.engine.tick()
    row = await env.row(sid)
    assert row.status == "failed" and "STARTING" in row.last_error
    actions = [e.action for e in await AuditLog(env.core.db).for_session(sid)]
    assert "auto_restart" in actions


async def test_the_automatic_restart_count_resets_once_the_session_gets_past_starting(make_env):
    env = await make_env(webhooks=False, qr_delay=1.0)
    user = await env.user("alice@example.com")
    sid = (await env.core.sessions.create(user)).id
    env.clock.advance(61)
    await env.engine.tick()
    assert (await env.row(sid)).auto_restarts == 1
    assert await env.sim.wait_for_status(sid, "SCAN_QR_CODE") == "SCAN_QR_CODE"
    await env.engine.tick()  # -> pairing
    await env.engine.tick()  # pairing and WAHA agree: the next stuck period gets its restart again
    row = await env.row(sid)
    assert (row.status, row.auto_restarts) == ("pairing", 0)


async def test_waha_down_changes_nothing_then_back_reconciles(make_env):
    env = await make_env(webhooks=False)
    user = await env.user("alice@example.com")
    [sid] = await _pairing(env, user, 1)
    await env.engine.tick()
    await env.engine.drain()
    assert (await env.row(sid)).status == "pairing"
    changes_before = len(env.recorder.changes)
    env.sim.inject(refuse_seconds=60)  # connection refused
    env.sim.scan(sid, phone="628000111222")  # meanwhile the phone links
    report = await env.engine.tick()
    assert report.down and not report.polled
    assert (await env.row(sid)).status == "pairing"  # nothing marked failed or missing
    env.sim.clear_faults()
    env.sim.inject(status=503, count=10)  # then a proxy answering 503
    report = await env.engine.tick()
    assert report.down
    row = await env.row(sid)
    assert row.status == "pairing" and row.last_error is None
    # One notice per session when the server went down (status kept, canonical detail), none after.
    notices = env.recorder.changes[changes_before:]
    assert [(c.status, c.changed, c.detail) for c in notices] == [("pairing", False, "server unreachable")]
    env.sim.clear_faults()
    report = await env.engine.tick()
    assert report.polled and not report.down
    row = await env.row(sid)
    assert (row.status, row.phone) == ("connected", "+628000111222")
    assert env.recorder.statuses(sid)[-1] == "connected"


async def test_creating_rows_are_left_alone_until_the_grace_period(make_env):
    env = await make_env(webhooks=False, engine_kwargs={"creating_grace": 60.0})
    user = await env.user("alice@example.com")
    # A row reserved by a process that died before asking WAHA.
    now = env.clock()
    row = WaSession(id=f"session_{user.id}_{int(now.timestamp())}_orphan000001", user_id=user.id, status="creating",
                    created_at=now, updated_at=now, status_changed_at=now, status_seen_at=now)
    async with env.core.db.transaction() as s:
        s.add(row)
    await env.engine.tick()
    assert (await env.row(row.id)).status == "creating"  # not "missing on WAHA"
    env.clock.advance(61)
    await env.engine.tick()
    after = await env.row(row.id)
    assert after.status == "failed"
    assert env.recorder.statuses(row.id) == ["failed"]


async def test_interval_is_fast_while_something_is_in_progress_and_slow_otherwise(make_env):
    env = await make_env(webhooks=False, engine_kwargs={"fast_interval": 0.3, "slow_interval": 10.0})
    user = await env.user("alice@example.com")
    report = await env.engine.tick()
    assert not report.fast and env.engine.interval == 10.0
    [sid] = await _pairing(env, user, 1)
    report = await env.engine.tick()
    assert report.fast and env.engine.interval == 0.3
    env.sim.scan(sid)
    report = await env.engine.tick()
    assert not report.fast and env.engine.interval == 10.0


async def test_a_failing_listener_does_not_break_the_engine(make_env):
    env = await make_env(webhooks=False)
    user = await env.user("alice@example.com")

    async def broken(change):
        raise RuntimeError("listener bug")

    async def slow(change):
        await asyncio.sleep(10)

    env.engine.notifier.timeout = 0.05
    env.engine.notifier.add(broken)
    env.engine.notifier.add(slow)
    [sid] = await _pairing(env, user, 1)
    await env.engine.tick()
    env.sim.scan(sid)
    await env.engine.tick()
    assert env.recorder.statuses(sid) == ["pairing", "connected"]


async def test_watcher_wins_over_a_future_dated_event_after_one_more_tick(make_env):
    """WAHA's clock ahead of wahaweb's: a webhook leaves status_seen_at in the future. The list
    still wins once the disagreement has lasted a full tick (a lost WORKING event here)."""
    from .conftest import body_of, envelope, post_webhook

    env = await make_env(webhooks=False, qr_delay=0.01, time_scale=1.0)
    user = await env.user("alice@example.com")
    [sid] = await _pairing(env, user, 1)
    future_ms = int(env.clock().timestamp() * 1000) + 30_000
    assert (await post_webhook(env, body_of(envelope(sid, "SCAN_QR_CODE", ts_ms=future_ms)))).json()["outcome"] \
        == "applied"
    env.sim.scan(sid, phone="628000111222")  # the WORKING event never arrives
    await env.engine.tick()
    assert (await env.row(sid)).status == "pairing"  # maybe a newer event is on its way: wait a tick
    await env.engine.tick()
    row = await env.row(sid)
    assert (row.status, row.phone) == ("connected", "+628000111222")


async def test_create_survives_an_early_webhook_when_wahas_clock_is_ahead(make_env, clock):
    """The STARTING webhook arrives during create with a time after wahaweb's: create's own,
    older, observation must not be taken for 'the row was deleted'."""
    clock.offset = dt.timedelta(seconds=-2)  # wahaweb's clock 2 s behind WAHA's
    env = await make_env(webhooks=True, qr_delay=0.05)
    user = await env.user("alice@example.com")
    row = await env.core.sessions.create(user)
    assert row.status in ("starting", "pairing")
    assert env.sim.status(row.id) is not None  # still on WAHA

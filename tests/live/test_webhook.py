"""POST /api/waha/webhook: signatures, size, envelope, replays, order, and real WAHA delivery."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest

from tests.qr_decode import decode_data_url
from wahaweb.core.audit import AuditLog
from wahaweb.core.live import parse_envelope, sign, verify_signature
from wahaweb.core.live.webhook import BadEnvelope

from .conftest import HOOK_SECRET, body_of, envelope, post_webhook, signed_headers

WAHA_VECTOR_BODY = b'{"event":"message","session":"default","engine":"WEBJS"}'


def test_wahas_documented_hmac_test_vector():
    signature = sign(WAHA_VECTOR_BODY, "my-secret-key")
    assert signature.startswith("208f8a55") and signature.endswith("3fa89")
    assert len(signature) == 128
    assert verify_signature(WAHA_VECTOR_BODY, signature, "my-secret-key", "sha512")
    assert verify_signature(WAHA_VECTOR_BODY, signature.upper(), "my-secret-key")  # hex case does not matter


def test_signature_rejections():
    body, key = WAHA_VECTOR_BODY, "my-secret-key"
    good = sign(body, key)
    rejected = {
        "missing": (body, None, key, None),
        "empty": (body, "", key, "sha512"),
        "truncated": (body, good[:8], key, "sha512"),
        "another key": (body, sign(body, "other-key"), key, "sha512"),
        "wrong algorithm header": (body, good, key, "sha256"),
        "no key configured": (body, good, "", None),
        "body changed by one byte": (body + b" ", good, key, "sha512"),
        "not hex": (body, "zz" * 64, key, None),
    }
    for name, args in rejected.items():
        assert not verify_signature(*args), name
    assert verify_signature(body, good, key, "SHA512")


def test_envelope_parsing():
    data = envelope("s1", "WORKING", event_id="evt_1", ts_ms=1_700_000_000_123, me={"id": "628111@c.us"})
    event = parse_envelope(body_of(data))
    assert (event.id, event.session, event.status, event.event) == ("evt_1", "s1", "WORKING", "session.status")
    assert event.at == dt.datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=dt.timezone.utc)
    assert event.me == {"id": "628111@c.us"}
    for bad in (b"not json", b"[1]", b'{"event":"session.status"}', b'{"event":"session.status","session":"s"}'):
        with pytest.raises(BadEnvelope):
            parse_envelope(bad)


async def _session(env):
    """A session row with no webhooks of its own (the test posts the events)."""
    user = await env.user("alice@example.com")
    row = await env.core.sessions.create(user)
    env.recorder.changes.clear()  # the service's own announcements of the create
    return user, row


@pytest.fixture
async def quiet(make_env):
    """Sessions created without webhooks: only the events a test posts arrive."""
    return await make_env(webhooks=False, qr_delay=30.0)


async def test_unsigned_or_wrongly_signed_requests_get_401_and_change_nothing(quiet):
    user, row = await _session(quiet)
    body = body_of(envelope(row.id, "WORKING", me={"id": "628000111222@c.us"}))
    cases = {
        "unsigned": {"Content-Type": "application/json"},
        "wrong key": signed_headers(body, "not-the-secret"),
        "garbage": {"X-Webhook-Hmac": "00" * 64},
        "other algorithm": {**signed_headers(body), "X-Webhook-Hmac-Algorithm": "sha256"},
    }
    for name, headers in cases.items():
        response = await post_webhook(quiet, body, headers)
        assert response.status_code == 401, name
        assert response.json()["outcome"] == "unauthorized"
    # A body changed after signing is refused too.
    tampered = body.replace(b"WORKING", b"FAILED_")
    assert (await post_webhook(quiet, tampered, signed_headers(body))).status_code == 401
    after = await quiet.row(row.id)
    assert (after.status, after.phone, after.last_event_id) == ("starting", None, None)
    assert quiet.recorder.changes == []


async def test_oversize_bodies_get_413_by_header_and_by_actual_length(quiet):
    user, row = await _session(quiet)
    data = envelope(row.id, "WORKING")
    data["padding"] = "x" * (64 * 1024)
    body = body_of(data)
    assert len(body) > 64 * 1024
    # Declared by Content-Length (correctly signed: size is refused before anything else).
    response = await post_webhook(quiet, body)
    assert response.status_code == 413
    # Streamed without Content-Length (chunked): the bytes actually read are counted.

    async def chunks():
        for start in range(0, len(body), 8192):
            yield body[start:start + 8192]

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=quiet.api), base_url="http://wahaweb.test") as c:
        response = await c.post("/api/waha/webhook", content=chunks(), headers=signed_headers(body))
    assert response.status_code == 413
    # Exactly 64 KiB is fine (an ignored event, but it gets through the size check).
    small = body_of({"event": "message", "session": row.id, "pad": ""})
    pad = 64 * 1024 - len(small)
    exact = body_of({"event": "message", "session": row.id, "pad": "y" * pad})
    assert len(exact) == 64 * 1024
    assert (await post_webhook(quiet, exact)).status_code == 200
    assert (await quiet.row(row.id)).status == "starting"


async def test_unknown_sessions_and_other_events_are_ignored_with_200(quiet):
    user, row = await _session(quiet)
    response = await post_webhook(quiet, body_of(envelope("session_9_1_nosuchsession", "WORKING")))
    assert (response.status_code, response.json()["outcome"]) == (200, "unknown_session")
    response = await post_webhook(quiet, body_of(envelope(row.id, "WORKING", event="message")))
    assert (response.status_code, response.json()["outcome"]) == (200, "ignored_event")
    # Metadata naming another session: not ours to apply.
    other = envelope(row.id, "WORKING", metadata={"wahaweb.session_id": "session_9_1_other"})
    assert (await post_webhook(quiet, body_of(other))).json()["outcome"] == "unknown_session"
    response = await post_webhook(quiet, b"{not json")
    assert response.status_code == 400
    assert (await quiet.row(row.id)).status == "starting"
    assert quiet.recorder.changes == []


async def test_applied_event_notifies_before_the_answer_and_a_replay_is_applied_once(quiet):
    user, row = await _session(quiet)
    body = body_of(envelope(row.id, "WORKING", event_id="evt_replayed", me={"id": "628000111222@c.us",
                                                                            "pushName": "Ann"}))
    response = await post_webhook(quiet, body)
    assert (response.status_code, response.json()["outcome"]) == (200, "applied")
    # The listener was told before the HTTP answer: no tick, no page action.
    assert quiet.recorder.statuses(row.id) == ["connected"]
    assert quiet.recorder.changes[-1].source == "webhook"
    after = await quiet.row(row.id)
    assert (after.status, after.phone, after.push_name, after.last_event_id) == \
        ("connected", "+628000111222", "Ann", "evt_replayed")
    # The same signed request again (a replay, or WAHA retrying): 200, applied once.
    for _ in range(3):
        response = await post_webhook(quiet, body)
        assert (response.status_code, response.json()["outcome"]) == (200, "duplicate")
    assert quiet.recorder.statuses(row.id) == ["connected"]
    events = await AuditLog(quiet.core.db).for_session(row.id)
    assert sum(1 for e in events if e.action == "status" and "-> connected" in (e.detail or "")) == 1


async def test_an_older_event_does_not_overwrite_a_newer_one(quiet):
    user, row = await _session(quiet)
    now_ms = int(quiet.clock().timestamp() * 1000) + 1000
    newer = body_of(envelope(row.id, "WORKING", event_id="evt_b", ts_ms=now_ms, me={"id": "628000111222@c.us"}))
    older = body_of(envelope(row.id, "SCAN_QR_CODE", event_id="evt_a", ts_ms=now_ms - 500))
    assert (await post_webhook(quiet, newer)).json()["outcome"] == "applied"
    response = await post_webhook(quiet, older)
    assert (response.status_code, response.json()["outcome"]) == (200, "stale")
    after = await quiet.row(row.id)
    assert (after.status, after.phone, after.last_event_id) == ("connected", "+628000111222", "evt_b")
    assert quiet.recorder.statuses(row.id) == ["connected"]
    assert quiet.recorder.qrs() == []  # the stale SCAN_QR_CODE fetched no QR
    # A later event does apply.
    later = body_of(envelope(row.id, "FAILED", event_id="evt_c", ts_ms=now_ms + 10))
    assert (await post_webhook(quiet, later)).json()["outcome"] == "applied"
    after = await quiet.row(row.id)
    assert (after.status, after.phone) == ("failed", None)  # the phone logged out: number cleared
    assert "logged out" in after.last_error


async def test_real_waha_delivery_reaches_the_db_and_listeners_without_a_tick(make_env):
    """The simulator POSTs its signed session.status events to the real route, in-process."""
    env = await make_env(webhooks=True, qr_delay=0.02, time_scale=50.0)
    user = await env.user("alice@example.com")
    row = await env.core.sessions.create(user)
    assert await env.sim.wait_for_status(row.id, "SCAN_QR_CODE") == "SCAN_QR_CODE"
    await env.settle()
    deliveries = [d for d in env.sim.webhook_deliveries if d["session"] == row.id]
    assert [d["status"] for d in deliveries] == ["STARTING", "SCAN_QR_CODE"]
    assert all(d["status_code"] == 200 for d in deliveries), deliveries
    assert (await env.row(row.id)).status == "pairing"
    assert env.recorder.statuses(row.id)[-1] == "pairing"
    [qr] = env.recorder.qrs(row.id)
    assert qr.rotation == 1 and decode_data_url(qr.data_url) == [env.sim.session(row.id).qr_value]
    assert env.engine.ticks == 0 and env.list_calls() == 0  # no watcher involved
    # The phone scans: WORKING arrives the same way, with the number.
    env.sim.scan(row.id, phone="628000111222", push_name="Ann")
    await env.settle()
    after = await env.row(row.id)
    assert (after.status, after.phone) == ("connected", "+628000111222")
    assert env.engine.current_qr(row.id) is None


async def test_webhook_signed_with_the_generated_secret_when_none_is_configured(make_env):
    """No WAHAWEB_WEBHOOK_SECRET: core generates one; sessions are created with it; events verify."""
    env = await make_env(webhooks=True, webhook_secret=None)
    # (make_env passes webhook_secret=HOOK_SECRET unless overridden; None means 'generate')
    secret = await env.core.webhook_secret()
    assert secret and secret != HOOK_SECRET
    user = await env.user("alice@example.com")
    row = await env.core.sessions.create(user)
    assert await env.sim.wait_for_status(row.id, "SCAN_QR_CODE") == "SCAN_QR_CODE"
    await env.settle()
    assert (await env.row(row.id)).status == "pairing"
    # And the old fixed secret no longer verifies.
    body = body_of(envelope(row.id, "WORKING"))
    assert (await post_webhook(env, body, signed_headers(body, HOOK_SECRET))).status_code == 401


async def _raw_asgi_post(app, headers: list[tuple[bytes, bytes]], chunk: bytes, max_chunks: int):
    """POST straight through ASGI; returns (status, body chunks the app pulled)."""
    pulled = {"n": 0}
    answer: dict = {}

    async def receive():
        pulled["n"] += 1
        more = pulled["n"] < max_chunks
        return {"type": "http.request", "body": chunk, "more_body": more}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/waha/webhook", "raw_path": b"/api/waha/webhook", "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 1234), "server": ("wahaweb.test", 80)}
    await app(scope, receive, send)
    return answer["status"], pulled["n"]


async def test_declared_oversize_is_refused_before_reading_the_body(quiet):
    status, pulled = await _raw_asgi_post(quiet.api, [(b"content-length", b"1000000")], b"x" * 8192, 200)
    assert (status, pulled) == (413, 0)


async def test_undeclared_oversize_stops_reading_at_the_limit(quiet):
    # No Content-Length and a body that would go on for 1.6 MB: reading stops just past 64 KiB.
    status, pulled = await _raw_asgi_post(quiet.api, [(b"transfer-encoding", b"chunked")], b"x" * 8192, 200)
    assert status == 413
    assert pulled <= 64 * 1024 // 8192 + 1


async def test_a_failed_session_stopped_on_waha_keeps_its_failure_reason(quiet):
    user, row = await _session(quiet)
    base = int(quiet.clock().timestamp() * 1000) + 1000
    await post_webhook(quiet, body_of(envelope(row.id, "WORKING", ts_ms=base, me={"id": "628000111222@c.us"})))
    assert (await post_webhook(quiet, body_of(envelope(row.id, "FAILED", ts_ms=base + 1)))).json()["outcome"] \
        == "applied"
    response = await post_webhook(quiet, body_of(envelope(row.id, "STOPPED", ts_ms=base + 2)))
    assert response.json()["outcome"] == "ignored"
    after = await quiet.row(row.id)
    assert after.status == "failed" and "logged out" in after.last_error


async def test_the_rotation_number_comes_from_wahas_status_history(make_env):
    env = await make_env(webhooks=False, qr_delay=0.01, time_scale=1.0, engine_kwargs={"qr_lifetimes": (60, 20)})
    user = await env.user("alice@example.com")
    sid = (await env.core.sessions.create(user)).id
    assert await env.sim.wait_for_status(sid, "SCAN_QR_CODE") == "SCAN_QR_CODE"
    ts = int(env.clock().timestamp() * 1000)
    history = [{"status": s, "timestamp": ts} for s in ("STARTING", "SCAN_QR_CODE", "SCAN_QR_CODE", "SCAN_QR_CODE")]
    before = env.clock()
    assert (await post_webhook(env, body_of(envelope(sid, "SCAN_QR_CODE", ts_ms=ts, statuses=history)))).json()[
        "outcome"] == "applied"
    await env.engine.drain()
    [qr] = env.recorder.qrs(sid)
    assert qr.rotation == 3  # the third QR: it lives 20 s, not 60
    assert dt.timedelta(seconds=19) < qr.expires_at - before < dt.timedelta(seconds=21)


async def test_a_replayed_event_without_id_or_timestamp_is_applied_once(quiet):
    """Older WAHA sends neither `id` nor `timestamp`: the body itself identifies the event."""
    user, row = await _session(quiet)
    data = envelope(row.id, "WORKING", me={"id": "628000111333@c.us", "pushName": "Old"})
    del data["id"], data["timestamp"]
    body = body_of(data)
    first = await post_webhook(quiet, body)
    assert (first.status_code, first.json()["outcome"]) == (200, "applied")
    quiet.clock.advance(5)
    for _ in range(3):
        again = await post_webhook(quiet, body)
        assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    events = await AuditLog(quiet.core.db).for_session(row.id)
    assert sum(1 for e in events if e.action == "status" and "-> connected" in (e.detail or "")) == 1


async def test_an_unknown_status_is_refused_with_422_and_stored_nowhere(quiet):
    user, row = await _session(quiet)
    before = await quiet.row(row.id)
    for status in ("HACKED", "working", "<script>"):
        response = await post_webhook(quiet, body_of(envelope(row.id, status)))
        assert response.status_code == 422 and response.json()["outcome"] == "unknown_status"
    after = await quiet.row(row.id)
    assert (after.status, after.waha_status) == (before.status, before.waha_status)


def test_envelope_fields_are_validated():
    too_long = envelope("s" * 60, "WORKING")
    bad_id = envelope("s1", "WORKING")
    bad_id["id"] = {"nested": True}
    for data in (too_long, bad_id):
        with pytest.raises(BadEnvelope):
            parse_envelope(body_of(data))


async def test_the_qr_fetch_starts_before_the_pairing_status_is_written(make_env):
    """Issue 16: WAHA's QR is asked for first, so the fetch overlaps the status write and its pushes."""
    env = await make_env(webhooks=True, qr_delay=0.02, time_scale=50.0)
    user = await env.user("early@example.com")
    apply = env.core.sessions.apply_waha_status
    fetching_when_written: list[bool] = []

    async def spy(session_id, waha_status, **kwargs):
        if waha_status == "SCAN_QR_CODE":
            fetching_when_written.append(env.engine.qr.fetching(session_id))
        return await apply(session_id, waha_status, **kwargs)

    env.core.sessions.apply_waha_status = spy
    row = await env.core.sessions.create(user)
    assert await env.sim.wait_for_status(row.id, "SCAN_QR_CODE") == "SCAN_QR_CODE"
    await env.settle()
    assert fetching_when_written == [True]
    assert (await env.row(row.id)).status == "pairing"
    [qr] = env.recorder.qrs(row.id)
    assert qr.rotation == 1 and decode_data_url(qr.data_url) == [env.sim.session(row.id).qr_value]


async def test_an_older_event_landing_between_the_early_fetch_and_the_write_does_not_lose_the_qr(make_env):
    """Webhooks may be handled out of order: STARTING applied after SCAN_QR_CODE's early fetch forgets it."""
    env = await make_env(webhooks=True, qr_delay=0.02, time_scale=50.0)
    user = await env.user("race@example.com")
    apply = env.core.sessions.apply_waha_status

    async def late_starting_first(session_id, waha_status, **kwargs):
        if waha_status == "SCAN_QR_CODE":
            env.engine.qr.forget(session_id)  # what a STARTING event applied right now does
        return await apply(session_id, waha_status, **kwargs)

    env.core.sessions.apply_waha_status = late_starting_first
    row = await env.core.sessions.create(user)
    assert await env.sim.wait_for_status(row.id, "SCAN_QR_CODE") == "SCAN_QR_CODE"
    await env.settle()
    [qr] = env.recorder.qrs(row.id)
    assert qr.rotation == 1 and env.engine.current_qr(row.id) is not None


async def test_the_second_copy_of_an_event_racing_the_first_is_not_pushed_again(quiet, monkeypatch):
    """WAHA sends one status change twice, by webhook and on its events socket, with different
    ids; with several workers both copies arrive at once and both read the row before either
    writes it. The first is applied and pushed; the second changes nothing a page shows and is
    not pushed again (before: it compared with its stale pre-read row and pushed a second time,
    a full fan-out to every tab of the owner and every admin). Failed on the old code: two pushes."""
    from wahaweb.core.live import parse_envelope

    user, row = await _session(quiet)
    sessions = quiet.engine.sessions
    real_row_for_event = sessions.row_for_event
    both_read = asyncio.Event()
    reads = []

    async def row_for_event(*args, **kwargs):  # the real read, held until both copies have read
        found = await real_row_for_event(*args, **kwargs)
        reads.append(found.status)
        if len(reads) == 2:
            both_read.set()
        await both_read.wait()
        return found

    monkeypatch.setattr(sessions, "row_for_event", row_for_event)
    me = {"id": "628000111222@c.us", "pushName": "Ann"}
    ts_ms = int(quiet.clock().timestamp() * 1000)
    webhook, socket = (parse_envelope(body_of(envelope(row.id, "WORKING", event_id=f"evt_{n}", ts_ms=ts_ms, me=me)))
                       for n in ("hook", "socket"))
    outcomes = await asyncio.gather(quiet.engine.apply_event(webhook), quiet.engine.apply_event(socket, source="socket"))
    assert reads == ["starting", "starting"]  # both copies saw the row before either wrote it
    assert sorted(outcomes) == ["applied", "applied"]
    assert quiet.recorder.statuses(row.id) == ["connected"]
    assert (await quiet.row(row.id)).status == "connected"

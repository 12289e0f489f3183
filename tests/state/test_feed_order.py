"""A feed's cards never go back in time: pushes of one session may land out of order."""

from __future__ import annotations

import datetime as dt

from tests.state.test_customer_words import PlainFeed
from wahaweb.core.models import WaSession
from wahaweb.state.feed import SessionCard

T0 = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.timezone.utc)


def _row(status: str, at: dt.datetime, **fields) -> WaSession:
    return WaSession(id="session_1", user_id=1, status=status, created_at=T0, updated_at=at,
                     status_changed_at=at, **fields)


def _feed() -> PlainFeed:
    feed = PlainFeed()
    feed.sessions, feed.all_sessions, feed.by_id = [], [], {}
    return feed


def test_a_late_push_of_an_older_row_never_overwrites_a_newer_card():
    """A create WAHA refused at once: 'creating' and 'failed' are announced by two tasks and may
    land in either order (seen under load); the page must end on 'failed' either way."""
    creating = _row("creating", T0)
    failed = _row("failed", T0 + dt.timedelta(microseconds=1), last_error_code="waha_refused")
    for order in ((creating, failed), (failed, creating)):
        feed = _feed()
        for row in order:
            feed._patch(SessionCard.of(row), own=True, admin=False)
        assert [(c.status, c.error_code) for c in feed.sessions] == [("failed", "waha_refused")], order
        assert feed.active == 0


def test_a_push_of_the_same_row_still_applies():
    """The 'server unreachable' note changes the card without writing the row: same time, applied."""
    row = _row("pairing", T0)
    feed = _feed()
    feed._patch(SessionCard.of(row), own=True, admin=False)
    feed._patch(SessionCard.of(row, note="server unreachable"), own=True, admin=False)
    assert [(c.status, c.note) for c in feed.sessions] == [("pairing", "server unreachable")]


def test_naive_and_aware_times_of_one_instant_agree():
    """SQLite hands back naive UTC; a row fresh from a write may be aware."""
    naive = SessionCard.of(_row("pairing", T0.replace(tzinfo=None)))
    aware = SessionCard.of(_row("pairing", T0))
    assert naive.row_us == aware.row_us > 0


def test_updated_at_grows_in_commit_order_even_when_now_was_read_earlier():
    """A writer reads `now`, then waits for the row's lock behind one that read a later `now`:
    its write still comes out later, or the page would drop the push of the row's last state."""
    row = _row("pairing", T0 + dt.timedelta(microseconds=5))
    row.touch(T0)  # read before the other writer's, committed after it
    assert row.updated_at == T0 + dt.timedelta(microseconds=6)
    row.touch(T0 + dt.timedelta(seconds=1))
    assert row.updated_at == T0 + dt.timedelta(seconds=1)
    feed = _feed()
    earlier, later = _row("pairing", T0 + dt.timedelta(microseconds=5)), _row("connected", row.updated_at)
    for pushed in (later, earlier):
        feed._patch(SessionCard.of(pushed), own=True, admin=False)
    assert [c.status for c in feed.sessions] == ["connected"]


def _overview(*rows: WaSession):
    from wahaweb.core.models import User
    from wahaweb.core.plans import Usage
    from wahaweb.core.sessions.access import Overview

    return Overview(user=User(id=1, email="a@example.com", password_hash="x"), own=list(rows), everyone=None,
                    usage=Usage(1, 1, None))


def test_a_fill_never_takes_a_card_back_to_an_older_row():
    """A page load's read, filled after a push of a newer row had landed (a load links its feed
    before it reads, so a push waits; this is the second net): the newer card stays."""
    feed = _feed()
    feed.timelines = {}
    read = _overview(_row("pairing", T0))
    feed._patch(SessionCard.of(_row("connected", T0 + dt.timedelta(seconds=1))), own=True, admin=False)
    feed._fill(read)
    assert [c.status for c in feed.sessions] == ["connected"]


def test_a_load_keeps_the_first_qr_pushed_before_its_row_says_pairing():
    """The load read 'starting'; the first QR was pushed into the sign-in's QR state before the load
    linked it (the engine fetches it as WAHA announces it): the QR stays. A session that left pairing,
    or is gone, loses its QR."""
    from tests.state.test_customer_words import PlainQr
    from wahaweb.state.feed import QrView, qr_kept

    codes = PlainQr()
    qr = QrView(data_url="data:image/svg+xml,x", rotation=1)
    codes._set("session_1", qr)
    codes._set("session_gone", qr)
    codes._keep(qr_kept(_overview(_row("starting", T0))))
    assert set(codes.qr) == {"session_1"}
    codes._keep(qr_kept(_overview(_row("connected", T0))))
    assert codes.qr == {}


def test_the_qr_state_is_written_only_when_it_changes():
    """An untouched QR state sends the tabs nothing: dropping, keeping or clearing what is not there
    assigns nothing (a status push to a session with no QR costs no delta)."""
    from tests.state.test_customer_words import PlainQr
    from wahaweb.state.feed import QrView

    codes = PlainQr()
    codes._set("session_1", QrView(data_url="data:image/svg+xml,x"))
    held = codes.qr
    codes._drop("session_2")
    codes._keep(["session_1", "session_2"])
    assert codes.qr is held
    codes._drop("session_1")
    assert codes.qr == {} and codes.qr is not held
    held = codes.qr
    codes._clear()
    assert codes.qr is held

"""Session ids, the status mapping, time zones."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlmodel import select

from wahaweb.core import status as st
from wahaweb.core.clock import FakeClock
from wahaweb.core.db import Database
from wahaweb.core.ids import MAX_SESSION_ID_LENGTH, SESSION_ID_RE, is_session_id, new_session_id
from wahaweb.core.migrate import upgrade_engine
from wahaweb.core.models import User, UTCDateTime
from wahaweb.waha import WahaStatus


def test_ten_thousand_ids_are_unique_short_and_well_formed():
    clock = FakeClock()  # one frozen second: uniqueness must not lean on the timestamp
    ids = [new_session_id(user_id, clock) for user_id in (1, 42, 999_999) for _ in range(3334)][:10_000]
    assert len(ids) == 10_000
    assert len(set(ids)) == 10_000
    expected_ts = str(int(clock().timestamp()))
    for sid in ids:
        assert len(sid) <= MAX_SESSION_ID_LENGTH
        m = SESSION_ID_RE.match(sid)
        assert m, sid
        assert m["timestamp"] == expected_ts
        assert is_session_id(sid)


def test_id_fits_waha_limit_for_the_largest_user_id():
    sid = new_session_id(2**63 - 1)  # bigint max: 19 digits
    assert len(sid) <= 54
    assert SESSION_ID_RE.match(sid)
    assert sid.startswith(f"session_{2**63 - 1}_")


@pytest.mark.parametrize("bad", ["", "default", "session_1_123_abc", "../etc", "session_1_1767268800_ABCDEFGHIJKL",
                                 "session_x_1767268800_abcdefghijkl", None, 5, "session_1_1767268800_abcdefghijkl/x"])
def test_is_session_id_rejects_other_strings(bad):
    assert not is_session_id(bad)


@pytest.mark.parametrize(("waha", "canonical"), [
    ("STARTING", "starting"), ("SCAN_QR_CODE", "pairing"), ("WORKING", "connected"), ("STOPPED", "stopped"),
    ("FAILED", "failed"), ("PASSKEY_REQUIRED", "pairing"), ("PASSKEY_CONFIRMATION_REQUIRED", "pairing"),
    (WahaStatus.WORKING, "connected"), ("PASSKEY_SOMETHING_NEW", "pairing"),
])
def test_status_mapping(waha, canonical):
    assert st.canonical_status(waha) == canonical


def test_every_waha_status_is_mapped():
    for status in WahaStatus:
        assert status.value in st.WAHA_TO_CANONICAL
    assert set(st.WAHA_TO_CANONICAL.values()) <= set(st.ALL_STATUSES)
    assert set(st.ACTIVE_STATUSES) | set(st.INACTIVE_STATUSES) == set(st.ALL_STATUSES)


async def test_datetimes_come_back_aware_utc_on_sqlite(sqlite_url):
    db = Database.from_url(sqlite_url)
    try:
        await upgrade_engine(db.engine)
        plus_two = dt.timezone(dt.timedelta(hours=2))
        local = dt.datetime(2026, 3, 1, 14, 30, tzinfo=plus_two)
        async with db.transaction() as s:
            s.add(User(email="tz@example.com", password_hash="x", created_at=local))
        async with db.session() as s:
            user = (await s.exec(select(User))).first()
        assert user.created_at.tzinfo is not None
        assert user.created_at.utcoffset() == dt.timedelta(0)
        assert user.created_at == local
        assert user.created_at.hour == 12
    finally:
        await db.aclose()


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(dt.datetime(2026, 1, 1), sa.create_engine("sqlite://").dialect)

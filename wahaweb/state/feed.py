"""One live feed per sign-in, shared by all of that sign-in's tabs, and its QR codes beside it.

`UserFeed` is an `rx.SharedState` linked (server-side, only after the cookie has been
checked) to the sign-in's feed token, an HMAC of the sign-in under a server secret
(`Core.feed_token`): Reflex lets a client connect under any token it likes, so a
guessable one would hand out the feed. Writing the feed from any tab, or from the
status engine through `app.modify_state`, updates every tab of that sign-in and no one
else's. Admins' feeds also carry every session, for /admin.

`UserQr` holds the current QR codes alone (issue 16): a QR rotates every 20 s, and in the feed
each rotation made the browser re-render everything that reads the feed (the session list, the
status, the timeline). It is linked by the session page only, to its own token (`Core.qr_token`,
another HMAC of the sign-in), so a rotation's delta carries the QR state and nothing else, and
reaches only tabs that opened a session page. Its own token, not the feed's: Reflex 0.10 saves a
second shared state linked to a token the event already holds through a tree it never writes
back (with Redis the link and the QR were lost; see `tests/state/test_qr_state.py`).

Neither has event handlers: every method is `_private`, so no client can call one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

import reflex as rx

from wahaweb.core.container import Core
from wahaweb.core.failures import GENERIC as GENERIC_FAILURE
from wahaweb.core.failures import public_detail
from wahaweb.core.live import CurrentQr
from wahaweb.core.models import WaSession
from wahaweb.core.sessions.access import Overview
from wahaweb.core.status import ACTIVE_STATUSES, CREATING, FAILED, PAIRING, STARTING

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _microseconds(value: dt.datetime | None) -> int:
    if value is None:
        return 0
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=dt.timezone.utc)
    return (value - _EPOCH) // dt.timedelta(microseconds=1)  # exact, unlike a float timestamp


def _iso(value: dt.datetime | None) -> str:
    return value.isoformat() if value else ""


@dataclasses.dataclass
class SessionCard:
    """What a page may know about one session: no secrets, nothing of other users."""

    id: str = ""
    label: str = ""
    status: str = ""
    waha_status: str = ""
    phone: str = ""
    push_name: str = ""
    #: Why it failed, for admins only (operators' words, maybe WAHA's own text); "" for everyone else.
    last_error: str = ""
    #: The kind of failure (`wahaweb.core.failures`): shown as `failure.<code>` in the reader's language.
    error_code: str = ""
    owner: str = ""
    created_at: str = ""
    changed_at: str = ""
    connected_at: str = ""
    #: Beside the status, e.g. "server unreachable" (the status is then the last one known).
    note: str = ""
    #: The row's `updated_at` in microseconds: pushes may land out of order (two background tasks
    #: announcing one create), and a card never goes back to an older row.
    row_us: int = 0

    @classmethod
    def of(cls, row: WaSession, owner: str = "", note: str = "", *, admin: bool = False) -> SessionCard:
        """The card of `row` for one reader: an admin also gets `last_error`, a customer only its code."""
        failed = row.status == FAILED or bool(row.last_error)
        return cls(
            note=note,
            id=row.id,
            label=row.label or "",
            status=row.status,
            waha_status=row.waha_status or "",
            phone=row.phone or "",
            push_name=row.push_name or "",
            last_error=(row.last_error or "") if admin else "",
            error_code=(row.last_error_code or GENERIC_FAILURE) if failed else "",
            owner=owner,
            created_at=_iso(row.created_at),
            changed_at=_iso(row.status_changed_at),
            connected_at=_iso(row.connected_at),
            row_us=_microseconds(row.updated_at),
        )


@dataclasses.dataclass
class QrView:
    """The current QR of a pairing session, pushed once per rotation."""

    data_url: str = ""
    rotation: int = 0
    max_rotations: int = 6
    expires_at_ms: int = 0


def qr_view(qr: CurrentQr) -> QrView:
    return QrView(data_url=qr.data_url, rotation=qr.rotation, max_rotations=qr.max_rotations,
                  expires_at_ms=qr.expires_at_ms)


@dataclasses.dataclass
class TimelineItem:
    at: str = ""
    action: str = ""
    outcome: str = ""
    detail: str = ""


class UserFeed(rx.SharedState):
    """Everything live about one user's sessions.

    Filled once when a page loads (`_fill`); afterwards the status engine's change stream
    patches it one card at a time (`_patch`, `_remove`): no reloads. QR codes are in `UserQr`.
    """

    sessions: list[SessionCard] = []
    #: Admins only: every session of every user, with its owner.
    all_sessions: list[SessionCard] = []
    #: Sessions this user may open (own; admins: all), by id.
    by_id: dict[str, SessionCard] = {}
    #: Recent audit events of the sessions whose page is open somewhere, kept live.
    timelines: dict[str, list[TimelineItem]] = {}
    active: int = 0
    limit: int = 0
    plan: str = ""
    loaded: bool = False

    def _clear(self) -> None:
        """Empty the feed (a disabled account: nothing more reaches its tabs)."""
        self.sessions, self.all_sessions, self.by_id, self.timelines = [], [], {}, {}
        self.active = self.limit = 0
        self.plan = ""
        self.loaded = False

    def _fill(self, page: Overview) -> None:
        """The page load: the user's sessions (admins: everyone's) and the plan meter, read once by core.

        A card the feed already holds from a newer row than the one read (a push that got in first)
        is kept, as `_patch` would keep it: a fill never takes a card back in time."""
        admin = page.everyone is not None
        own = {card.id: card for card in self.sessions}
        self.sessions = [_newer(SessionCard.of(row, note=page.note(row), admin=admin), own)
                         for row in page.own]
        everyone = {card.id: card for card in self.all_sessions}
        self.all_sessions = [_newer(SessionCard.of(item.session, item.owner_email, page.note(item.session),
                                                   admin=True), everyone)
                             for item in page.everyone or []]
        self._index()
        self.timelines = {k: v for k, v in self.timelines.items() if k in self.by_id}
        self.active, self.limit, self.plan = page.usage.active, page.usage.limit, page.usage.plan_label
        self.loaded = True

    def _index(self) -> None:
        by_id = {card.id: card for card in self.all_sessions}
        by_id.update({card.id: card for card in self.sessions})
        self.by_id = by_id

    def _patch(self, card: SessionCard, *, own: bool, admin: bool) -> bool:
        """One session changed: replace (or add) its card; the plan meter follows from the cards.
        A push of an older row than the card shown (it lost a race with a newer one) is dropped:
        False (its QR, in `UserQr`, stays too)."""
        held = self.by_id.get(card.id)
        if held is not None and card.row_us < held.row_us:
            return False
        if own:
            self.sessions = _upsert(self.sessions, card)
            self.active = sum(1 for c in self.sessions if c.status in ACTIVE_STATUSES)
        if admin:
            previous = next((c for c in self.all_sessions if c.id == card.id), None)
            owned = dataclasses.replace(card, owner=card.owner or (previous.owner if previous else ""))
            self.all_sessions = _upsert(self.all_sessions, owned)
        self._index()
        return True

    def _remove(self, session_id: str) -> None:
        self.sessions = [c for c in self.sessions if c.id != session_id]
        self.all_sessions = [c for c in self.all_sessions if c.id != session_id]
        self.active = sum(1 for c in self.sessions if c.status in ACTIVE_STATUSES)
        self._index()
        self.timelines = {k: v for k, v in self.timelines.items() if k != session_id}

    def _set_timeline(self, session_id: str, items: list[TimelineItem]) -> None:
        self.timelines = {**self.timelines, session_id: items}


class UserQr(rx.SharedState):
    """The current QR code of each pairing session of one sign-in: nothing else (see the module).

    Set by the status engine's QR pushes (`_set`) and by a session page's load (the QR current
    then); a session leaving pairing, or deleted, loses its QR (`_drop`), and a load keeps only
    the sessions still pairing (`_keep`). Each method assigns only when something changes: an
    untouched state sends nothing to the tabs.
    """

    qr: dict[str, QrView] = {}

    def _set(self, session_id: str, card: QrView) -> None:
        self.qr = {**self.qr, session_id: card}

    def _drop(self, session_id: str) -> None:
        if session_id in self.qr:
            self.qr = {k: v for k, v in self.qr.items() if k != session_id}

    def _keep(self, session_ids: Iterable[str]) -> None:
        keep = set(session_ids)
        if any(k not in keep for k in self.qr):
            self.qr = {k: v for k, v in self.qr.items() if k in keep}

    def _clear(self) -> None:
        if self.qr:
            self.qr = {}


#: A load keeps the QR codes of the user's sessions in these states (`qr_kept`).
QR_STATUSES = frozenset({CREATING, STARTING, PAIRING})


def qr_kept(page: Overview) -> set[str]:
    """The sessions whose QR codes a page load keeps in `UserQr`: the user's own that are (about to be)
    pairing. Not pairing only: the engine fetches a session's first QR as WAHA announces it, and may
    push it before the row the load read says pairing ('starting'); that QR must stay."""
    return {row.id for row in page.own if row.status in QR_STATUSES}


def _newer(card: SessionCard, held: dict[str, SessionCard]) -> SessionCard:
    """`card`, unless the one held for its session comes from a newer row."""
    kept = held.get(card.id)
    return kept if kept is not None and kept.row_us > card.row_us else card


async def timeline_items(core: Core, session_id: str, *, admin: bool = False) -> list[TimelineItem]:
    """The listener reads this before it takes a feed's lock (a QR push to the same feed must not
    wait behind the database); a page load reads it holding the lock (pushes wait for its fill).

    An admin reads each event's whole detail; a customer only wahaweb's own words of it (`public_detail`).
    """
    events = await core.audit.for_session(session_id, 20)
    return [TimelineItem(at=e.at.isoformat(), action=e.action, outcome=e.outcome,
                         detail=(e.detail or "") if admin else public_detail(e.detail))
            for e in events]


def _upsert(cards: list[SessionCard], card: SessionCard) -> list[SessionCard]:
    """Replace the card with the same id in place, or put a new one first (newest first)."""
    if any(c.id == card.id for c in cards):
        return [card if c.id == card.id else c for c in cards]
    return [card, *cards]

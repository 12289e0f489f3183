"""Tenant isolation at the websocket protocol, attacked with a raw socket.io client.

The UI is not in the way here: attackers (signed out, and signed in as another customer)
call every event handler the app exposes (found by introspection, not listed by hand) with
forged arguments (forged `User` payloads, other users' ids and session ids, `setvar` on
every var), on every page path, and connect with guessable tokens. Meanwhile the victims'
sessions rotate QR codes and connect a phone. No frame an attacker receives may carry a
victim's label, e-mail, session id (one the attacker never typed), phone or QR image.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
import typing

import pytest

from benchmarks.rawclient import ROOT, RawClient, sign_in_cookie
from tests.browser.conftest import PASSWORD, SIM_API_KEY, new_email
from tests.handlers import Handler, app_states, handlers, is_app_state

pytestmark = pytest.mark.browser

SESSION_ID = re.compile(r"session_\d+_\d+_[0-9a-z]+")
PHONE = re.compile(r"628\d{9}")
QR_IMAGE = "data:image/svg+xml"  # the QR as wahaweb draws it from WAHA's raw text
#: One QR code as a frame carries it (each rotation's differs).
VICTIM_QR = re.compile(r"data:image/svg\+xml[^\"\\]{40,}")


def _on_load_internal() -> str:
    from reflex.state import OnLoadInternalState

    return f"{OnLoadInternalState.get_full_name()}.on_load_internal"


def _named(name: str, state: str | None = None) -> Handler:
    return next(h for h in handlers()
                if h.name == name and is_app_state(h.state) and (state is None or h.state.__name__ == state))


class Victim:
    """A customer with one pairing session, watched through his own (honest) connection."""

    def __init__(self, base_url: str, label: str) -> None:
        self.email = new_email("victim")
        self.label = label
        self.cookie = cookie = sign_in_cookie(base_url, self.email, PASSWORD, register=True)
        self.client = RawClient(base_url, cookie=cookie).connect()
        self.client.hydrate("/")
        self.client.send(_named("load", "DashboardState").event_name, path="/")  # the dashboard's on_load
        self._call_with_label(label)
        assert self.client.wait_for("/sessions/session_"), self.client.text()[-2000:]
        self.session_id = SESSION_ID.search(self.client.text().split("/sessions/", 1)[1]).group(0)
        path = f"/sessions/{self.session_id}"
        self.client.hydrate(path)
        self.client.send(_named("load", "SessionPageState").event_name, path=path)
        # Generous: after the flood of the first test the backend may still be busy; a QR missed
        # then arrives with the next rotation.
        assert self.client.wait_for(QR_IMAGE, timeout=60), "the victim's own QR never arrived"

    def _call_with_label(self, label: str) -> None:
        set_label = _named("set_label")
        self.client.send(set_label.event_name, {next(iter(set_label.params)): label})
        self.client.send(_named("create_session").event_name)

    def scan(self) -> str:
        """The victim's phone scans: his session connects and carries a phone number."""
        self.client.send(_named("simulate_scan").event_name, path=f"/sessions/{self.session_id}")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = PHONE.search(self.client.text())
            if found:
                return found.group(0)
            time.sleep(0.1)
        raise AssertionError("the victim's phone number never reached his own page")


def _forged_users(ids: typing.Iterable[int]) -> list[dict]:
    return [{"id": i, "email": "x@example.com", "role": "admin", "active": True, "password_hash": "",
             "plan_id": None, "created_at": "2026-01-01T00:00:00"} for i in ids]


def _forged_values(annotation: typing.Any, *, ids: list[int], session_ids: list[str]) -> list[typing.Any]:
    if annotation is bool:
        return [True, False]
    if annotation is int:
        return list(ids)
    if annotation is str:
        return [*session_ids, *(str(i) for i in ids), "x" * 10_000]
    return [*_forged_users(ids), *session_ids, {"id": ids[0]}, [ids[0]], None]


def _attack_every_handler(attacker: RawClient, *, ids: list[int], session_ids: list[str]) -> int:
    sent = 0
    paths = ["/", "/admin", *(f"/sessions/{sid}" for sid in session_ids)]
    for handler in handlers():
        if handler.name in ("hydrate",):
            continue
        if not handler.params:
            for path in paths:
                attacker.send(handler.event_name, path=path)
                sent += 1
            continue
        for pname, annotation in handler.params.items():
            for value in _forged_values(annotation, ids=ids, session_ids=session_ids):
                payload = {p: value if p == pname else _forged_values(a, ids=ids, session_ids=session_ids)[0]
                           for p, a in handler.params.items()}
                for path in paths:
                    attacker.send(handler.event_name, payload, path=path)
                    sent += 1
    # setvar on every var of every app state, with the victims' ids and forged users.
    for cls in app_states():
        if not is_app_state(cls):
            continue
        for var in sorted(cls.base_vars):
            for value in [*session_ids, *_forged_users(ids[:2]), True, ids[0]]:
                attacker.send(f"{cls.get_full_name()}.setvar", {"var_name": var, "value": value},
                              path=f"/sessions/{session_ids[0]}")
                sent += 1
    return sent


def _webhook_tokens(app_env) -> list[str]:
    """Every server's secret webhook token (the admin's servers page may show it), from the app's database."""
    path = app_env["DATABASE_URL"].split(":///", 1)[1]
    with contextlib.closing(sqlite3.connect(path)) as db:
        tokens = [row[0] for row in db.execute("SELECT webhook_token FROM waha_server") if row[0]]
    assert tokens, "every server has a webhook token (migration 0004, the model's default)"
    return tokens


def test_no_handler_and_no_token_gives_another_users_data(base_url, admin_email, app_env):
    victim = Victim(base_url, "VICTIM-LABEL-a1")
    hidden = Victim(base_url, "VICTIM-LABEL-b2")  # his session id is never typed by an attacker
    ids = list(range(1, 12))

    stranger = RawClient(base_url).connect()
    customer_cookie = sign_in_cookie(base_url, new_email("attacker"), PASSWORD, register=True)
    customer = RawClient(base_url, cookie=customer_cookie).connect()
    guessers = [RawClient(base_url, token=token).connect()
                for token in ["user1", "user2", "user3", "user4", "1", "2", "3", "admin", "feed1", "feed2"]]
    attackers = [stranger, customer, *guessers]
    for attacker in attackers:
        attacker.hydrate(f"/sessions/{victim.session_id}")
    for attacker in (stranger, customer, guessers[1]):
        assert _attack_every_handler(attacker, ids=ids, session_ids=[victim.session_id]) > 100
    for attacker in attackers:
        attacker.hydrate("/")

    # While the attackers are connected: QR rotations are pushed, then a phone connects.
    phone = hidden.scan()
    victim_phone = victim.scan()
    time.sleep(3)

    needles = {
        "victim label": victim.label, "hidden label": hidden.label,
        "hidden session id": hidden.session_id,
        "victim e-mail": victim.email, "hidden e-mail": hidden.email, "admin e-mail": admin_email,
        "victim phone": victim_phone, "hidden phone": phone, "a QR image": QR_IMAGE,
        "the operator's WAHA server": "embedded WAHA simulator", "the WAHA key": SIM_API_KEY,
        **{f"webhook token {i}": token for i, token in enumerate(_webhook_tokens(app_env))},
    }
    # The customer attacker has an account of his own: the flood's create_session makes him a session,
    # and its QR codes reach him, rightly (seen once). So for him the victims' own QR codes are the
    # needles; nobody else has a session, and any QR code reaching them is a leak.
    victims_qr = set(VICTIM_QR.findall(victim.client.text() + hidden.client.text()))
    assert victims_qr, "the victims' own QR codes never reached them"
    leaks = {f"{what} -> attacker {i} ({a.token})": True
             for i, a in enumerate(attackers) for what, needle in needles.items()
             if needle in a.text() and not (a is customer and needle == QR_IMAGE)}
    leaks.update({f"a victim's QR -> the customer attacker ({customer.token})": True
                  for qr in victims_qr if qr in customer.text()})
    for client in (*attackers, victim.client, hidden.client):
        client.close()
    assert not leaks, f"data reached an attacker: {sorted(leaks)}"


def test_a_handler_never_trusts_a_client_token_alone(base_url, admin_email):
    """Connecting with a victim's own websocket token but without his cookie gives nothing either."""
    victim = Victim(base_url, "VICTIM-LABEL-c3")
    thief = RawClient(base_url, token=victim.client.token)
    thief.connect()
    thief.hydrate(f"/sessions/{victim.session_id}")
    thief.send(_on_load_internal(), path=f"/sessions/{victim.session_id}")
    time.sleep(3)
    text = thief.text()
    victim.client.close()
    thief.close()
    # The state of a token is the token owner's: a stolen token is a stolen tab. What must not
    # happen is that a fresh on_load without the cookie keeps showing the data.
    assert QR_IMAGE not in text.rsplit('"is_hydrated', 1)[-1]


def test_a_page_of_another_origin_cannot_open_the_websocket(base_url):
    """The handshake as a browser on another origin sends it: exactly one Origin header."""
    import websocket

    url = base_url.replace("http", "ws", 1) + "/_event/?EIO=4&transport=websocket&token=probe"
    for origin in ("http://127.0.0.1:1", "null", "http://evil.example", base_url + ".evil.example"):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(url, origin=origin, timeout=10)
        assert refused.value.status_code == 403, origin
    websocket.create_connection(url, origin=base_url, timeout=10).close()  # the app's own origin still may


def test_a_tab_token_reused_with_another_cookie_starts_empty(base_url, admin_email):
    """The admin's tab token, reused by a customer with his own cookie: whatever he sends first
    (a guarded event, then a hydrate), the admin's page state is wiped before anything reaches him."""
    admin = RawClient(base_url, cookie=sign_in_cookie(base_url, admin_email, PASSWORD)).connect()
    admin.hydrate("/admin")
    admin.send(_named("load", "AdminState").event_name, path="/admin")
    assert admin.wait_for(admin_email), "the admin's own page never loaded"
    token = admin.token
    admin.close()
    customer_email = new_email("reuser")
    thief = RawClient(base_url, token=token, cookie=sign_in_cookie(base_url, customer_email, PASSWORD,
                                                                   register=True)).connect()
    thief.send(_named("set_label", "DashboardState").event_name, {"value": "x"})
    thief.hydrate("/admin")
    time.sleep(3)
    text = thief.text()
    thief.close()
    assert admin_email not in text and "users_rx_state_\": [{" not in text


def _qr_frames(client: RawClient, since: int = 0) -> list[dict]:
    """The frames (decoded) a client received after its `since`-th one that carry a QR image."""
    with client._lock:
        timed = list(client.timed[since:])
    return [data for _, data in timed if isinstance(data, dict) and QR_IMAGE in json.dumps(data)]


def test_a_qr_rotation_is_the_qr_state_alone_and_reaches_only_its_owners_session_pages(base_url):
    """Issue 16: a QR push is a delta of `UserQr` and nothing else (no key of the feed: on old code the
    QR was `UserFeed.qr`, and every rotation re-rendered all that reads the feed), sent to the owner's
    session pages only (old code: his dashboard tabs got every rotation too), never to another user,
    whatever he sends to the QR state (it has no handler; `setvar` is refused)."""
    from wahaweb.state.feed import UserFeed, UserQr

    owner = Victim(base_url, "QR-OWNER-d4")
    dashboard = RawClient(base_url, cookie=owner.cookie).connect()  # the same sign-in, on its dashboard
    dashboard.hydrate("/")
    dashboard.send(_named("load", "DashboardState").event_name, path="/")
    assert dashboard.wait_for(owner.session_id), "the owner's dashboard never loaded"
    other = Victim(base_url, "QR-OTHER-e5")  # another customer, pairing on his own session page
    qr_state = UserQr.get_full_name()
    forged = {owner.session_id: {"data_url": "data:image/svg+xml,INJECTED-QR", "rotation": 1, "max_rotations": 6,
                                 "expires_at_ms": 0}}
    path = f"/sessions/{owner.session_id}"
    other.client.send(f"{qr_state}.setvar", {"var_name": "qr", "value": forged}, path=path)
    for name in ("_set", "_link_to", "_keep", "set_qr", "qr"):
        other.client.send(f"{qr_state}.{name}", {"session_id": owner.session_id, "card": forged, "token": "x"},
                          path=path)
    other.client.hydrate(path)  # his tab, on the owner's page: still his own QR state

    since = len(owner.client.timed)
    dashboard_since = len(dashboard.timed)
    deadline = time.monotonic() + 60  # the app's WAHA rotates a QR every 20 s / 6 (the first lives 60 s / 6)
    while len(_qr_frames(owner.client, since)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    rotations = _qr_frames(owner.client, since)
    assert len(rotations) >= 2, "the owner's page saw no QR rotation"
    for frame in rotations:
        assert qr_state in frame["delta"], frame["delta"].keys()
        assert UserFeed.get_full_name() not in frame["delta"], sorted(frame["delta"])
        assert set(frame["delta"]) <= {qr_state, ROOT}, sorted(frame["delta"])
    owners_qr = set(VICTIM_QR.findall(owner.client.text()))
    others_text, dashboard_frames = other.client.text(), _qr_frames(dashboard, dashboard_since)
    for client in (owner.client, other.client, dashboard):
        client.close()
    assert not dashboard_frames, "a dashboard tab got QR codes it never shows"
    assert owners_qr and not [qr for qr in owners_qr if qr in others_text], "the owner's QR reached another user"
    assert "INJECTED-QR" not in others_text and "INJECTED-QR" not in owner.client.text()


def test_an_admins_tab_keeps_no_qr_of_a_customer_session_once_it_is_deleted(base_url, admin_email):
    """An admin opening a customer's pairing session page gets its current QR at load (as before
    issue 16; rotations go to the owner only). When the customer deletes the session, that QR must go
    from the admin's tab as it went from his feed (`UserFeed._remove` dropped `qr` for every recipient,
    admins included): the listener now drops it from `UserQr` for the owner's sign-ins only (`if own`),
    so the admin's QR state keeps it and every hydrate of his tab sends it again (a scan that connects
    the session leaves it there the same way)."""
    victim = Victim(base_url, "QR-ADMIN-g7")
    path = f"/sessions/{victim.session_id}"
    admin_cookie = sign_in_cookie(base_url, admin_email, PASSWORD)  # a fresh sign-in: a QR state of its own
    admin = RawClient(base_url, cookie=admin_cookie).connect()
    admin.hydrate(path)
    admin.send(_named("load", "SessionPageState").event_name, path=path)
    assert admin.wait_for(victim.label, timeout=20), "the admin's page of the customer's session never loaded"
    time.sleep(1)  # the load's QR (today: the current one, set into the admin's UserQr) is in
    redirects = victim.client.text().count("_redirect")
    victim.client.send(_named("ask", "SessionPageState").event_name, {"action": "delete"}, path=path)
    victim.client.send(_named("confirm", "SessionPageState").event_name, path=path)
    deadline = time.monotonic() + 20
    while victim.client.text().count("_redirect") == redirects and time.monotonic() < deadline:
        time.sleep(0.1)
    assert victim.client.text().count("_redirect") > redirects, "the delete never redirected the owner"
    time.sleep(3)  # the status engine's REMOVED reaches every recipient's feed
    token = admin.token
    admin.close()
    time.sleep(1)
    reloaded = RawClient(base_url, token=token, cookie=admin_cookie).connect()  # the admin reloads his tab
    reloaded.hydrate(path)
    time.sleep(3)
    text = reloaded.text()
    reloaded.close()
    victim.client.close()
    assert "is_hydrated" in text, "the admin's tab never hydrated"
    assert QR_IMAGE not in text, "a deleted customer session's QR is still in the admin's tab"


def test_a_tab_token_alone_never_hears_its_sign_ins_qr_codes(base_url):
    """A victim's tab token (leaked: a proxy's log of `/_event/?token=...`, an extension, a shared
    machine), connected with no cookie and without sending one event: Reflex pushes every rotation
    of the victim's `UserQr` to each client token in its `_linked_from` that has a socket, through
    that token's own links. `AccessMiddleware` only looks at a hydrate, so a socket that never
    hydrates stays a linked client of the victim's QR codes and is handed each one."""
    victim = Victim(base_url, "QR-PASSIVE-f6")
    token = victim.client.token
    victim_qrs = set(VICTIM_QR.findall(victim.client.text()))
    victim.client.close()  # the victim closes that tab (or loses the network); his session still pairs
    time.sleep(1)  # the token has no socket any more: connecting with it is not a duplicate
    thief = RawClient(base_url, token=token).connect()  # no cookie, and no event at all: it only listens
    heard = thief.wait_for(QR_IMAGE, timeout=20)  # the first QR lives 10 s here, each next one 3.3 s
    text = thief.text()
    thief.close()
    assert victim_qrs, "the victim's own page saw his QR"
    assert not heard, f"a socket with a tab token alone received the victim's QR: {text[:300]}"

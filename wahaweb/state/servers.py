"""/admin/servers: the WAHA servers, their load and health, and the operator's changes to them.

Every handler is `@guarded(admin=True)` (the role re-read from the database on each call)
and takes only str/int/bool. No API key is ever put in this state: the key typed into the
"add" form goes straight from the form's submit to core, and views carry no key at all.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from wahaweb.core.container import Core
from wahaweb.core.errors import CoreError
from wahaweb.core.models import User
from wahaweb.core.servers.admin import ServerView
from wahaweb.i18n import error_text
from wahaweb.settings import EMBEDDED_PUBLIC_URL, get_settings
from wahaweb.state.auth import AuthState
from wahaweb.state.context import app_core
from wahaweb.state.guard import guarded


@dataclasses.dataclass
class ServerRow:
    id: int = 0
    name: str = ""
    url: str = ""
    load: str = ""
    capacity: int = 0
    version: str = ""
    tier: str = ""
    engine: str = ""
    #: Catalogue key: servers.reachable_yes / _no / _unknown.
    reachable: str = "servers.reachable_unknown"
    latency: str = ""
    #: Catalogue key of the event source ("servers.events_socket", ...).
    events: str = "servers.events_unknown"
    error: str = ""
    enabled: bool = True
    draining: bool = False
    empty: bool = True
    #: The URL WAHA should post its events to (an unsigned server's holds its secret token: admins only).
    webhook_url: str = ""
    #: Catalogue key of how that URL is checked (HMAC, the secret URL, not known yet).
    webhook_kind: str = "servers.webhook_unknown"


#: The engine's event sources (core/live/socket.py) -> catalogue keys.
EVENT_SOURCE_KEYS = {"socket": "servers.events_socket", "webhook": "servers.events_webhook",
                     "poll": "servers.events_poll", "key refused": "servers.events_key_refused"}


#: WebhookTarget.signed -> catalogue key of the hint beside the URL.
WEBHOOK_KIND_KEYS = {True: "servers.webhook_signed", False: "servers.webhook_unsigned", None: "servers.webhook_unknown"}


def webhook_base(configured: str | None, origin: str | None) -> tuple[str, bool]:
    """wahaweb's address for WAHA's webhooks: WAHAWEB_PUBLIC_URL, else (the embedded simulator's
    made-up host, or nothing set) the origin the admin's browser reached us on. -> (base, from the browser)."""
    configured = (configured or "").rstrip("/")
    if configured and configured != EMBEDDED_PUBLIC_URL:
        return configured, False
    return (origin or "").rstrip("/"), True


async def server_rows(core: Core, user: User, base_url: str) -> list[ServerRow]:
    """The page's rows: each server as the admin sees it, with the webhook URL WAHA should call."""
    admin = core.server_admin
    targets = await admin.webhook_targets(user, base_url)
    rows = []
    for view in await admin.views(user):
        row = _row(view)
        target = targets.get(view.id)
        if target is not None:
            row.webhook_url, row.webhook_kind = target.url, WEBHOOK_KIND_KEYS[target.signed]
        rows.append(row)
    return rows


def _row(view: ServerView) -> ServerRow:
    reachable = {True: "servers.reachable_yes", False: "servers.reachable_no", None: "servers.reachable_unknown"}[
        view.reachable]
    return ServerRow(id=view.id, name=view.name, url=view.url, load=view.load, capacity=view.capacity,
                     version=view.version or "", tier=view.tier or "", engine=view.engine or "", reachable=reachable,
                     latency=f"{view.latency_ms:.0f} ms" if view.latency_ms is not None else "",
                     events=EVENT_SOURCE_KEYS.get(view.event_source or "", "servers.events_unknown"),
                     error=view.error or "", enabled=view.enabled, draining=view.draining, empty=view.sessions == 0)


def _capacity(text: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        return 0  # refused by core with its own message


class ServersState(AuthState):
    servers: list[ServerRow] = []
    no_capacity: int = 0
    servers_notice: str = ""
    #: WAHA's answer to "test connection" (version, tier, engine, or the error); never the key.
    test_result: str = ""
    #: Why the last edit of a server's URL/key was not saved (WAHA's answer); never the key.
    edit_result: str = ""
    #: The server the edit dialog is open for (0: closed), its name and URL (shown to admins anyway).
    editing_id: int = 0
    editing_name: str = ""
    editing_url: str = ""
    #: The webhook URLs are built from the admin's browser address (WAHAWEB_PUBLIC_URL is not set).
    webhook_base_from_browser: bool = False

    @rx.event
    @guarded(admin=True)
    async def load(self, user: User):
        await self._reload(user)
        await self._open_page(user)  # last: from its link on, this event holds the feed's lock

    async def _reload(self, user: User) -> None:
        core = app_core()
        base, self.webhook_base_from_browser = webhook_base(get_settings().public_url, self.router.headers.origin)
        self.servers = await server_rows(core, user, base)
        self.no_capacity = await core.server_admin.no_capacity_count(user)

    async def _do(self, user: User, fn, *args, done: str):
        try:
            await fn(user, *args)
        except CoreError as exc:
            self.servers_notice = error_text(self.lang, exc)
            return rx.toast.error(self.servers_notice)
        self.servers_notice = ""
        await self._reload(user)
        return rx.toast.success(self._say(done))

    @rx.event
    @guarded(admin=True)
    async def test_connection(self, user: User, url: str, api_key: str):
        try:
            result = await app_core().server_admin.test_connection(user, url, api_key)
        except CoreError as exc:
            self.test_result = error_text(self.lang, exc)
            return
        if result.ok:
            self.test_result = self._say("servers.test_answered", version=result.version, tier=result.tier,
                                         engine=result.engine, ms=f"{result.latency_ms:.0f}")
        else:  # WAHA's or the network's own words: this page is for operators
            self.test_result = self._say("servers.test_no_answer", error=result.error)

    @rx.event
    @guarded(admin=True)
    async def add_server(self, user: User, name: str, url: str, api_key: str, capacity: str):
        result = await self._do(user, app_core().server_admin.add, name, url, api_key or None, _capacity(capacity),
                                done="servers.added")
        if not self.servers_notice:
            self.test_result = ""
        return result

    @rx.event
    @guarded(admin=True)
    async def edit_server(self, user: User, server_id: int, url: str, api_key: str, confirm: str):
        """The edit dialog: the new URL and key are tested first; saved if WAHA answers or `confirm` is ticked.

        The key goes from the form to core and nowhere else: an empty one keeps the stored key.
        """
        try:
            outcome = await app_core().server_admin.edit_connection(
                user, server_id, url, api_key or None, confirmed=confirm.strip().lower() in ("on", "true", "1"))
        except CoreError as exc:
            self.edit_result = error_text(self.lang, exc)
            return rx.toast.error(self.edit_result)
        if outcome.saved is None:
            self.edit_result = self._say("servers.not_saved", error=outcome.test.error)
            return None
        self.editing_id, self.editing_name, self.editing_url, self.edit_result = 0, "", "", ""
        await self._reload(user)
        return rx.toast.success(self._say("servers.saved"))

    @rx.event
    @guarded(admin=True)
    async def open_edit(self, user: User, server_id: int):
        row = next((r for r in self.servers if r.id == server_id), None)
        if row is None:
            return
        self.editing_id, self.editing_name, self.editing_url, self.edit_result = row.id, row.name, row.url, ""

    @rx.event
    @guarded(admin=True)
    async def close_edit(self, user: User):
        self.editing_id, self.editing_name, self.editing_url, self.edit_result = 0, "", "", ""

    @rx.event
    @guarded(admin=True)
    async def set_capacity(self, user: User, server_id: int, capacity: str):
        return await self._do(user, app_core().server_admin.set_capacity, server_id, _capacity(capacity),
                              done="servers.capacity_changed")

    @rx.event
    @guarded(admin=True)
    async def set_draining(self, user: User, server_id: int, draining: bool):
        return await self._do(user, app_core().server_admin.set_draining, server_id, draining,
                              done="servers.now_draining" if draining else "servers.now_taking")

    @rx.event
    @guarded(admin=True)
    async def set_enabled(self, user: User, server_id: int, enabled: bool):
        return await self._do(user, app_core().server_admin.set_enabled, server_id, enabled,
                              done="servers.now_enabled" if enabled else "servers.now_disabled")

    @rx.event
    @guarded(admin=True)
    async def remove(self, user: User, server_id: int):
        return await self._do(user, app_core().server_admin.remove, server_id, done="servers.removed")

"""/admin/servers: every WAHA server with its load ("12 / 50"), version, tier, engine and health."""

import reflex as rx

from wahaweb.components.notice import notice
from wahaweb.state.servers import ServerRow, ServersState
from wahaweb.templates import template

HEADERS = ("Server", "Load", "Capacity", "Version", "Tier", "Engine", "Reachable", "Latency", "")


def _field(form: rx.Var, name: str) -> rx.Var:
    """One input of a submitted form, as the string a guarded handler takes (never the whole dict)."""
    return form.to(dict)[name].to(str)


def server_row(s: ServerRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(s.name, weight="medium"), rx.text(s.url, size="1", color_scheme="gray"),
                      rx.cond(s.draining, rx.badge("draining", size="1")),
                      rx.cond(s.enabled, rx.fragment(), rx.badge("disabled", size="1", color_scheme="red"))),
        rx.table.cell(s.load),
        rx.table.cell(rx.input(default_value=s.capacity.to_string(), type="number", min="1", size="1", width="6em",
                               aria_label="Capacity of " + s.name,
                               on_blur=lambda value: ServersState.set_capacity(s.id, value))),
        rx.table.cell(s.version),
        rx.table.cell(s.tier),
        rx.table.cell(s.engine),
        rx.table.cell(s.reachable, rx.cond(s.error != "", rx.text(s.error, size="1", color_scheme="red"))),
        rx.table.cell(s.latency),
        rx.table.cell(rx.hstack(
            rx.cond(s.draining,
                    rx.button("Undrain", size="1", variant="soft", on_click=ServersState.set_draining(s.id, False)),
                    rx.button("Drain", size="1", variant="soft", on_click=ServersState.set_draining(s.id, True))),
            rx.cond(s.enabled,
                    rx.button("Disable", size="1", variant="soft", color_scheme="red",
                              on_click=ServersState.set_enabled(s.id, False)),
                    rx.button("Enable", size="1", variant="soft", on_click=ServersState.set_enabled(s.id, True))),
            rx.cond(s.empty, rx.button("Remove", size="1", variant="soft", color_scheme="red",
                                       on_click=ServersState.remove(s.id))),
            spacing="2",
        )),
        id="server-" + s.id.to_string(),
    )


def add_form() -> rx.Component:
    """The key stays in the browser's form until submitted: it is never part of the page state."""
    return rx.form(
        rx.vstack(
            rx.hstack(
                rx.input(name="name", placeholder="name (e.g. waha-2)", required=True),
                rx.input(name="url", placeholder="https://waha-2.example.com", required=True, width="22em"),
                rx.input(name="api_key", type="password", placeholder="API key", auto_complete="off"),
                rx.input(name="capacity", type="number", min="1", default_value="50", width="6em"),
                spacing="2", wrap="wrap",
            ),
            rx.hstack(
                rx.button("Add server", type="submit"),
                rx.text(ServersState.test_result, size="2", id="server-test-result"),
                spacing="3", align="center",
            ),
        ),
        on_submit=lambda form: ServersState.add_server(_field(form, "name"), _field(form, "url"),
                                                       _field(form, "api_key"), _field(form, "capacity")),
        reset_on_submit=True,
        id="server-add",
    )


def test_form() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.input(name="url", placeholder="URL to test", width="22em"),
            rx.input(name="api_key", type="password", placeholder="API key", auto_complete="off"),
            rx.button("Test connection", type="submit", variant="soft"),
            spacing="2",
        ),
        on_submit=lambda form: ServersState.test_connection(_field(form, "url"), _field(form, "api_key")),
        id="server-test",
    )


@template(route="/admin/servers", title="WAHA servers", on_load=ServersState.load)
def servers_page() -> rx.Component:
    return rx.cond(
        ServersState.denied,
        rx.callout("This page is for administrators.", icon="lock", color_scheme="red", high_contrast=True),
        rx.vstack(
            rx.heading("WAHA servers", size="7"),
            notice(ServersState.servers_notice),
            rx.text("Creates refused for lack of room so far: ", ServersState.no_capacity.to_string(), size="2",
                    color_scheme="gray", id="servers-no-capacity"),
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in HEADERS])),
                rx.table.body(rx.foreach(ServersState.servers, server_row)),
                width="100%", size="1",
            ),
            rx.heading("Add a server", size="4"),
            test_form(),
            add_form(),
            spacing="4", width="100%",
        ),
    )

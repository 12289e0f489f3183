"""/admin/servers: every WAHA server with its load ("12 / 50"), version, tier, engine and health."""

import reflex as rx

from wahaweb.components.notice import notice
from wahaweb.state.auth import AuthState
from wahaweb.state.server import ServerState
from wahaweb.state.servers import ServerRow, ServersState
from wahaweb.templates import template

HEADERS = ("servers.col_server", "servers.col_load", "servers.col_capacity", "servers.col_version", "servers.col_tier",
           "servers.col_engine", "servers.col_reachable", "servers.col_latency", "servers.col_events")
T = AuthState.t


def _field(form: rx.Var, name: str) -> rx.Var:
    """One input of a submitted form, as the string a guarded handler takes (never the whole dict)."""
    return form.to(dict)[name].to(str)


def _optional_field(form: rx.Var, name: str) -> rx.Var:
    """An input a form may leave out (an unticked checkbox): "" rather than undefined."""
    return rx.Var(_js_expr=f'(({form.to(dict)!s})?.["{name}"] ?? "")', _var_type=str)


def server_row(s: ServerRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(s.name, weight="medium"), rx.text(s.url, size="1", color_scheme="gray",
                                                                overflow_wrap="anywhere", min_width="8em"),
                      rx.cond(s.draining, rx.badge(T["servers.draining"], size="1")),
                      rx.cond(s.enabled, rx.fragment(), rx.badge(T["servers.disabled"], size="1", color_scheme="red"))),
        rx.table.cell(s.load),
        rx.table.cell(rx.input(default_value=s.capacity.to_string(), type="number", min="1", size="1", width="6em",
                               aria_label=T["servers.capacity_of"] + s.name,
                               on_blur=lambda value: ServersState.set_capacity(s.id, value))),
        rx.table.cell(s.version),
        rx.table.cell(s.tier),
        rx.table.cell(s.engine),
        rx.table.cell(T[s.reachable], rx.cond(s.error != "", rx.text(s.error, size="1", color_scheme="red",
                                                                    overflow_wrap="anywhere", min_width="8em"))),
        rx.table.cell(s.latency),
        rx.table.cell(T[s.events], id="server-events-" + s.id.to_string()),
        # The actions wrap onto more lines rather than push the table past its card (issue 12: cut off).
        rx.table.cell(rx.flex(
            rx.cond(s.draining,
                    rx.button(T["servers.undrain"], size="1", variant="soft", on_click=ServersState.set_draining(s.id, False)),
                    rx.button(T["servers.drain"], size="1", variant="soft", on_click=ServersState.set_draining(s.id, True))),
            rx.cond(s.enabled,
                    rx.button(T["servers.disable"], size="1", variant="soft", color_scheme="red",
                              on_click=ServersState.set_enabled(s.id, False)),
                    rx.button(T["servers.enable"], size="1", variant="soft", on_click=ServersState.set_enabled(s.id, True))),
            rx.cond(s.name != "default",  # the default server follows WAHA_URL / WAHA_API_KEY
                    rx.button(T["servers.edit"], size="1", variant="soft", id="server-edit-" + s.id.to_string(),
                              on_click=ServersState.open_edit(s.id))),
            rx.cond(s.empty, rx.button(T["servers.remove"], size="1", variant="soft", color_scheme="red",
                                       id="server-remove-" + s.id.to_string(), on_click=ServersState.remove(s.id))),
            gap="2", wrap="wrap",
        )),
        id="server-" + s.id.to_string(),
    )


def webhook_row(s: ServerRow) -> rx.Component:
    """One server's webhook URL (an unsigned server's holds its secret: this page is for admins only)."""
    return rx.vstack(
        rx.hstack(
            rx.text(s.name, weight="medium", size="2"),
            rx.code(s.webhook_url, id="server-webhook-" + s.id.to_string(), overflow_wrap="anywhere"),
            rx.icon_button(rx.icon("copy", size=14), size="1", variant="soft", type="button",
                           aria_label=T["servers.copy_webhook"] + s.name,
                           on_click=rx.set_clipboard(s.webhook_url)),
            spacing="2", align="center", wrap="wrap",
        ),
        rx.text(T[s.webhook_kind], size="1", color_scheme="gray"),
        spacing="1", width="100%",
    )


def webhooks() -> rx.Component:
    return rx.vstack(
        rx.heading(T["servers.webhooks_title"], size="4"),
        rx.text(T["servers.webhooks_intro"], size="2", color_scheme="gray"),
        rx.cond(ServersState.webhook_base_from_browser,
                rx.callout(T["servers.webhook_base_browser"], icon="info", size="1", id="server-webhook-base-note")),
        rx.foreach(ServersState.servers, webhook_row),
        spacing="2", width="100%", id="server-webhooks",
    )


def edit_dialog() -> rx.Component:
    """One dialog (outside the table: a form's submit cannot see a row's loop variable) to move a
    server to another URL or give it a new key. The key is write-only: never shown back."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T["servers.edit_title"] + ServersState.editing_name),
            rx.form(
                rx.vstack(
                    rx.text(T["servers.url_label"], size="2", as_="label"),
                    rx.input(name="url", default_value=ServersState.editing_url, key=ServersState.editing_url,
                             required=True, width="100%", id="server-edit-url"),
                    rx.text(T["servers.api_key"], size="2", as_="label"),
                    rx.input(name="api_key", type="password", placeholder=T["servers.key_unchanged"],
                             auto_complete="off", width="100%", id="server-edit-key"),
                    rx.text(rx.checkbox(name="confirm", id="server-edit-confirm"), " ", T["servers.save_anyway"],
                            as_="label", size="2"),
                    rx.text(ServersState.edit_result, size="2", color_scheme="red", id="server-edit-result"),
                    rx.hstack(
                        rx.button(T["servers.cancel"], variant="soft", color_scheme="gray", type="button",
                                  on_click=ServersState.close_edit),
                        rx.button(T["servers.test_and_save"], type="submit", id="server-edit-save"),
                        spacing="3", justify="end", width="100%",
                    ),
                    spacing="2",
                ),
                on_submit=lambda form: ServersState.edit_server(ServersState.editing_id, _field(form, "url"),
                                                                _field(form, "api_key"),
                                                                _optional_field(form, "confirm")),
                id="server-edit-form",
            ),
        ),
        open=ServersState.editing_id > 0,
        on_open_change=lambda _open: ServersState.close_edit(),
    )


def add_form() -> rx.Component:
    """The key stays in the browser's form until submitted: it is never part of the page state."""
    return rx.form(
        rx.vstack(
            rx.hstack(
                rx.input(name="name", placeholder=T["servers.name_placeholder"], required=True),
                rx.input(name="url", placeholder=T["servers.url_placeholder"], required=True, width="22em",
                         max_width="100%"),
                rx.input(name="api_key", type="password", placeholder=T["servers.api_key"], auto_complete="off"),
                rx.input(name="capacity", type="number", min="1", default_value="50", width="6em"),
                spacing="2", wrap="wrap",
            ),
            rx.hstack(
                rx.button(T["servers.add"], type="submit"),
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
            rx.input(name="url", placeholder=T["servers.test_url"], width="22em", max_width="100%"),
            rx.input(name="api_key", type="password", placeholder=T["servers.api_key"], auto_complete="off"),
            rx.button(T["servers.test"], type="submit", variant="soft"),
            spacing="2", wrap="wrap",
        ),
        on_submit=lambda form: ServersState.test_connection(_field(form, "url"), _field(form, "api_key")),
        id="server-test",
    )


@template(route="/admin/servers", title="WAHA servers", on_load=[ServersState.load, ServerState.check])
def servers_page() -> rx.Component:
    return rx.cond(
        ServersState.denied,
        rx.callout(T["servers.denied"], icon="lock", color_scheme="red", high_contrast=True),
        rx.vstack(
            rx.heading(T["servers.title"], size="7"),
            notice(ServersState.servers_notice),
            rx.text(T["servers.no_capacity"], ServersState.no_capacity.to_string(), size="2",
                    color_scheme="gray", id="servers-no-capacity"),
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[h]) for h in HEADERS], rx.table.column_header_cell(""))),
                rx.table.body(rx.foreach(ServersState.servers, server_row)),
                width="100%", size="1",
            ),
            edit_dialog(),
            webhooks(),
            rx.heading(T["servers.add_title"], size="4"),
            test_form(),
            add_form(),
            spacing="4", width="100%",
        ),
    )

"""/admin: users and plans, every session, the WAHA server, and the audit trail."""

import reflex as rx

from wahaweb.components.notice import notice
from wahaweb.components.server_panel import server_panel
from wahaweb.components.status import status_badge
from wahaweb.state.admin import AdminState, AuditRow, UserRow
from wahaweb.state.feed import SessionCard, UserFeed
from wahaweb.templates import template


def user_row(u: UserRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(u.email, weight="medium"), rx.cond(u.role == "admin", rx.badge("admin", size="1"))),
        rx.table.cell(
            rx.select(AdminState.plans, value=u.plan, on_change=lambda plan: AdminState.set_plan(u.id, plan),
                      size="1", aria_label="Plan of " + u.email),
        ),
        rx.table.cell(u.usage),
        rx.table.cell(
            rx.cond(
                u.active,
                rx.button("Disable", size="1", variant="soft", color_scheme="red",
                          on_click=AdminState.set_active(u.id, False)),
                rx.button("Enable", size="1", variant="soft", on_click=AdminState.set_active(u.id, True)),
            )
        ),
        id="admin-user-" + u.id.to_string(),
        custom_attrs={"data-active": rx.cond(u.active, "true", "false")},
    )


def session_item(card: SessionCard) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(rx.cond(card.label != "", card.label, card.id), href="/sessions/" + card.id)),
        rx.table.cell(card.owner),
        rx.table.cell(card.phone),
        rx.table.cell(status_badge(card.status, size="1")),
        id="admin-session-" + card.id,
        custom_attrs={"data-status": card.status},
    )


def audit_item(e: AuditRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.moment(e.at, format="MM-DD HH:mm:ss"), white_space="nowrap"),
        rx.table.cell(e.user_id),
        rx.table.cell(e.action),
        rx.table.cell(e.outcome),
        rx.table.cell(e.session_id, font_family="monospace", font_size="0.8em"),
        rx.table.cell(e.detail, e.duration_ms),
    )


def _section(title: str, *children) -> rx.Component:
    return rx.card(rx.vstack(rx.heading(title, size="4"), *children, spacing="3", width="100%"), width="100%")


@template(route="/admin", title="Admin", on_load=AdminState.load)
def admin() -> rx.Component:
    return rx.cond(
        AdminState.denied,
        rx.callout("This page is for administrators.", icon="lock", color_scheme="red", id="admin-denied"),
        rx.vstack(
            rx.heading("Administration", size="7"),
            notice(AdminState.admin_notice),
            server_panel(),
            rx.text(AdminState.metrics_text, size="2", color_scheme="gray", id="admin-metrics"),
            _section(
                "Users",
                rx.scroll_area(
                    rx.table.root(
                        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                                       ("Email", "Plan", "Active sessions", "Account")])),
                        rx.table.body(rx.foreach(AdminState.users, user_row)),
                        width="100%",
                        size="1",
                    ),
                    scrollbars="horizontal",
                ),
            ),
            _section(
                "All sessions",
                rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                                   ("Session", "Owner", "Number", "State")])),
                    rx.table.body(rx.foreach(UserFeed.all_sessions, session_item)),
                    width="100%",
                    size="1",
                ),
            ),
            _section(
                "Recent activity",
                rx.scroll_area(
                    rx.table.root(
                        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                                       ("Time", "User", "Action", "Outcome", "Session", "Detail")])),
                        rx.table.body(rx.foreach(AdminState.audit, audit_item)),
                        width="100%",
                        size="1",
                    ),
                    scrollbars="horizontal",
                ),
            ),
            spacing="4",
            width="100%",
        ),
    )

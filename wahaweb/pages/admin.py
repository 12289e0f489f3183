"""/admin: users and plans, every session, the WAHA server, and the audit trail."""

import reflex as rx

from wahaweb.components.notice import notice
from wahaweb.components.server_panel import server_panel
from wahaweb.components.status import status_badge
from wahaweb.state.activity import ActivityRow, ActivityState
from wahaweb.state.admin import AdminState, UserRow
from wahaweb.state.feed import SessionCard, UserFeed
from wahaweb.templates import template


def user_row(u: UserRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(u.email, weight="medium"), rx.cond(u.role == "admin", rx.badge("admin", size="1"))),
        rx.table.cell(
            rx.select.root(
                rx.select.trigger(aria_label="Plan of " + u.email),
                rx.select.content(rx.foreach(AdminState.plans, lambda plan: rx.select.item(plan, value=plan))),
                value=u.plan, on_change=lambda plan: AdminState.set_plan(u.id, plan), size="1",
            ),
        ),
        rx.table.cell(u.usage),
        rx.table.cell(
            rx.cond(
                u.active,
                rx.button("Disable", size="1", variant="soft", color_scheme="red", high_contrast=True,
                          on_click=AdminState.set_active(u.id, False)),
                rx.button("Enable", size="1", variant="soft", high_contrast=True, on_click=AdminState.set_active(u.id, True)),
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


def audit_item(e: ActivityRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.moment(e.at, format="MM-DD HH:mm:ss"), white_space="nowrap"),
        rx.table.cell(e.user),
        rx.table.cell(e.action),
        rx.table.cell(e.outcome),
        # Long ids and details wrap, so the table fits the page instead of scrolling sideways.
        rx.table.cell(e.session_id, font_family="monospace", font_size="0.8em", word_break="break-all"),
        rx.table.cell(e.detail, overflow_wrap="anywhere"),
        rx.table.cell(e.duration, white_space="nowrap", text_align="right"),
    )


def activity_filters() -> rx.Component:
    """Each control filters at once (the session box after a short pause in typing)."""
    user_items = rx.foreach(AdminState.users, lambda u: rx.select.item(u.email, value=u.id.to_string()))
    return rx.hstack(
        rx.select.root(
            rx.select.trigger(aria_label="Filter by user", id="activity-filter-user"),
            rx.select.content(rx.select.item("Everyone", value="all"), user_items),
            value=ActivityState.activity_user, on_change=ActivityState.filter_activity_user, size="1",
        ),
        rx.input(value=ActivityState.activity_session, on_change=ActivityState.filter_activity_session,
                 debounce_timeout=400, placeholder="Session id contains", size="1", aria_label="Filter by session",
                 id="activity-filter-session"),
        rx.select.root(
            rx.select.trigger(aria_label="Filter by action", id="activity-filter-action"),
            rx.select.content(rx.foreach(ActivityState.activity_actions,
                                         lambda a: rx.select.item(rx.cond(a == "all", "All actions", a), value=a))),
            value=ActivityState.activity_action, on_change=ActivityState.filter_activity_action, size="1",
        ),
        spacing="2", wrap="wrap", align="center", id="activity-filter",
    )


def activity_pager() -> rx.Component:
    return rx.hstack(
        rx.button("Previous", size="1", variant="soft", high_contrast=True, id="activity-prev",
                  disabled=ActivityState.activity_page <= 1, on_click=ActivityState.turn_activity_page(-1)),
        rx.text("Page ", ActivityState.activity_page, " of ", ActivityState.activity_pages, " (",
                ActivityState.activity_total, " events)", size="2", id="activity-page"),
        rx.button("Next", size="1", variant="soft", high_contrast=True, id="activity-next",
                  disabled=ActivityState.activity_page >= ActivityState.activity_pages,
                  on_click=ActivityState.turn_activity_page(1)),
        spacing="3", align="center",
    )


def _section(title: str, *children) -> rx.Component:
    return rx.card(rx.vstack(rx.heading(title, size="4"), *children, spacing="3", width="100%"), width="100%")


@template(route="/admin", title="Admin", on_load=AdminState.load)
def admin() -> rx.Component:
    return rx.cond(
        AdminState.denied,
        rx.callout("This page is for administrators.", icon="lock", color_scheme="red", high_contrast=True,
                   id="admin-denied"),
        rx.vstack(
            rx.heading("Administration", size="7"),
            notice(AdminState.admin_notice),
            server_panel(),
            rx.link("WAHA servers: capacity, draining, health", href="/admin/servers", id="admin-servers-link"),
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
                activity_filters(),
                rx.box(  # scrolls sideways on narrow screens; focusable so the keyboard can scroll it
                    rx.table.root(
                        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                                       ("Time", "User", "Action", "Outcome", "Session", "Detail",
                                                        "Duration")])),
                        rx.table.body(rx.foreach(ActivityState.activity, audit_item), id="activity-list"),
                        width="100%",
                        size="1",
                    ),
                    overflow_x="auto", width="100%", tab_index=0, role="region", aria_label="Recent activity",
                ),
                activity_pager(),
            ),
            spacing="4",
            width="100%",
        ),
    )

"""/admin: users and plans, every session, the WAHA server, and the audit trail."""

import reflex as rx

from wahaweb.components.notice import notice
from wahaweb.components.server_panel import server_panel
from wahaweb.components.status import status_badge
from wahaweb.state.activity import ActivityRow, ActivityState
from wahaweb.state.admin import NO_PLAN, AdminState, UserRow
from wahaweb.state.auth import AuthState
from wahaweb.state.feed import SessionCard, UserFeed
from wahaweb.state.server import ServerState
from wahaweb.templates import template

T = AuthState.t


def user_row(u: UserRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(u.email, weight="medium"), rx.cond(u.role == "admin", rx.badge(T["admin.role_admin"], size="1"))),
        rx.table.cell(
            rx.select.root(
                rx.select.trigger(aria_label=T["admin.plan_of"] + u.email),
                rx.select.content(rx.foreach(AdminState.plans, lambda plan: rx.select.item(
                    rx.cond(plan == NO_PLAN, T["admin.no_plan"], plan), value=plan))),
                value=u.plan, on_change=lambda plan: AdminState.set_plan(u.id, plan), size="1",
            ),
        ),
        rx.table.cell(u.usage),
        rx.table.cell(
            rx.cond(
                u.active,
                rx.button(T["admin.disable"], size="1", variant="soft", color_scheme="red", high_contrast=True,
                          on_click=AdminState.set_active(u.id, False)),
                rx.button(T["admin.enable"], size="1", variant="soft", high_contrast=True, on_click=AdminState.set_active(u.id, True)),
            )
        ),
        rx.table.cell(rx.button(T["admin.reset_link"], size="1", variant="soft", color_scheme="gray", high_contrast=True,
                                id="reset-link-" + u.id.to_string(), on_click=AdminState.make_reset_link(u.id))),
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
            rx.select.trigger(aria_label=T["admin.filter_user"], id="activity-filter-user"),
            rx.select.content(rx.select.item(T["admin.everyone"], value="all"), user_items),
            value=ActivityState.activity_user, on_change=ActivityState.filter_activity_user, size="1",
        ),
        rx.input(value=ActivityState.activity_session, on_change=ActivityState.filter_activity_session,
                 debounce_timeout=400, placeholder=T["admin.session_contains"], size="1", aria_label=T["admin.filter_session"],
                 id="activity-filter-session"),
        rx.select.root(
            rx.select.trigger(aria_label=T["admin.filter_action"], id="activity-filter-action"),
            rx.select.content(rx.foreach(ActivityState.activity_actions,
                                         lambda a: rx.select.item(rx.cond(a == "all", T["admin.all_actions"], a), value=a))),
            value=ActivityState.activity_action, on_change=ActivityState.filter_activity_action, size="1",
        ),
        spacing="2", wrap="wrap", align="center", id="activity-filter",
    )


def activity_pager() -> rx.Component:
    return rx.hstack(
        rx.button(T["admin.previous"], size="1", variant="soft", high_contrast=True, id="activity-prev",
                  disabled=ActivityState.activity_page <= 1, on_click=ActivityState.turn_activity_page(-1)),
        rx.text(T["admin.page"], ActivityState.activity_page, T["admin.of"], ActivityState.activity_pages, " (",
                ActivityState.activity_total, T["admin.events"], size="2", id="activity-page"),
        rx.button(T["admin.next"], size="1", variant="soft", high_contrast=True, id="activity-next",
                  disabled=ActivityState.activity_page >= ActivityState.activity_pages,
                  on_click=ActivityState.turn_activity_page(1)),
        spacing="3", align="center",
    )


def _headers(*keys: str) -> rx.Component:
    return rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[key]) for key in keys]))


def reset_link_box() -> rx.Component:
    """The one-time link just made: shown to this admin only, until he leaves the page."""
    return rx.cond(
        AdminState.reset_link != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("key-round")),
            rx.vstack(
                rx.callout.text(T["admin.reset_link_for"].replace("{email}", AdminState.reset_link_email)),
                rx.code(AdminState.reset_link, id="reset-link", word_break="break-all"),
                spacing="2",
            ),
            color_scheme="grass", high_contrast=True, width="100%",
        ),
    )


def _section(title: rx.Var, *children) -> rx.Component:
    return rx.card(rx.vstack(rx.heading(title, size="4"), *children, spacing="3", width="100%"), width="100%")


@template(route="/admin", title="Admin", on_load=[AdminState.load, ServerState.check])
def admin() -> rx.Component:
    return rx.cond(
        AdminState.denied,
        rx.callout(T["admin.denied"], icon="lock", color_scheme="red", high_contrast=True,
                   id="admin-denied"),
        rx.vstack(
            rx.heading(T["admin.title"], size="7"),
            notice(AdminState.admin_notice),
            server_panel(),
            rx.link(T["servers.link"], href="/admin/servers", id="admin-servers-link"),
            rx.text(AdminState.metrics_text, size="2", color_scheme="gray", id="admin-metrics"),
            reset_link_box(),
            _section(
                T["admin.users"],
                rx.scroll_area(
                    rx.table.root(
                        _headers("admin.col_email", "admin.col_plan", "admin.col_active", "admin.col_account",
                                 "admin.col_password"),
                        rx.table.body(rx.foreach(AdminState.users, user_row)),
                        width="100%",
                        size="1",
                    ),
                    scrollbars="horizontal",
                ),
            ),
            _section(
                T["admin.all_sessions"],
                rx.table.root(
                    _headers("admin.col_session", "admin.col_owner", "admin.col_number", "admin.col_state"),
                    rx.table.body(rx.foreach(UserFeed.all_sessions, session_item)),
                    width="100%",
                    size="1",
                ),
            ),
            _section(
                T["admin.activity"],
                activity_filters(),
                rx.box(  # scrolls sideways on narrow screens; focusable so the keyboard can scroll it
                    rx.table.root(
                        _headers("admin.col_time", "admin.col_user", "admin.col_action", "admin.col_outcome",
                                 "admin.col_session", "admin.col_detail", "admin.col_duration"),
                        rx.table.body(rx.foreach(ActivityState.activity, audit_item), id="activity-list"),
                        width="100%",
                        size="1",
                    ),
                    overflow_x="auto", width="100%", tab_index=0, role="region", aria_label=T["admin.activity"],
                ),
                activity_pager(),
            ),
            spacing="4",
            width="100%",
        ),
    )

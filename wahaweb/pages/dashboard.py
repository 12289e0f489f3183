"""Dashboard: the user's sessions, the plan meter, and creating a new one."""

import reflex as rx

from wahaweb.components.notice import notice
from wahaweb.components.status import status_badge
from wahaweb.core.plans import NO_PLAN_LABEL
from wahaweb.state.auth import AuthState
from wahaweb.state.dashboard import DashboardState
from wahaweb.state.feed import SessionCard, UserFeed
from wahaweb.state.server import ServerState
from wahaweb.templates import template

T = AuthState.t


def plan_meter() -> rx.Component:
    """Shown once the feed is filled: never a misleading "0 / 0" while the page loads."""
    return rx.cond(UserFeed.loaded, _plan_meter(), rx.skeleton(rx.box(width="10em", height="1.2em"), loading=True))


def _plan_meter() -> rx.Component:
    return rx.hstack(
        rx.icon("gauge", size=16, color=rx.color("gray", 10)),
        rx.text(
            rx.text.span(f"{UserFeed.active} / {UserFeed.limit}", id="plan-usage", weight="bold",
                         custom_attrs={"data-plan": UserFeed.plan}),
            rx.text.span(T["dashboard.sessions"], color_scheme="gray"),
            rx.text.span(rx.cond(UserFeed.plan == NO_PLAN_LABEL, T["dashboard.no_plan"],
                                 T["dashboard.plan_name"].replace("{plan}", UserFeed.plan)), color_scheme="gray"),
            size="2",
        ),
        align="center",
        spacing="2",
    )


def create_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.flex(
                rx.vstack(
                    rx.el.label(T["dashboard.label"], html_for="new-session-label", font_size="0.85em", font_weight="500"),
                    rx.input(
                        id="new-session-label",
                        placeholder=T["dashboard.label_placeholder"],
                        value=DashboardState.label,
                        on_change=DashboardState.set_label,
                        max_length=80,
                        size="3",
                        width="100%",
                    ),
                    spacing="1",
                    flex="1",
                    width="100%",
                ),
                rx.button(
                    rx.icon("plus", size=18),
                    T["dashboard.new_session"],
                    id="create-session",
                    type="submit",
                    size="3",
                    loading=DashboardState.creating,
                    align_self="end",
                ),
                direction=rx.breakpoints(initial="column", sm="row"),
                spacing="3",
                width="100%",
            ),
            on_submit=lambda _: DashboardState.create_session(),
            reset_on_submit=False,
        ),
        width="100%",
    )


def session_row(card: SessionCard) -> rx.Component:
    return rx.link(
        rx.card(
            rx.hstack(
                rx.vstack(
                    rx.text(rx.cond(card.label != "", card.label, T["dashboard.untitled"]), weight="bold", size="3"),
                    rx.text(
                        rx.cond(card.phone != "", card.phone, card.id),
                        size="1",
                        color_scheme="gray",
                        font_family="monospace",
                        trim="both",
                    ),
                    spacing="1",
                    align="start",
                    min_width="0",
                ),
                rx.spacer(),
                rx.vstack(
                    status_badge(card.status, note=card.note),
                    rx.moment(card.changed_at, from_now=True, size="1", color=rx.color("gray", 10), font_size="0.75em"),
                    align="end",
                    spacing="1",
                ),
                rx.icon("chevron-right", size=18, color=rx.color("gray", 9)),
                align="center",
                width="100%",
            ),
            width="100%",
        ),
        href="/sessions/" + card.id,
        underline="none",
        color_scheme="gray",
        high_contrast=True,
        id="session-row-" + card.id,
        custom_attrs={"data-status": card.status},
        width="100%",
    )


def empty_state() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.icon("smartphone", size=32, color=rx.color("grass", 9)),
            rx.heading(T["dashboard.empty_title"], size="4"),
            rx.text(
                T["dashboard.empty_text"],
                color_scheme="gray",
                align="center",
                size="2",
            ),
            align="center",
            spacing="2",
            padding="1.5em",
        ),
        width="100%",
    )


@template(route="/", title="Sessions", on_load=[DashboardState.load, ServerState.check])
def dashboard() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.heading(T["dashboard.title"], size="7"),
            rx.spacer(),
            plan_meter(),
            direction=rx.breakpoints(initial="column", sm="row"),
            align=rx.breakpoints(initial="start", sm="center"),
            gap="2",
            width="100%",
        ),
        create_form(),
        notice(DashboardState.notice),
        rx.cond(DashboardState.worker != "", rx.el.span(DashboardState.worker, id="worker-id", hidden=True)),
        rx.vstack(
            rx.cond(
                UserFeed.loaded & (UserFeed.sessions.length() == 0),
                empty_state(),
                rx.foreach(UserFeed.sessions, session_row),
            ),
            id="session-list",
            spacing="2",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )

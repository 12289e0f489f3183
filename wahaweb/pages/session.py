"""The session page: live pairing, connection details, actions, and the status timeline."""

import reflex as rx

from wahaweb.components.notice import notice
from wahaweb.components.pairing import pairing_view
from wahaweb.components.status import status_badge
from wahaweb.state.auth import AuthState
from wahaweb.state.feed import TimelineItem, UserFeed
from wahaweb.state.server import ServerState
from wahaweb.state.session_page import SessionPageState
from wahaweb.templates import template

T = AuthState.t

_card = UserFeed.by_id[SessionPageState.session_id]
_known = UserFeed.by_id.contains(SessionPageState.session_id) & ~SessionPageState.not_found


def _action(label: rx.Var, icon: str, id_: str, action: str, color: str = "gray") -> rx.Component:
    return rx.button(rx.icon(icon, size=16), label, id=id_, on_click=SessionPageState.ask(action),
                     variant="soft", color_scheme=color, high_contrast=True, loading=SessionPageState.busy == action)


def actions() -> rx.Component:
    return rx.flex(
        rx.cond(
            (_card.status == "stopped") | (_card.status == "failed"),
            rx.button(rx.icon("play", size=16), T["session.start_again"], id="start-session", on_click=SessionPageState.start,
                      loading=SessionPageState.busy == "start"),
        ),
        _action(T["session.stop"], "square", "stop-session", "stop"),
        _action(T["session.restart"], "rotate-cw", "restart-session", "restart"),
        _action(T["session.logout"], "log-out", "logout-session", "logout", "orange"),
        _action(T["session.delete"], "trash-2", "delete-session", "delete", "red"),
        wrap="wrap",
        gap="2",
    )


def confirm_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(T["confirm." + SessionPageState.confirm_action + ".title"]),
            rx.alert_dialog.description(T["confirm." + SessionPageState.confirm_action + ".text"]),
            rx.flex(
                rx.alert_dialog.cancel(rx.button(T["session.cancel"], variant="soft", color_scheme="gray",
                                                 on_click=SessionPageState.cancel_confirm)),
                rx.alert_dialog.action(rx.button(T["session.confirm"], id="confirm", on_click=SessionPageState.confirm,
                                                 color_scheme=rx.cond(SessionPageState.confirm_action == "delete", "red", "grass"))),
                gap="3",
                justify="end",
                margin_top="1em",
            ),
        ),
        open=SessionPageState.confirm_action != "",
        on_open_change=SessionPageState.dialog_open_changed,
    )


def connected_view() -> rx.Component:
    return rx.data_list.root(
        rx.data_list.item(rx.data_list.label(T["session.number"]),
                          rx.data_list.value(rx.text(_card.phone, id="session-phone", weight="bold"))),
        rx.data_list.item(rx.data_list.label(T["session.push_name"]), rx.data_list.value(_card.push_name)),
        rx.data_list.item(rx.data_list.label(T["session.connected_since"]),
                          rx.data_list.value(rx.moment(_card.connected_at, from_now=True))),
    )


def state_view() -> rx.Component:
    return rx.match(
        _card.status,
        ("pairing", pairing_view()),
        ("starting", pairing_view()),
        ("creating", pairing_view()),
        ("connected", connected_view()),
        ("failed", failed_view()),
        rx.text(T["session.stopped"], color_scheme="gray"),
    )


def failed_view() -> rx.Component:
    """Why it failed, in the reader's language (by code); admins also read the operators' text below it."""
    key = "failure." + _card.error_code
    return rx.callout(
        rx.vstack(
            rx.text(rx.cond(T.contains(key), T[key], T["session.failed"]), id="session-failure"),
            rx.cond(_card.last_error != "", rx.text(_card.last_error, size="1", color_scheme="gray",
                                                    id="session-failure-detail", overflow_wrap="anywhere")),
            spacing="1",
        ),
        icon="circle-x", color_scheme="red", width="100%",
    )


def timeline_item(item: TimelineItem) -> rx.Component:
    return rx.hstack(
        rx.moment(item.at, format="YYYY-MM-DD HH:mm:ss", font_family="monospace", font_size="0.8em",
                  color=rx.color("gray", 10), white_space="nowrap"),
        rx.badge(item.action, variant="outline", size="1"),
        rx.text(item.detail, size="1", color_scheme="gray", trim="both"),
        spacing="2",
        align="center",
        width="100%",
    )


def not_found_view() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(T["session.not_found_title"], size="5"),
            rx.text(T["session.not_found_text"], color_scheme="gray"),
            rx.link(T["session.back"], href="/", underline="always"),
            spacing="2",
        ),
        id="not-found",
        width="100%",
    )


@template(route="/sessions/[session_id]", title="Session", on_load=[SessionPageState.load, ServerState.check])
def session_page() -> rx.Component:
    return rx.vstack(
        rx.link(rx.hstack(rx.icon("arrow-left", size=16), rx.text(T["session.all"], size="2"), align="center"),
                href="/", color_scheme="gray"),
        rx.cond(
            _known,
            rx.vstack(
                rx.flex(
                    rx.vstack(
                        rx.heading(rx.cond(_card.label != "", _card.label, T["dashboard.untitled"]), size="6"),
                        # A long id breaks rather than pushing the page wider than a phone.
                        rx.text(_card.id, size="1", color_scheme="gray", font_family="monospace",
                                word_break="break-all"),
                        spacing="1",
                        min_width="0",
                    ),
                    rx.spacer(),
                    status_badge(_card.status, id="session-status", size="3", note=_card.note),
                    width="100%",
                    align="center",
                    gap="2",
                ),
                notice(SessionPageState.notice),
                rx.card(state_view(), width="100%"),
                actions(),
                confirm_dialog(),
                rx.card(
                    rx.vstack(
                        rx.heading(T["session.activity"], size="3"),
                        rx.cond(
                            UserFeed.timelines.contains(SessionPageState.session_id),
                            rx.foreach(UserFeed.timelines[SessionPageState.session_id], timeline_item),
                        ),
                        spacing="2",
                        width="100%",
                    ),
                    width="100%",
                ),
                spacing="4",
                width="100%",
            ),
            rx.cond(SessionPageState.not_found, not_found_view(), rx.center(rx.spinner(size="3"), width="100%",
                                                                         padding="3em")),
        ),
        spacing="4",
        width="100%",
    )

"""The session page: live pairing, connection details, actions, and the status timeline."""

import reflex as rx

from wahaweb.components.notice import notice
from wahaweb.components.pairing import pairing_view
from wahaweb.components.status import status_badge
from wahaweb.state.feed import TimelineItem, UserFeed
from wahaweb.state.session_page import SessionPageState
from wahaweb.templates import template

_card = UserFeed.by_id[SessionPageState.session_id]
_known = UserFeed.by_id.contains(SessionPageState.session_id) & ~SessionPageState.not_found


def _action(label: str, icon: str, id_: str, action: str, color: str = "gray") -> rx.Component:
    return rx.button(rx.icon(icon, size=16), label, id=id_, on_click=SessionPageState.ask(action),
                     variant="soft", color_scheme=color, high_contrast=True, loading=SessionPageState.busy == action)


def actions() -> rx.Component:
    return rx.flex(
        rx.cond(
            (_card.status == "stopped") | (_card.status == "failed"),
            rx.button(rx.icon("play", size=16), "Start again", id="start-session", on_click=SessionPageState.start,
                      loading=SessionPageState.busy == "start"),
        ),
        _action("Stop", "square", "stop-session", "stop"),
        _action("Restart", "rotate-cw", "restart-session", "restart"),
        _action("Log out", "log-out", "logout-session", "logout", "orange"),
        _action("Delete", "trash-2", "delete-session", "delete", "red"),
        wrap="wrap",
        gap="2",
    )


def confirm_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(SessionPageState.confirm_title),
            rx.alert_dialog.description(SessionPageState.confirm_text),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray",
                                                 on_click=SessionPageState.cancel_confirm)),
                rx.alert_dialog.action(rx.button("Confirm", id="confirm", on_click=SessionPageState.confirm,
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
        rx.data_list.item(rx.data_list.label("Number"),
                          rx.data_list.value(rx.text(_card.phone, id="session-phone", weight="bold"))),
        rx.data_list.item(rx.data_list.label("Name on WhatsApp"), rx.data_list.value(_card.push_name)),
        rx.data_list.item(rx.data_list.label("Connected"),
                          rx.data_list.value(rx.moment(_card.connected_at, from_now=True))),
    )


def state_view() -> rx.Component:
    return rx.match(
        _card.status,
        ("pairing", pairing_view()),
        ("starting", pairing_view()),
        ("creating", pairing_view()),
        ("connected", connected_view()),
        ("failed", rx.callout(rx.cond(_card.last_error != "", _card.last_error, "WAHA gave up on this session."),
                              icon="circle-x", color_scheme="red", width="100%")),
        rx.text("This session is stopped. Start it again to reconnect.", color_scheme="gray"),
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
            rx.heading("Session not found", size="5"),
            rx.text("There is no session at this address, or it is not yours.", color_scheme="gray"),
            rx.link("Back to your sessions", href="/", underline="always"),
            spacing="2",
        ),
        id="not-found",
        width="100%",
    )


@template(route="/sessions/[session_id]", title="Session", on_load=SessionPageState.load)
def session_page() -> rx.Component:
    return rx.vstack(
        rx.link(rx.hstack(rx.icon("arrow-left", size=16), rx.text("All sessions", size="2"), align="center"),
                href="/", color_scheme="gray"),
        rx.cond(
            _known,
            rx.vstack(
                rx.flex(
                    rx.vstack(
                        rx.heading(rx.cond(_card.label != "", _card.label, "Untitled session"), size="6"),
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
                        rx.heading("Recent activity", size="3"),
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

"""The canonical session state as a badge, carrying `data-status` for browser checks."""

import reflex as rx

from wahaweb.state.auth import AuthState

_COLORS = {
    "creating": "gray",
    "starting": "blue",
    "pairing": "amber",
    "connected": "grass",
    "stopped": "gray",
    "failed": "red",
}


def status_badge(status: rx.Var[str], *, id: str | None = None, size: str = "2",
                 note: rx.Var[str] | None = None) -> rx.Component:
    """The status; with `note` (e.g. "server unreachable": the status is the last one known) beside it."""
    badge = _badge(status, id=id, size=size)
    if note is None:
        return badge
    # A note is a canonical detail ("server unreachable"); its words are "note.<detail>" in the catalogues.
    words = rx.cond(AuthState.t.contains("note." + note), AuthState.t["note." + note], note)
    return rx.hstack(badge, rx.cond(note != "", rx.badge(words, color_scheme="orange", variant="outline", size=size,
                                                         radius="full", custom_attrs={"data-note": note})),
                     spacing="1", align="center")


def _badge(status: rx.Var[str], *, id: str | None, size: str) -> rx.Component:
    return rx.badge(
        # Every canonical status has a "status.<name>" entry in the catalogues.
        rx.cond(AuthState.t.contains("status." + status), AuthState.t["status." + status], status),
        color_scheme=rx.match(status, *[(k, v) for k, v in _COLORS.items()], "gray"),
        variant="soft",
        high_contrast=True,  # the soft colours' text (amber, grass) is under 4.5:1 in light mode
        size=size,
        radius="full",
        id=id,
        custom_attrs={"data-status": status},
    )

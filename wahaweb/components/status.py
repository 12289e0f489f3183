"""The canonical session state as a badge, carrying `data-status` for browser checks."""

import reflex as rx

_COLORS = {
    "creating": "gray",
    "starting": "blue",
    "pairing": "amber",
    "connected": "grass",
    "stopped": "gray",
    "failed": "red",
}
_LABELS = {
    "creating": "Creating",
    "starting": "Starting",
    "pairing": "Waiting for scan",
    "connected": "Connected",
    "stopped": "Stopped",
    "failed": "Failed",
}


def status_badge(status: rx.Var[str], *, id: str | None = None, size: str = "2") -> rx.Component:
    return rx.badge(
        rx.match(status, *[(k, v) for k, v in _LABELS.items()], status),
        color_scheme=rx.match(status, *[(k, v) for k, v in _COLORS.items()], "gray"),
        variant="soft",
        high_contrast=True,  # the soft colours' text (amber, grass) is under 4.5:1 in light mode
        size=size,
        radius="full",
        id=id,
        custom_attrs={"data-status": status},
    )

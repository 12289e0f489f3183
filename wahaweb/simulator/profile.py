"""Version profiles: how one WAHA release differs from another, as data.

WAHA changed observable behaviour between releases (API keys, the one-session Core tier,
webhook envelopes, empty create answers...). Clients in the field meet every version, so
the simulator can play more than one; each difference is a named flag here and the code
branches on the flag, never on a version string. ``core-2024.10`` reproduces what was
recorded from a real WAHA Core 2024.10.8 (NOWEB) server, ``plus-2026.7`` the current spec.
"""

from __future__ import annotations

from dataclasses import dataclass

PLUS_2026_7 = "plus-2026.7"
CORE_2024_10 = "core-2024.10"


@dataclass(frozen=True)
class Profile:
    name: str
    version: str
    tier: str
    """The default tier ("plus" or "core"); a config may still override it."""
    engine: str
    checks_api_key: bool
    """False: no API-key check at all, any key or none (2024.10 had none)."""
    only_default_message: str
    """422 message when a Core server is asked for any session but ``default``."""
    only_default_everywhere: bool
    """The Core refusal on every route (2026.x); False: on create only, elsewhere a plain 404."""
    lists_default_from_boot: bool
    """``GET /api/sessions?all=true`` shows a STOPPED ``default`` even before it is created."""
    create_without_start_is_empty: bool
    """Create with ``start`` false/absent answers 201 with no body and keeps nothing."""
    start_defaults_to_true: bool
    missing_name: str | None
    """The name a create without one gets; None: a generated ``session_…`` (2026.x)."""
    signed_webhooks: bool
    """Envelopes carry ``id``/``timestamp``/``statuses`` and HMAC headers."""
    starting_repeat: float | None
    """Re-send STARTING every so many WAHA seconds while the engine retries (None: never)."""
    pairing_in_starting_hangs: bool
    """``request-code`` while STARTING never answers (2024.10) instead of waiting for the QR."""
    has_health: bool
    """``GET /health`` answers (Plus); otherwise 422 "available only in Plus version"."""


PROFILES: dict[str, Profile] = {
    PLUS_2026_7: Profile(
        name=PLUS_2026_7,
        version="2026.7.1",
        tier="plus",
        engine="WEBJS",
        checks_api_key=True,
        only_default_message=(
            "WAHA Core support only 'default' session. You tried to access '{name}' session "
            "(base64: {encoded}). If you want to run more then one WhatsApp account - please get "
            "WAHA PLUS version. Check this out: https://waha.devlike.pro/docs/how-to/plus-version/"
        ),
        only_default_everywhere=True,
        lists_default_from_boot=False,
        create_without_start_is_empty=False,
        start_defaults_to_true=True,
        missing_name=None,
        signed_webhooks=True,
        starting_repeat=None,
        pairing_in_starting_hangs=False,
        has_health=True,
    ),
    CORE_2024_10: Profile(
        name=CORE_2024_10,
        version="2024.10.8",
        tier="core",
        engine="NOWEB",
        checks_api_key=False,
        only_default_message=(
            "WAHA Core support only 'default' session. If you want to run more then one WhatsApp "
            "account - please get WAHA PLUS version. Check this out: https://waha.devlike.pro/"
        ),
        only_default_everywhere=False,
        lists_default_from_boot=True,
        create_without_start_is_empty=True,
        start_defaults_to_true=False,
        missing_name="default",
        signed_webhooks=False,
        starting_repeat=2.0,
        pairing_in_starting_hangs=True,
        has_health=False,
    ),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, not {name!r}") from None

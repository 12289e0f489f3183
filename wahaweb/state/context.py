"""Where the state layer finds the app's one `Core`: on the API app the lifespan built it for.

Reflex states cannot take constructor arguments, so they look the Core up; it is not a
module-level singleton of ours but the `state.core` of wahaweb's own Starlette app (the
Reflex app's `api_transformer`), set by the lifespan that created it and closes it.
"""

from __future__ import annotations

from wahaweb.core.container import Core


def app_core() -> Core:
    from reflex_base.registry import RegistrationContext

    api = RegistrationContext.get().app.api_transformer
    core = getattr(getattr(api, "state", None), "core", None)
    if core is None:
        raise RuntimeError("the app's Core is not running (its lifespan has not started)")
    return core

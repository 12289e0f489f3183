"""Where the state layer finds the app's one `Core`: on the API app the lifespan built it for.

Reflex states cannot take constructor arguments, so they look the Core up; it is not a
module-level singleton of ours but the `state.core` of wahaweb's own Starlette app (the
Reflex app's `api_transformer`), set by the lifespan that created it and closes it.
"""

from __future__ import annotations

from starlette.applications import Starlette

from wahaweb.core.container import Core


def api_app(app: object) -> Starlette:
    """wahaweb's own Starlette app among the Reflex app's API transformers."""
    transformer = getattr(app, "api_transformer", None)
    for candidate in transformer if isinstance(transformer, (list, tuple)) else [transformer]:
        if isinstance(candidate, Starlette):
            return candidate
    raise RuntimeError("the Reflex app has no wahaweb API app")


def app_core() -> Core:
    from reflex_base.registry import RegistrationContext

    core = getattr(api_app(RegistrationContext.get().app).state, "core", None)
    if core is None:
        raise RuntimeError("the app's Core is not running (its lifespan has not started)")
    return core

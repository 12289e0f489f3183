"""Every event handler the Reflex app exposes to websocket clients, found by introspection.

Both the handler inventory test and the protocol-level attack suite use this list, so a
handler added tomorrow is checked and attacked without anyone listing it by hand.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import typing
from collections.abc import Iterator

os.environ.setdefault("REFLEX_STATE_MANAGER_MODE", "memory")


@dataclasses.dataclass(frozen=True)
class Handler:
    state: type
    name: str
    fn: typing.Callable
    #: Parameter name -> annotation, as Reflex sees them (without `self`).
    params: dict[str, typing.Any]

    @property
    def event_name(self) -> str:
        return f"{self.state.get_full_name()}.{self.name}"


def _walk(cls: type) -> Iterator[type]:
    yield cls
    for sub in cls.get_substates():
        yield from _walk(sub)


def app_states() -> list[type]:
    """Every state class of the app, Reflex's own included (importing the app registers them)."""
    import reflex as rx
    from reflex.state import State

    importlib.import_module(f"{rx.config.get_config().app_name}.{rx.config.get_config().app_name}")
    return list(_walk(State))


def handlers() -> list[Handler]:
    found = []
    for cls in app_states():
        for name, handler in cls.event_handlers.items():
            fn = handler.fn
            try:
                signature = inspect.signature(fn)
                hints = typing.get_type_hints(fn)
            except (TypeError, ValueError, NameError):
                signature, hints = None, {}
            params = {}
            if signature is not None:
                for pname in list(signature.parameters)[1:]:
                    params[pname] = hints.get(pname, signature.parameters[pname].annotation)
            found.append(Handler(state=cls, name=name, fn=fn, params=params))
    return found


def is_app_state(cls: type) -> bool:
    return cls.__module__.startswith("wahaweb.")

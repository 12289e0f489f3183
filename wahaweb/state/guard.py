"""The one rule for what a websocket client may call.

In Reflex every public method of a state is an event handler, and any client that
speaks the websocket protocol can call any of them with any JSON arguments and a client
token of its own choosing. So every handler of wahaweb's states declares who may call it:

- `@guarded` (a signed-in, active user) or `@guarded(admin=True)`: the handler's first
  parameter after `self` is `user`, filled in here from the session cookie, never from
  the payload; a signed-out or disabled caller is sent to the sign-in page and the
  handler does not run.
- `@public`: the short allow-list of things a signed-out visitor may do (the sign-in
  page's own load, the demo banner).

Either way the arguments are checked against the handler's annotations (only `str`,
`int` and `bool` are allowed, strings are bounded) before the handler sees them.
`AccessMiddleware` enforces the rest for every event: a handler that declares nothing
(a helper someone forgot to make `_private`, or `setvar`) is refused, and a page that
(re)connects without the cookie of the user its state belongs to gets that state wiped
before anything is sent.
"""

from __future__ import annotations

import functools
import inspect
import logging
import typing
from collections.abc import Callable
from typing import Any

from wahaweb.core.errors import AuthError
from wahaweb.core.models import User

logger = logging.getLogger("wahaweb.state.guard")

USER = "user"
ADMIN = "admin"
PUBLIC = "public"
ACCESS_ATTR = "__wahaweb_access__"
#: Longest string argument any handler accepts (handlers bound their own fields further).
MAX_STR_ARG = 256
_INT_RANGE = (-(2**31), 2**31 - 1)
_ALLOWED_ARG_TYPES = (str, int, bool)

#: Reflex's own handlers a page needs to work, on Reflex's own states only.
REFLEX_INTERNALS = frozenset({
    "hydrate", "hydrate_and_load", "set_is_hydrated", "on_load_internal", "update_vars_internal",
    "handle_frontend_exception",
})
HYDRATE_EVENTS = frozenset({"hydrate", "hydrate_and_load"})

REFUSED_ARGUMENTS = "That request was not understood."


class BadArguments(ValueError):
    """An event's arguments do not fit the handler's annotations."""


def _public_parameters(fn: Callable, *, inject_user: bool) -> tuple[inspect.Signature, dict[str, type]]:
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    if inject_user and (len(params) < 2 or params[1].name != "user"):
        raise TypeError(f"{fn.__qualname__}: a guarded handler takes `user` right after `self`")
    public = [params[0], *params[2 if inject_user else 1:]]
    hints = typing.get_type_hints(fn)
    types: dict[str, type] = {}
    for param in public[1:]:
        hint = hints.get(param.name)
        if hint not in _ALLOWED_ARG_TYPES:
            raise TypeError(f"{fn.__qualname__}: argument {param.name!r} must be annotated str, int or bool, "
                            f"not {hint!r} (clients send any JSON)")
        types[param.name] = hint
    return signature.replace(parameters=public), types


def check_arguments(signature: inspect.Signature, types: dict[str, type], args: tuple, kwargs: dict) -> None:
    """Raise BadArguments unless every argument is present and of its annotated type."""
    try:
        bound = signature.bind(None, *args, **kwargs)
    except TypeError as exc:
        raise BadArguments(str(exc)) from exc
    for name, value in list(bound.arguments.items())[1:]:
        expected = types[name]
        if expected is bool:
            ok = isinstance(value, bool)
        elif expected is int:
            ok = isinstance(value, int) and not isinstance(value, bool) and _INT_RANGE[0] <= value <= _INT_RANGE[1]
        else:
            ok = isinstance(value, str) and len(value) <= MAX_STR_ARG
        if not ok:
            raise BadArguments(f"{name}: expected {expected.__name__}")


def _is_background(state: Any) -> bool:
    from reflex.istate.proxy import StateProxy

    return isinstance(state, StateProxy)


def _refusal(state: Any = None):
    """The toast for arguments that do not fit, in the tab's language when it has one."""
    import reflex as rx

    from wahaweb.i18n import text

    lang = getattr(state, "lang", None) if state is not None and hasattr(type(state), "lang") else None
    return rx.toast.error(text(lang, "error.bad_arguments") if isinstance(lang, str) else REFUSED_ARGUMENTS)


def _wrap(fn: Callable, access: str) -> Callable:
    inject = access != PUBLIC
    signature, types = _public_parameters(fn, inject_user=inject)
    name = fn.__qualname__

    async def _admit(self) -> tuple[User | None, Any]:
        """The user to run as, or (None, what to send back instead)."""
        if _is_background(self):  # a background task must hold the state lock to write vars
            async with self:
                return await self._guard_user(admin=access == ADMIN)
        return await self._guard_user(admin=access == ADMIN)

    if inspect.isasyncgenfunction(fn):
        async def wrapper(self, *args, **kwargs):
            try:
                check_arguments(signature, types, args, kwargs)
            except BadArguments as exc:
                logger.warning("refused %s: %s", name, exc)
                yield _refusal(self)
                return
            if not inject:
                async for item in fn(self, *args, **kwargs):
                    yield item
                return
            user, refusal = await _admit(self)
            if user is None:
                yield refusal
                return
            async for item in fn(self, user, *args, **kwargs):
                yield item
    else:
        async def wrapper(self, *args, **kwargs):  # type: ignore[misc]  # a coroutine here, a generator above
            try:
                check_arguments(signature, types, args, kwargs)
            except BadArguments as exc:
                logger.warning("refused %s: %s", name, exc)
                return _refusal(self)
            if not inject:
                result = fn(self, *args, **kwargs)
                return await result if inspect.isawaitable(result) else result
            user, refusal = await _admit(self)
            if user is None:
                return refusal
            result = fn(self, user, *args, **kwargs)
            return await result if inspect.isawaitable(result) else result

    functools.update_wrapper(wrapper, fn)
    delattr(wrapper, "__wrapped__")  # Reflex must see the public signature, not the one with `user`
    setattr(wrapper, "__signature__", signature)
    wrapper.__annotations__ = {k: v for k, v in fn.__annotations__.items() if k != "user"}
    setattr(wrapper, ACCESS_ATTR, access)
    return wrapper


def guarded(fn: Callable | None = None, *, admin: bool = False):
    """Run the handler only for a signed-in, active user (an admin with `admin=True`)."""
    access = ADMIN if admin else USER
    if fn is None:
        return lambda f: _wrap(f, access)
    return _wrap(fn, access)


def public(fn: Callable) -> Callable:
    """Allow-list a handler for signed-out visitors (its arguments are still checked)."""
    return _wrap(fn, PUBLIC)


def access_of(state_cls: type, handler_name: str) -> str | None:
    """Who may call `handler_name` on `state_cls`: USER, ADMIN, PUBLIC, or None (nobody)."""
    handler = getattr(state_cls, "event_handlers", {}).get(handler_name)
    if handler is None:
        return None
    if not state_cls.__module__.startswith("wahaweb."):
        return PUBLIC if handler_name in REFLEX_INTERNALS else None
    return getattr(handler.fn, ACCESS_ATTR, None)


__all__ = ["ADMIN", "PUBLIC", "USER", "AuthError", "access_of", "check_arguments", "guarded", "public"]

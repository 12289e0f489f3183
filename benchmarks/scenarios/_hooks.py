"""What the wahaweb-level hooks check before they can be written or run."""

from __future__ import annotations

import importlib


def require_modules(*modules: str) -> None:
    """Raise NotImplementedError naming the first wahaweb module that cannot be imported."""
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:  # ImportError, or a half-written module failing on import
            raise NotImplementedError(f"{module} is not importable yet ({type(exc).__name__}: {exc})") from None

"""The WAHA client: HTTP and WAHA knowledge only (see docs/ARCHITECTURE.md)."""

from wahaweb.waha import errors
from wahaweb.waha.client import WahaClient
from wahaweb.waha.errors import (
    WahaAlreadyExists,
    WahaError,
    WahaHTTPError,
    WahaNotFound,
    WahaUnauthorized,
    WahaUnavailable,
    WahaUnprocessable,
    WahaWrongState,
)
from wahaweb.waha.models import Me, QRImage, ServerVersion, SessionConfig, SessionDTO, SessionInfo, WahaStatus

__all__ = [
    "Me",
    "QRImage",
    "ServerVersion",
    "SessionConfig",
    "SessionDTO",
    "SessionInfo",
    "WahaAlreadyExists",
    "WahaClient",
    "WahaError",
    "WahaHTTPError",
    "WahaNotFound",
    "WahaStatus",
    "WahaUnauthorized",
    "WahaUnavailable",
    "WahaUnprocessable",
    "WahaWrongState",
    "errors",
]

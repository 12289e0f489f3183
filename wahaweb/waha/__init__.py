"""The WAHA client: HTTP and WAHA knowledge only (see docs/ARCHITECTURE.md)."""

from wahaweb.waha import errors
from wahaweb.waha.client import WahaClient
from wahaweb.waha.errors import (
    WahaAlreadyExists,
    WahaBadRequest,
    WahaError,
    WahaHTTPError,
    WahaNotFound,
    WahaTimeout,
    WahaUnauthorized,
    WahaUnavailable,
    WahaUnprocessable,
    WahaWrongState,
)
from wahaweb.waha.events import WahaEventStream
from wahaweb.waha.models import (
    Me,
    QRImage,
    ServerStatus,
    ServerVersion,
    SessionConfig,
    SessionDTO,
    SessionInfo,
    WahaStatus,
)

__all__ = [
    "Me",
    "QRImage",
    "ServerStatus",
    "ServerVersion",
    "SessionConfig",
    "SessionDTO",
    "SessionInfo",
    "WahaAlreadyExists",
    "WahaBadRequest",
    "WahaClient",
    "WahaError",
    "WahaEventStream",
    "WahaHTTPError",
    "WahaNotFound",
    "WahaStatus",
    "WahaTimeout",
    "WahaUnauthorized",
    "WahaUnavailable",
    "WahaUnprocessable",
    "WahaWrongState",
    "errors",
]

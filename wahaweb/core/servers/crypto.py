"""WAHA API keys at rest: Fernet (AES-128-CBC + HMAC-SHA256) under one key per install.

The key comes from `WAHAWEB_SECRET_KEY` (any string; SHA-256 makes it 32 bytes), else it is
generated once and kept in `app_setting`, like the other generated secrets, so every worker
shares it. A stored key that cannot be decrypted (the secret changed, the row was copied
from another install) is a start-up error that says so, never a silent "no key".
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from wahaweb.core.errors import CoreError

#: The `app_setting` key of the generated encryption key (used only without WAHAWEB_SECRET_KEY).
STORED_KEY_SETTING = "server_key_secret"


class ServerKeyUnreadable(CoreError):
    """A stored WAHA API key cannot be decrypted with this install's secret."""

    def __init__(self, server_name: str) -> None:
        super().__init__(
            f"The stored API key of WAHA server {server_name!r} cannot be decrypted. "
            "WAHAWEB_SECRET_KEY differs from the one it was saved with: restore that value, "
            "or enter the server's API key again."
        )
        self.server_name = server_name


def derive_fernet_key(secret: str) -> bytes:
    """A Fernet key (32 url-safe base64 bytes) from an operator's secret of any length."""
    return base64.urlsafe_b64encode(hashlib.sha256(f"wahaweb-server-keys:{secret}".encode()).digest())


def generate_secret() -> str:
    """A new random secret to store when the operator set none."""
    return Fernet.generate_key().decode()


class KeyBox:
    """Encrypts and decrypts API keys; holds no key in any printable attribute."""

    def __init__(self, secret: str) -> None:
        self._fernet = Fernet(derive_fernet_key(secret))

    def __repr__(self) -> str:
        return "KeyBox(<secret>)"

    def seal(self, api_key: str | None) -> str | None:
        if not api_key:
            return None
        return self._fernet.encrypt(api_key.encode()).decode()

    def open(self, token: str | None, *, server_name: str) -> str | None:
        """The plain key, or None when none is stored; ServerKeyUnreadable when the secret is wrong."""
        if not token:
            return None
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except (InvalidToken, ValueError) as exc:
            raise ServerKeyUnreadable(server_name) from exc

"""Password change (by the user) and one-time reset links (made by an admin).

Why the rules:
- A change needs the current password (a borrowed, signed-in browser must not be enough
  to take the account over); the guesses are counted like sign-in attempts.
- After a change or a reset every other sign-in of the user is revoked: whoever knew
  the old password may still hold a session.
- A reset link carries 32 random bytes; only their SHA-256 is stored, so the table
  alone opens no account. It lives 24 hours, works once (the use is a single conditional
  UPDATE, so two concurrent uses cannot both pass), and a newer link kills older ones.
- Every change, refusal and link is written to the audit trail.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets

import sqlalchemy as sa
from sqlmodel import col, select

from wahaweb.core.accounts import MESSAGES, SIGNED_OUT, Accounts, hash_token, validate_password
from wahaweb.core.audit import DENIED, OK, REFUSED, AuditLog
from wahaweb.core.clock import Clock, utcnow
from wahaweb.core.db import Database
from wahaweb.core.errors import AuthError, NotFound, PermissionDenied, ValidationFailed
from wahaweb.core.models import AuthToken, PasswordReset, User

RESET_TTL = dt.timedelta(hours=24)


class Passwords:
    def __init__(self, db: Database, accounts: Accounts, audit: AuditLog, *, clock: Clock = utcnow,
                 reset_ttl: dt.timedelta = RESET_TTL) -> None:
        self.db = db
        self.accounts = accounts
        self.audit = audit
        self.clock = clock
        self.reset_ttl = reset_ttl

    async def change(self, actor: User | None, current: str, new: str, *, keep_token: str | None = None) -> int:
        """Change the actor's password; revoke every sign-in but `keep_token` (this browser's).

        Returns how many sign-ins were revoked.
        """
        user = await self.accounts.resolve(actor)
        assert user.id is not None
        new = validate_password(new)
        await self.accounts.limiter.hit("sign_in", f"account:{user.email}")
        valid = await asyncio.to_thread(self.accounts.hasher.verify, current or "", user.password_hash)
        if not valid:
            await self.audit.write(action="change_password", outcome=DENIED, user_id=user.id,
                                   detail="wrong current password")
            raise ValidationFailed("current_password", MESSAGES["current_password_wrong"],
                                   code="current_password_wrong")
        await self.accounts.limiter.clear("sign_in", f"account:{user.email}")
        password_hash = await asyncio.to_thread(self.accounts.hasher.hash, new)
        async with self.db.transaction() as session:
            row = await session.get(User, user.id)
            if row is None:
                raise AuthError(SIGNED_OUT, code="signed_out")
            row.password_hash = password_hash
            revoked = await self._revoke(session, user.id, keep=hash_token(keep_token) if keep_token else None)
            self.audit.add(session, action="change_password", outcome=OK, user_id=user.id,
                           detail=f"{revoked} other sign-ins revoked")
        self.accounts.trusted.forget(user.id)
        return revoked

    async def create_reset_link(self, actor: User | None, user_id: int) -> str:
        """A new one-time reset token for `user_id` (admins only). Give it to the user once; never log it."""
        admin = await self.accounts.resolve(actor)
        if not admin.is_admin:
            raise PermissionDenied()
        token = secrets.token_urlsafe(32)
        now = self.clock()
        async with self.db.transaction() as session:
            if await session.get(User, user_id) is None:
                raise NotFound("user")
            await session.exec(sa.update(PasswordReset).where(  # type: ignore[call-overload]
                col(PasswordReset.user_id) == user_id, col(PasswordReset.used_at).is_(None)).values(used_at=now))
            session.add(PasswordReset(user_id=user_id, token_hash=hash_token(token), created_by=admin.id,
                                      created_at=now, expires_at=now + self.reset_ttl))
            self.audit.add(session, action="reset_link", outcome=OK, user_id=admin.id,
                           detail=f"for user {user_id}, valid {self.reset_ttl}")
        return token

    async def link_is_valid(self, token: str | None) -> bool:
        """Whether a reset link still works (the reset page says so before the form is filled)."""
        if not token:
            return False
        async with self.db.session() as session:
            row = (await session.exec(select(PasswordReset).where(
                PasswordReset.token_hash == hash_token(token)))).first()
        return row is not None and row.used_at is None and row.expires_at > self.clock()

    async def reset(self, token: str | None, new: str) -> User:
        """Set a new password through a reset link, once; every sign-in of the user is revoked."""
        new = validate_password(new)
        password_hash = await asyncio.to_thread(self.accounts.hasher.hash, new)
        now = self.clock()
        async with self.db.transaction() as session:
            used = await session.exec(sa.update(PasswordReset).where(  # type: ignore[call-overload]
                col(PasswordReset.token_hash) == hash_token(token or ""), col(PasswordReset.used_at).is_(None),
                col(PasswordReset.expires_at) > now).values(used_at=now).returning(col(PasswordReset.user_id)))
            user_id = used.scalar_one_or_none()
            user = await session.get(User, user_id) if user_id is not None else None
            if user is not None:
                user.password_hash = password_hash
                revoked = await self._revoke(session, user_id, keep=None)
                self.audit.add(session, action="reset_password", outcome=OK, user_id=user_id,
                               detail=f"{revoked} sign-ins revoked")
        if user is not None:
            self.accounts.trusted.forget(user.id)
        if user is None:
            await self.audit.write(action="reset_password", outcome=REFUSED, detail="invalid, used or expired link")
            raise AuthError(MESSAGES["reset_link_invalid"], code="reset_link_invalid")
        return user

    async def _revoke(self, session, user_id: int, *, keep: str | None) -> int:
        where = [col(AuthToken.user_id) == user_id, col(AuthToken.revoked_at).is_(None)]
        if keep is not None:
            where.append(col(AuthToken.token_hash) != keep)
        result = await session.exec(sa.update(AuthToken).where(*where).values(revoked_at=self.clock()))
        return result.rowcount or 0

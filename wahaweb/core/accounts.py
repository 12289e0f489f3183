"""Accounts: registration, sign-in with throttling, tokens, and who the actor is.

- Passwords: argon2id through pwdlib; a hash made with other parameters is
  replaced at the next successful sign-in.
- Tokens: 32 random bytes (URL-safe text) given to the client once; only their
  SHA-256 is stored, with an expiry (WAHAWEB_TOKEN_TTL_HOURS). Sign-out revokes
  server-side. A disabled user's tokens stop working at once (checked on every use; a
  check less than 2 s old answers the next ones, and every revocation or change to the
  user ends that at once in this process: `wahaweb.core.trusted`).
- Sign-in attempts are counted *before* the password is checked, atomically (memory
  and Redis alike), so concurrent guesses cannot all be judged: 5 in 15 minutes per
  account (cleared by a success) and 20 per client, then a refusal with the wait.
- Sign-ups: 5 an hour per client (every account brings its own plan slot).
- E-mail addresses: NFKC-normalised, refused when they hold control or invisible
  characters or anything outside ASCII (look-alike accounts), then checked by
  `email-validator`.
- The first account on a fresh install becomes the admin, with no plan (the default
  limit): the operator should not be held to the Free plan's single session.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import logging
import secrets
import unicodedata
from collections.abc import Sequence

import email_validator
import sqlalchemy as sa
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlmodel import col, select

from wahaweb.core.audit import DENIED, OK, REFUSED, AuditLog
from wahaweb.core.batches import Batches
from wahaweb.core.clock import Clock, utcnow
from wahaweb.core.db import Database
from wahaweb.core.errors import AuthError, ValidationFailed
from wahaweb.core.models import ROLE_ADMIN, ROLE_USER, AuthToken, User
from wahaweb.core.plans import Usage, plan_by_name, usage
from wahaweb.core.ratelimit import RateLimiter
from wahaweb.core.trusted import TrustedSignIns

logger = logging.getLogger("wahaweb.core.accounts")

#: `resolve`'s lookup, built once, for a whole batch of users.
_USERS = select(User).where(col(User.id).in_(sa.bindparam("user_ids", expanding=True)))

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
MAX_EMAIL_LENGTH = 254
#: Unicode categories that never belong in an address: controls, format characters
#: (zero-width space, word joiner, soft hyphen, bidi marks), surrogates, private use, unassigned.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

SIGNED_OUT = "Please sign in to continue."
DISABLED = "This account is disabled. Contact the administrator."
BAD_CREDENTIALS = "Wrong email or password."
EXPIRED = "Your sign-in has expired. Please sign in again."

#: Every message of this module by a stable code: forms carry the code, never the text.
MESSAGES: dict[str, str] = {
    "signed_out": SIGNED_OUT,
    "disabled": DISABLED,
    "bad_credentials": BAD_CREDENTIALS,
    "expired": EXPIRED,
    "email_required": "Enter your email address.",
    "email_too_long": f"An email address has at most {MAX_EMAIL_LENGTH} characters.",
    "email_invisible": "The email address contains invisible or control characters.",
    "email_not_ascii": "Use an email address written with Latin letters a-z, digits and . _ + -.",
    "email_invalid": "Enter a valid email address, like name@example.com.",
    "email_taken": "An account with this email already exists. Sign in instead.",
    "password_required": "Choose a password.",
    "password_min_length": f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.",
    "password_max_length": f"The password must be at most {MAX_PASSWORD_LENGTH} characters long.",
    "current_password_wrong": "The current password is wrong.",
    "reset_link_invalid": "This reset link is invalid, used or expired. Ask an administrator for a new one.",
}


def default_password_hasher() -> PasswordHash:
    """argon2id with argon2-cffi's recommended parameters."""
    return PasswordHash((Argon2Hasher(),))


def normalise_email(email: str | None) -> str:
    """The form addresses are stored and compared in: NFKC, trimmed, lower case."""
    return unicodedata.normalize("NFKC", email or "").strip().lower()


def validate_email(email: str | None) -> str:
    """A plain ASCII address, or ValidationFailed with a message for the form.

    Why so strict: on /admin an operator must be able to tell accounts apart by their
    address. Invisible characters (NUL, U+200B, U+2060, U+00AD), U+FFFD from invalid
    UTF-8 and look-alike letters from other scripts would let one account pass for another.
    """
    value = normalise_email(email)
    if not value:
        raise ValidationFailed("email", MESSAGES["email_required"], code="email_required")
    if len(value) > MAX_EMAIL_LENGTH:
        raise ValidationFailed("email", MESSAGES["email_too_long"], code="email_too_long")
    if any(unicodedata.category(ch) in _INVISIBLE_CATEGORIES or ch == "\ufffd" for ch in value):
        raise ValidationFailed("email", MESSAGES["email_invisible"], code="email_invisible")
    if not value.isascii():
        raise ValidationFailed("email", MESSAGES["email_not_ascii"], code="email_not_ascii")
    try:
        checked = email_validator.validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except email_validator.EmailNotValidError as exc:
        raise ValidationFailed("email", MESSAGES["email_invalid"], code="email_invalid") from exc
    return checked.normalized.lower()


def validate_password(password: str | None) -> str:
    if not password:
        raise ValidationFailed("password", MESSAGES["password_required"], code="password_required")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed("password", MESSAGES["password_min_length"], code="password_min_length")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed("password", MESSAGES["password_max_length"], code="password_max_length")
    return password


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclasses.dataclass(frozen=True)
class SignedIn:
    """The result of a sign-in: give `token` to the client (cookie / local storage), never log it."""

    token: str
    user: User
    expires_at: dt.datetime


class Accounts:
    def __init__(self, db: Database, limiter: RateLimiter, audit: AuditLog, *, clock: Clock = utcnow,
                 hasher: PasswordHash | None = None, token_ttl: dt.timedelta = dt.timedelta(days=14),
                 signup_plan: str | None = "Free", default_session_limit: int = 10) -> None:
        self.db = db
        self.limiter = limiter
        self.audit = audit
        self.clock = clock
        self.hasher = hasher or default_password_hasher()
        self.token_ttl = token_ttl
        self.signup_plan = signup_plan
        self.default_session_limit = default_session_limit
        self._dummy_hash: str | None = None
        #: Sign-ins and users looked up a moment ago (2 s): one click, one lookup.
        self.trusted = TrustedSignIns(clock)
        #: Users looked up at once (50 users clicking together) share one read.
        self._user_reads: Batches[int, User | None] = Batches(self._read_users)

    # ----------------------------------------------------------------- register
    async def register(self, email: str, password: str, *, client: str | None = None) -> User:
        """Create an account. The first account of an install becomes the admin.

        New accounts get the plan named by WAHAWEB_SIGNUP_PLAN (no plan if that
        plan does not exist: the default limit applies). The first account (the
        operator) gets no plan.
        """
        email = validate_email(email)
        password = validate_password(password)
        if client:
            await self.limiter.hit("sign_up", f"client:{client}")
        password_hash = await asyncio.to_thread(self.hasher.hash, password)
        async with self.db.locked_write() as session:
            existing = (await session.exec(select(User.id).where(User.email == email))).first()
            if existing is not None:
                raise ValidationFailed("email", MESSAGES["email_taken"], code="email_taken")
            first = (await session.exec(select(sa.func.count()).select_from(User))).one() == 0
            plan_id = None
            if self.signup_plan and not first:
                plan = await plan_by_name(session, self.signup_plan)
                if plan is None:
                    logger.warning("sign-up plan %r does not exist; new users get no plan", self.signup_plan)
                else:
                    plan_id = plan.id
            user = User(email=email, password_hash=password_hash, role=ROLE_ADMIN if first else ROLE_USER,
                        plan_id=plan_id, active=True, created_at=self.clock())
            session.add(user)
            await session.flush()
            self.audit.add(session, action="register", outcome=OK, user_id=user.id,
                           detail="first account: admin" if first else None)
        logger.info("account registered user=%s admin=%s", user.id, first)
        return user

    # ------------------------------------------------------------------ sign in
    async def sign_in(self, email: str, password: str, *, client: str | None = None) -> SignedIn:
        """Check the credentials and issue a token.

        `client` identifies the caller for throttling (an IP address). The attempt is
        counted before the (slow) password check, in one atomic step per key, so 60
        concurrent guesses leave at most 5 judged; past the limit every attempt is
        refused with the wait, even with the right password.
        """
        email = normalise_email(email)
        if client:
            await self.limiter.hit("sign_in_client", f"client:{client}", name="sign_in")
        await self.limiter.hit("sign_in", f"account:{email}")
        async with self.db.session() as session:
            user = (await session.exec(select(User).where(User.email == email))).first()
        if user is None:
            # Spend the same time as a real check, so timing does not tell which emails exist.
            await asyncio.to_thread(self.hasher.verify, password or "", await self._dummy())
            valid, new_hash = False, None
        else:
            valid, new_hash = await asyncio.to_thread(self.hasher.verify_and_update, password or "", user.password_hash)
        if not valid:
            await self.audit.write(action="sign_in", outcome=DENIED, user_id=user.id if user else None,
                                   detail="wrong email or password")
            raise AuthError(BAD_CREDENTIALS, code="bad_credentials")
        assert user is not None and user.id is not None
        if not user.active:
            await self.audit.write(action="sign_in", outcome=REFUSED, user_id=user.id, detail="account disabled")
            raise AuthError(DISABLED, code="disabled")
        await self.limiter.clear("sign_in", f"account:{email}")
        token = secrets.token_urlsafe(32)
        now = self.clock()
        row = AuthToken(user_id=user.id, token_hash=hash_token(token), created_at=now, expires_at=now + self.token_ttl)
        async with self.db.transaction() as session:
            if new_hash is not None:
                db_user = await session.get(User, user.id)
                if db_user is not None:
                    db_user.password_hash = new_hash
                    user.password_hash = new_hash
                    logger.info("password hash upgraded user=%s", user.id)
            session.add(row)
            self.audit.add(session, action="sign_in", outcome=OK, user_id=user.id)
        return SignedIn(token=token, user=user, expires_at=row.expires_at)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(self.hasher.hash, secrets.token_hex(16))
        return self._dummy_hash

    async def sign_out(self, token: str | None) -> None:
        """Revoke the token (idempotent; unknown tokens are ignored)."""
        if not token:
            return
        async with self.db.transaction() as session:
            row = (await session.exec(select(AuthToken).where(AuthToken.token_hash == hash_token(token)))).first()
            if row is not None and row.revoked_at is None:
                row.revoked_at = self.clock()
                self.audit.add(session, action="sign_out", outcome=OK, user_id=row.user_id)
        if row is not None:
            self.trusted.forget(row.user_id)

    async def revoke_all(self, user_id: int) -> int:
        """Revoke every live token of a user; returns how many."""
        async with self.db.transaction() as session:
            result = await session.exec(
                sa.update(AuthToken).where(col(AuthToken.user_id) == user_id, col(AuthToken.revoked_at).is_(None))
                .values(revoked_at=self.clock())
            )
            revoked = result.rowcount or 0
        self.trusted.forget(user_id)
        return revoked

    # ------------------------------------------------------------- who is this
    async def authenticate(self, token: str | None) -> User:
        """The user a token belongs to, or AuthError (missing, unknown, expired, revoked, disabled).

        A sign-in that passed this check less than 2 s ago (by the clock) is not read again: see
        `wahaweb.core.trusted` (sign-out, revocation and every change to a user end that at once)."""
        if not token:
            raise AuthError(SIGNED_OUT, code="signed_out")
        token_hash = hash_token(token)
        trusted = self.trusted.for_token(token_hash)
        if trusted is not None:
            return trusted
        generation = self.trusted.generation
        found = await self.db.read_one(
            select(AuthToken, User).join(User, col(User.id) == AuthToken.user_id)
            .where(AuthToken.token_hash == token_hash))
        if found is None:
            raise AuthError(SIGNED_OUT, code="signed_out")
        row, user = found
        if not user.active:
            raise AuthError(DISABLED, code="disabled")
        now = self.clock()
        if row.revoked_at is not None or row.expires_at <= now:
            raise AuthError(EXPIRED, code="expired")
        if row.expires_at > now + self.trusted.ttl:  # never trust a sign-in past its expiry
            self.trusted.remember(user, generation=generation, token_hash=token_hash)
        return user

    async def resolve(self, actor: User | None) -> User:
        """Re-read the acting user from the database: signed in, still exists, still active.

        Every service action calls this, so a user disabled a moment ago (or whose
        role changed) is treated as such even if the caller holds an old User object.
        A user read less than 2 s ago (the guard's check of this very click) is not read
        again; disabling or changing a user ends that at once (`wahaweb.core.trusted`).
        """
        if actor is None or actor.id is None:
            raise AuthError(SIGNED_OUT, code="signed_out")
        trusted = self.trusted.for_user(actor.id)
        if trusted is not None:
            return trusted
        generation = self.trusted.generation
        user = await self._user_reads.submit(actor.id)
        if user is None:
            raise AuthError(SIGNED_OUT, code="signed_out")
        if not user.active:
            raise AuthError(DISABLED, code="disabled")
        self.trusted.remember(user, generation=generation)
        return user

    async def _read_users(self, user_ids: Sequence[int]) -> list[User | None]:
        """A batch of `resolve` lookups in one statement: each user, or None if there is none."""
        found = {user.id: user for user in await self.db.read_all(_USERS, {"user_ids": sorted(set(user_ids))})}
        return [found.get(user_id) for user_id in user_ids]

    async def live_sign_ins(self, owner_id: int, *, with_admins: bool) -> list[tuple[int, bool, str]]:
        """Who may hear of a change to `owner_id`'s session, by sign-in: (user id, is admin, token
        hash) for every live token of the owner, and of every admin when `with_admins`. One query;
        a disabled account, a revoked or expired sign-in is never in it."""
        who: sa.ColumnElement[bool] = col(User.id) == owner_id
        if with_admins:
            who = sa.or_(who, col(User.role) == ROLE_ADMIN)
        rows = await self.db.read_all(
            select(col(User.id), User.role, AuthToken.token_hash)
            .join(AuthToken, col(AuthToken.user_id) == User.id)
            .where(who, col(User.active).is_(True), col(AuthToken.revoked_at).is_(None),
                   AuthToken.expires_at > self.clock()))
        return [(int(uid), role == ROLE_ADMIN, token_hash) for uid, role, token_hash in rows if uid is not None]

    async def sign_in_hashes(self, user_id: int) -> list[str]:
        """Every unexpired sign-in of a user, revoked or not (to empty their feeds)."""
        async with self.db.session() as session:
            rows = await session.exec(select(AuthToken.token_hash).where(
                AuthToken.user_id == user_id, AuthToken.expires_at > self.clock()))
            return list(rows)

    async def email_of(self, user_id: int) -> str:
        """The e-mail shown as a session's owner on /admin."""
        user = await self.db.read_get(User, user_id)
        return user.email if user is not None else ""

    async def get_user(self, user_id: int) -> User | None:
        async with self.db.session() as session:
            return await session.get(User, user_id)

    async def set_language(self, actor: User | None, language: str | None) -> User:
        """Remember the UI language a user picked (None: follow the browser again)."""
        user = await self.resolve(actor)
        async with self.db.transaction() as session:
            row = await session.get(User, user.id)
            if row is None:
                raise AuthError(SIGNED_OUT, code="signed_out")
            row.language = language
            self.audit.add(session, action="set_language", outcome=OK, user_id=user.id, detail=language)
        user.language = language
        return user

    async def usage(self, actor: User | None) -> Usage:
        """The plan meter for the actor: active sessions, limit, plan name."""
        user = await self.resolve(actor)
        async with self.db.session() as session:
            return await usage(session, user, self.default_session_limit)

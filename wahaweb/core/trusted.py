"""A sign-in checked a moment ago, trusted for a moment: one click, one database lookup.

One "New session" click asks "who is this?" several times within a few milliseconds: the
guard authenticates the cookie, the service re-resolves the actor, the page that opens
authenticates again and re-resolves again. Each answer is the same. `TrustedSignIns`
keeps the answer of a lookup that reached the database for `ttl` (2 s) by the injected
clock, keyed by the sign-in (token hash) and by the user.

Never trusted: anything after `forget()`. Sign-out, revoking sign-ins, a password change
or reset, and every change an admin makes to a user (disable, role, plan) call it when
they commit, so a revoked or disabled sign-in is refused at once in this process. A lookup
that was already running while such a change committed cannot put the old answer back: a
generation counter, moved by every `forget()`, must be the same before and after the read.
Other processes (several workers) read the database again within `ttl` at the latest.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from wahaweb.core.clock import Clock
from wahaweb.core.models import User

TRUST_FOR = dt.timedelta(seconds=2)


@dataclasses.dataclass
class _Entry:
    user: User
    at: dt.datetime


class TrustedSignIns:
    """Answers of recent user lookups, by sign-in and by user, each good for `ttl`."""

    def __init__(self, clock: Clock, ttl: dt.timedelta = TRUST_FOR) -> None:
        self.clock = clock
        self.ttl = ttl
        self._by_token: dict[str, _Entry] = {}
        self._by_user: dict[int, _Entry] = {}
        #: Moved by every `forget()`: a lookup that started before it must not be remembered.
        self.generation = 0

    def _fresh(self, entry: _Entry | None) -> User | None:
        if entry is None:
            return None
        age = self.clock() - entry.at
        if age < dt.timedelta(0) or age >= self.ttl:
            return None
        return entry.user

    def for_token(self, token_hash: str) -> User | None:
        """The user this sign-in belonged to a moment ago, or None (look it up)."""
        user = self._fresh(self._by_token.get(token_hash))
        if user is None:
            self._by_token.pop(token_hash, None)
        return user

    def for_user(self, user_id: int) -> User | None:
        """The user as read from the database a moment ago, or None (look it up)."""
        user = self._fresh(self._by_user.get(user_id))
        if user is None:
            self._by_user.pop(user_id, None)
        return user

    def remember(self, user: User, *, generation: int, token_hash: str | None = None) -> None:
        """Keep an active user just read (with the sign-in it was read by), unless a `forget()`
        happened since the read began (`generation` is `self.generation` taken before it)."""
        if generation != self.generation or user.id is None or not user.active:
            return
        if len(self._by_user) > 10_000:  # stale entries of users gone quiet: drop them all
            self._by_user.clear()
            self._by_token.clear()
        entry = _Entry(user=user, at=self.clock())
        self._by_user[user.id] = entry
        if token_hash is not None:
            self._by_token[token_hash] = entry

    def forget(self, user_id: int | None = None) -> None:
        """Trust nothing of `user_id` any more (None: of anyone); lookups running now are not kept."""
        self.generation += 1
        if user_id is None:
            self._by_user.clear()
            self._by_token.clear()
            return
        self._by_user.pop(user_id, None)
        for token_hash in [t for t, e in self._by_token.items() if e.user.id == user_id]:
            del self._by_token[token_hash]

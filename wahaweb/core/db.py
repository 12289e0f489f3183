"""The async engine and transactions.

- SQLite (sqlite+aiosqlite): WAL, busy_timeout, foreign keys; wahaweb emits BEGIN
  itself so that `Database.locked_write()` can open `BEGIN IMMEDIATE` (the
  database-wide write lock, held across connections, processes and workers).
- PostgreSQL (postgresql+asyncpg): `Database.locked_write(lock_user_id=...)` takes
  `SELECT ... FOR UPDATE` on the user row (`lock_user_ids=...`: on a batch's user
  rows, in id order, in one statement). A `search_path` query parameter in
  the URL (`...?search_path=myschema`) is passed to the server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from wahaweb.core.models import User

_M = TypeVar("_M")

IMMEDIATE_OPTION = _IMMEDIATE = "wahaweb_sqlite_immediate"
#: A session that reads one statement: on SQLite no BEGIN/COMMIT around it (a statement is atomic).
_NO_BEGIN = "wahaweb_sqlite_no_begin"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, **kwargs) -> AsyncEngine:
    """Create the async engine for `url` with wahaweb's connection setup."""
    sa_url = make_url(url)
    connect_args: dict = dict(kwargs.pop("connect_args", {}) or {})
    backend = sa_url.get_backend_name()
    if backend == "postgresql":
        search_path = sa_url.query.get("search_path")
        if search_path:
            sa_url = sa_url.difference_update_query(["search_path"])
            settings = dict(connect_args.get("server_settings", {}))
            settings["search_path"] = search_path
            connect_args["server_settings"] = settings
        kwargs.setdefault("pool_pre_ping", True)
    elif backend == "sqlite":
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    engine = create_async_engine(sa_url, connect_args=connect_args, **kwargs)
    if backend == "sqlite":
        _install_sqlite_hooks(engine)
    return engine


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    in_memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised by every test
        # Let SQLAlchemy's "begin" hook below emit BEGIN, not the sqlite3 module.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):
        options = conn.get_execution_options()
        if options.get(_NO_BEGIN):
            return  # one read, atomic by itself: sqlite3 runs it in autocommit
        if options.get(_IMMEDIATE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


#: PostgreSQL's per-user create locks, built once (a select built per call costs more CPU than it runs):
#: one statement for a whole batch of users, taken in id order so two batches never deadlock.
_LOCK_USERS = (select(col(User.id)).where(col(User.id).in_(sa.bindparam("user_ids", expanding=True)))
               .order_by(col(User.id)).with_for_update())


class Database:
    """Owns the engine; hands out sessions and transactions."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        #: SQLite has one writer at a time: this process's writers queue here (FIFO, handed over at
        #: once) instead of spinning in SQLite's busy handler, whose back-off sleeps up to 100 ms a try.
        #: Other processes still meet at BEGIN IMMEDIATE. No write transaction nests in another.
        self._writer: asyncio.Lock | None = asyncio.Lock() if self.dialect == "sqlite" else None

    @classmethod
    def from_url(cls, url: str, **kwargs) -> Database:
        return cls(make_engine(url, **kwargs))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> AsyncSession:
        """A plain session for reads (SQLite: deferred transaction)."""
        return AsyncSession(self.engine, expire_on_commit=False)

    def _read_session(self) -> AsyncSession:
        if self.dialect == "sqlite":
            return AsyncSession(self.engine, expire_on_commit=False, execution_options={_NO_BEGIN: True})
        return AsyncSession(self.engine, expire_on_commit=False)

    async def read_one(self, statement: Any) -> Any:
        """The first row of one SELECT, or None: one statement, no transaction around it on SQLite
        (a plain read is atomic by itself; BEGIN and COMMIT were a third of a click's statements)."""
        async with self._read_session() as session:
            return (await session.exec(statement)).first()

    async def read_all(self, statement: Any, params: dict[str, Any] | None = None) -> list[Any]:
        """Every row of one SELECT (as `read_one`: one statement, no BEGIN on SQLite)."""
        async with self._read_session() as session:
            return list(await session.exec(statement, params=params))

    async def read_get(self, model: type[_M], ident: Any) -> _M | None:
        """One row by primary key (as `read_one`)."""
        async with self._read_session() as session:
            return await session.get(model, ident)

    def _write_session(self) -> AsyncSession:
        if self.dialect == "sqlite":
            # Read-then-write in a deferred SQLite transaction can fail at once with
            # SQLITE_BUSY (WAL snapshot too old); BEGIN IMMEDIATE waits its turn instead.
            return AsyncSession(self.engine, expire_on_commit=False, execution_options={_IMMEDIATE: True})
        return AsyncSession(self.engine, expire_on_commit=False)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction, committed on success, rolled back on error (SQLite: BEGIN IMMEDIATE)."""
        async with self._one_writer(), self._write_session() as session, session.begin():
            yield session

    @contextlib.asynccontextmanager
    async def _one_writer(self) -> AsyncIterator[None]:
        if self._writer is None:
            yield
            return
        async with self._writer:
            yield

    @contextlib.asynccontextmanager
    async def locked_write(self, lock_user_id: int | None = None, *, lock_user_ids: Iterable[int] = ()
                           ) -> AsyncIterator[AsyncSession]:
        """A write transaction that serialises with every other `locked_write` on the same user(s).

        SQLite: `BEGIN IMMEDIATE` (the whole database's write lock, taken at the start,
        so check-then-insert can't interleave across connections or processes).
        PostgreSQL: `SELECT ... FOR UPDATE` on the user row `lock_user_id` (or the rows of
        `lock_user_ids`, in id order, in one statement); without any, a transaction-scoped
        advisory lock shared by all such writes.
        """
        users = sorted({*lock_user_ids, *(() if lock_user_id is None else (lock_user_id,))})
        async with self._one_writer(), self._write_session() as session, session.begin():
            if self.dialect == "postgresql":
                if users:
                    await session.exec(_LOCK_USERS, params={"user_ids": users})
                else:
                    # sqlmodel's exec() takes no textual SQL: run it on the transaction's connection.
                    await (await session.connection()).execute(sa.text("SELECT pg_advisory_xact_lock(727274)"))
            yield session

    async def aclose(self) -> None:
        await self.engine.dispose()

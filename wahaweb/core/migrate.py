"""Database migrations (alembic; scripts in wahaweb/core/migrations/versions).

    python -m wahaweb.core.migrate                 # upgrade to head (DATABASE_URL or the default SQLite)
    python -m wahaweb.core.migrate current         # show the applied revision
    python -m wahaweb.core.migrate downgrade REV   # e.g. base
    python -m wahaweb.core.migrate revision -m "add x"   # autogenerate from the models
    python -m wahaweb.core.migrate --url URL ...   # any of the above on another database

In code: `await upgrade(url)` or `await upgrade_engine(engine)`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

from wahaweb.core.db import IMMEDIATE_OPTION, make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def _run(engine: AsyncEngine, fn, *args, **kwargs) -> None:
    cfg = alembic_config(str(engine.url))

    def _sync(connection) -> None:
        cfg.attributes["connection"] = connection
        fn(cfg, *args, **kwargs)

    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = await conn.execution_options(**{IMMEDIATE_OPTION: True})
        async with conn.begin():
            if engine.dialect.name == "postgresql":
                # Several workers starting at once: one migrates, the others wait, then see head.
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(727275)"))
            await conn.run_sync(_sync)


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database behind `engine` (idempotent)."""
    await _run(engine, command.upgrade, revision)


async def downgrade_engine(engine: AsyncEngine, revision: str) -> None:
    await _run(engine, command.downgrade, revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` (an async SQLAlchemy URL) to `revision`."""
    engine = make_engine(url)
    try:
        await upgrade_engine(engine, revision)
    finally:
        await engine.dispose()


async def _main_async(args: argparse.Namespace, url: str) -> None:
    engine = make_engine(url)
    try:
        if args.cmd == "upgrade":
            await _run(engine, command.upgrade, args.revision or "head")
        elif args.cmd == "downgrade":
            await _run(engine, command.downgrade, args.revision)
        elif args.cmd == "current":
            await _run(engine, command.current, verbose=True)
        elif args.cmd == "revision":
            await _run(engine, command.revision, message=args.message, autogenerate=True)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wahaweb.core.migrate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cmd", nargs="?", default="upgrade", choices=["upgrade", "downgrade", "current", "revision"])
    parser.add_argument("revision", nargs="?", default=None)
    parser.add_argument("-m", "--message", default="change")
    parser.add_argument("--url", default=None, help="database URL (default: DATABASE_URL / settings)")
    args = parser.parse_args(argv)
    if args.cmd == "downgrade" and not args.revision:
        parser.error("downgrade needs a revision (e.g. base or -1)")
    if args.url:
        url = args.url
    else:
        from wahaweb.settings import Settings

        url = Settings.from_env().database_url
    asyncio.run(_main_async(args, url))
    if args.cmd == "upgrade":
        print(f"wahaweb: database at {_safe(url)} is at the latest schema", file=sys.stderr)
    return 0


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    raise SystemExit(main())

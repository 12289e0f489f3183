"""Migrations: a fresh SQLite and a fresh PostgreSQL both migrate from zero, with plans seeded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from wahaweb.core.db import Database
from wahaweb.core.migrate import downgrade_engine, upgrade_engine

ROOT = Path(__file__).resolve().parents[2]
TABLES = {"alembic_version", "app_setting", "audit_event", "auth_token", "password_reset", "plan", "users",
          "wa_session", "waha_server"}
HEAD = "0005_session_error_code"
PLANS = [("Free", 1), ("Basic", 3), ("Pro", 10), ("Enterprise", 50)]


async def _check_schema(db: Database) -> None:
    async with db.engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
        assert TABLES <= tables
        plans = (await conn.execute(sa.text("SELECT name, session_limit FROM plan ORDER BY session_limit"))).all()
        assert [tuple(p) for p in plans] == PLANS
        version = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar_one()
        assert version == HEAD
        # The committed migrations match the models exactly.
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), SQLModel.metadata))
        assert diff == [], f"models and migrations differ: {diff}"


def test_migrate_command_on_fresh_sqlite(tmp_path):
    """`python -m wahaweb.core.migrate` (what `make run` calls) with DATABASE_URL from the environment."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    for _ in range(2):  # the second run is a no-op
        result = subprocess.run([sys.executable, "-m", "wahaweb.core.migrate"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
    import asyncio

    async def check():
        db = Database.from_url(url)
        try:
            await _check_schema(db)
            async with db.engine.connect() as conn:
                assert (await conn.execute(sa.text("PRAGMA journal_mode"))).scalar_one() == "wal"
        finally:
            await db.aclose()

    asyncio.run(check())


async def test_sqlite_down_to_base_and_up_again(sqlite_url):
    db = Database.from_url(sqlite_url)
    try:
        await upgrade_engine(db.engine)
        await _check_schema(db)
        await downgrade_engine(db.engine, "base")
        async with db.engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
        assert tables <= {"alembic_version"}
        await upgrade_engine(db.engine)
        await _check_schema(db)
    finally:
        await db.aclose()


async def test_sqlite_at_0001_with_users_upgrades_to_language_and_resets(sqlite_url):
    """An existing install (schema 0001, a user in it) upgrades: the user is kept and follows
    the browser's language (NULL) until he picks one; the reset table is there and empty."""
    db = Database.from_url(sqlite_url)
    try:
        await upgrade_engine(db.engine, "0001")
        async with db.engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO users (email, password_hash, role, plan_id, active, created_at) "
                "VALUES ('old@example.com', 'x', 'admin', NULL, 1, '2026-01-01 00:00:00')"))
        await upgrade_engine(db.engine)
        await _check_schema(db)
        async with db.engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT email, language FROM users"))).all()
            assert [tuple(r) for r in rows] == [("old@example.com", None)]
            assert (await conn.execute(sa.text("SELECT count(*) FROM password_reset"))).scalar_one() == 0
        await downgrade_engine(db.engine, "0001")
        async with db.engine.connect() as conn:
            columns = await conn.run_sync(lambda c: [col["name"] for col in sa.inspect(c).get_columns("users")])
            assert "language" not in columns
            assert (await conn.execute(sa.text("SELECT count(*) FROM users"))).scalar_one() == 1
    finally:
        await db.aclose()


async def test_sqlite_at_0003_with_servers_upgrades_to_one_random_webhook_token_each(sqlite_url):
    db = Database.from_url(sqlite_url)
    try:
        await upgrade_engine(db.engine, "0003_waha_servers")
        async with db.engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO waha_server (name, base_url, capacity, enabled, draining, created_at) VALUES "
                "('a', 'http://a:3000', 5, 1, 0, '2026-01-01 00:00:00'), ('b', 'http://b:3000', 5, 1, 0, '2026-01-01 00:00:00')"))
        await upgrade_engine(db.engine)
        await _check_schema(db)
        async with db.engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT name, webhook_token, event_source FROM waha_server "
                                               "ORDER BY name"))).all()
        tokens = [r[1] for r in rows]
        assert [r[0] for r in rows] == ["a", "b", "default"]  # 0003 made the placeholder `default`
        assert all(len(t) >= 40 for t in tokens) and len(set(tokens)) == 3
        assert [r[2] for r in rows] == [None, None, None]
        await downgrade_engine(db.engine, "0003_waha_servers")
        async with db.engine.connect() as conn:
            columns = await conn.run_sync(lambda c: [col["name"] for col in sa.inspect(c).get_columns("waha_server")])
        assert "webhook_token" not in columns and "event_source" not in columns
    finally:
        await db.aclose()


@pytest.mark.postgres
async def test_fresh_postgresql_migrates_from_zero(pg_url):
    db = Database.from_url(pg_url)
    try:
        async with db.engine.connect() as conn:
            assert (await conn.execute(sa.text("SELECT count(*) FROM information_schema.tables "
                                               "WHERE table_schema = current_schema()"))).scalar_one() == 0
        await upgrade_engine(db.engine)
        await upgrade_engine(db.engine)  # idempotent
        await _check_schema(db)
        async with db.engine.connect() as conn:
            kind = (await conn.execute(sa.text(
                "SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = 'wa_session' AND column_name = 'created_at'"))).scalar_one()
        assert kind == "timestamp with time zone"
        await downgrade_engine(db.engine, "base")
        await upgrade_engine(db.engine)
        await _check_schema(db)
    finally:
        await db.aclose()


@pytest.mark.postgres
def test_migrate_command_on_fresh_postgresql(pg_url):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "wahaweb.core.migrate", "--url", pg_url], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "latest schema" in result.stderr

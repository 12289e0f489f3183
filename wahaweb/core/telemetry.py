"""What core tells the metrics that it alone can know: session counts from the database.

The `Metrics` object itself (wahaweb.observability) has no database; the Core hands it
`session_counts` as the source it reads at each scrape, so the gauge is the truth of the
database (the same on every worker), not a per-process tally that could drift.
"""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from sqlmodel import col, select

from wahaweb.core.db import Database
from wahaweb.core.models import WaSession
from wahaweb.core.status import ALL_STATUSES

EMBEDDED_SERVER = "embedded"


def server_label(embedded: bool, base_url: str) -> str:
    """How metrics name a WAHA server: its URL without credentials, or `embedded`."""
    if embedded:
        return EMBEDDED_SERVER
    url = httpx.URL(base_url)
    if url.userinfo:
        url = url.copy_with(username=None, password=None)
    return str(url).rstrip("/")


async def session_counts(db: Database, server: str) -> dict[tuple[str, str], int]:
    """(state, server) -> number of sessions; every state present, 0 when none.

    One WAHA server per install today: every row is on `server`.
    """
    counts = {(state, server): 0 for state in ALL_STATUSES}
    async with db.session() as s:
        rows = await s.exec(select(WaSession.status, sa.func.count()).group_by(col(WaSession.status)))
        for state, count in rows.all():
            counts[(state, server)] = int(count)
    return counts

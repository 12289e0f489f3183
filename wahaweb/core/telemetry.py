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
    """(state, server) -> number of sessions; every state present for every server, 0 when none.

    `server` is the label of the `default` server (its URL, or `embedded`); every other server
    is labelled by its URL, so a dashboard sees the load of each WAHA.
    """
    from wahaweb.core.models import WahaServer  # the table came with issue 12

    async with db.session() as s:
        servers = (await s.exec(select(col(WahaServer.id), WahaServer.name, WahaServer.base_url))).all()
        labels = {sid: server if name == "default" or not url else server_label(False, url)
                  for sid, name, url in servers}
        counts = {(state, label): 0 for state in ALL_STATUSES for label in {server, *labels.values()}}
        rows = await s.exec(select(WaSession.status, col(WaSession.server_id), sa.func.count())
                            .group_by(col(WaSession.status), col(WaSession.server_id)))
        for state, server_id, count in rows.all():
            key = (state, labels.get(server_id, server))
            counts[key] = counts.get(key, 0) + int(count)
    return counts

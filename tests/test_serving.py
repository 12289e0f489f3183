"""A worker that dies is replaced; it does not take the other workers (and every tab) down."""

from __future__ import annotations

from granian.server import MPServer

from wahaweb.serving import respawn_failed_workers


def test_granian_servers_respawn_failed_workers_unless_told_otherwise():
    respawn_failed_workers()
    respawn_failed_workers()  # idempotent
    assert MPServer(target="wahaweb.wahaweb:app").respawn_failed_workers is True
    assert MPServer(target="wahaweb.wahaweb:app", respawn_failed_workers=False).respawn_failed_workers is False

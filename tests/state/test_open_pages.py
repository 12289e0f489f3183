"""The open-pages gauge counts this worker's own sockets only."""

from __future__ import annotations

from types import SimpleNamespace

from reflex.utils.token_manager import LocalTokenManager, SocketRecord

from wahaweb.state.open_pages import open_pages


def test_a_socket_of_another_worker_this_one_looked_up_is_not_one_of_its_open_pages():
    """With Redis, Reflex's token manager caches other workers' sockets it looked up (to relay a push);
    the gauge, summed over the workers, counted such a page once per worker that had pushed to it."""
    sockets = LocalTokenManager()
    sockets.token_to_socket["mine"] = SocketRecord(instance_id=sockets.instance_id, sid="sid-1")
    sockets.token_to_socket["theirs"] = SocketRecord(instance_id="another-worker", sid="sid-2")
    sockets.sid_to_token.update({"sid-1": "mine", "sid-2": "theirs"})
    app = SimpleNamespace(event_namespace=SimpleNamespace(_token_manager=sockets, sid_to_token=sockets.sid_to_token))
    assert open_pages(app) == 1
    assert open_pages(SimpleNamespace(event_namespace=None)) == 0  # before the namespace exists

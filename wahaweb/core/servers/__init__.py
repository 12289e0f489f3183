"""WAHA servers as data: the registry (rows, clients, probes), placement, key encryption."""

from wahaweb.core.servers.crypto import KeyBox, ServerKeyUnreadable
from wahaweb.core.servers.placement import NoCapacity, Placement, Pool, open_pool
from wahaweb.core.servers.registry import DEFAULT_SERVER, ServerRegistry, effective_capacity, single_session

__all__ = ["DEFAULT_SERVER", "KeyBox", "NoCapacity", "Placement", "ServerKeyUnreadable", "ServerRegistry",
           "Pool", "effective_capacity", "open_pool", "single_session"]

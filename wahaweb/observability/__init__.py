"""Operators' view of a running wahaweb: logs on stdout and Prometheus metrics.

    from wahaweb.observability import configure_logging, Metrics
    configure_logging()            # once per process (rxconfig.py calls it)
    metrics = Metrics()            # one per Core; owns its CollectorRegistry

No Reflex and no core import here: core and the WAHA client record into it, and the
API layer exposes it.
"""

from wahaweb.observability.log_config import configure_logging
from wahaweb.observability.log_context import bind, log_context
from wahaweb.observability.metrics import Metrics
from wahaweb.observability.redact import RedactingFilter, Redactor

__all__ = ["Metrics", "RedactingFilter", "Redactor", "bind", "configure_logging", "log_context"]

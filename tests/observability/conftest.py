"""Fixtures of the logging tests."""

from __future__ import annotations

import io
import logging

import pytest

from wahaweb.observability.log_config import HANDLER_MARK, configure_logging


@pytest.fixture
def captured():
    """wahaweb's handler on a string buffer (removed afterwards)."""
    root = logging.getLogger()
    before = [h for h in root.handlers if getattr(h, HANDLER_MARK, False)]
    for h in before:
        root.removeHandler(h)
    buf = io.StringIO()

    def install(fmt: str = "text", **env: str) -> io.StringIO:
        configure_logging({"WAHAWEB_LOG_FORMAT": fmt, **env}, stream=buf, force=True)
        return buf

    yield install
    for h in [h for h in root.handlers if getattr(h, HANDLER_MARK, False)]:
        root.removeHandler(h)
    for h in before:
        root.addHandler(h)

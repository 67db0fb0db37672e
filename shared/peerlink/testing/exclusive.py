"""Tests that stop a server take it from every other test session on the machine first.

Every test holds a shared lock on one file for as long as it runs; a test marked
``restarts_broker`` or ``restarts_database`` holds it exclusively, so that a broker or database
restart never lands in the middle of another session's test (several developers, or CI and a
developer, share this machine's servers). In a single session the lock costs one ``flock``.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

RESTARTING_MARKERS = ("restarts_broker", "restarts_database")


def _lock_path() -> Path:
    default = Path(tempfile.gettempdir()) / "peerlink-test-servers.lock"
    return Path(os.environ.get("PEERLINK_TEST_SERVERS_LOCK", default))


@pytest.fixture(autouse=True)
def servers_lock(request: pytest.FixtureRequest) -> Iterator[None]:
    restarts = any(request.node.get_closest_marker(name) for name in RESTARTING_MARKERS)
    path = _lock_path()
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if restarts else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

"""What every benchmark needs: the servers it may use (loopback only), a throwaway vhost or
database per phase (removed afterwards, so nothing outlives a run), and its results file."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa

from peerlink.broker_admin import ManagementApi
from peerlink.db import create_engine, normalize_url
from peerlink.testing import LOCAL_AMQP, LOCAL_POSTGRES

AMQP_URL = os.environ.get("PEERLINK_TEST_AMQP_URL", LOCAL_AMQP)
POSTGRES_URL = os.environ.get("PEERLINK_TEST_DATABASE_URL", LOCAL_POSTGRES)
RESULTS = Path("bench-results")


@contextlib.contextmanager
def throwaway_vhost() -> Iterator[str]:
    """A fresh vhost, so that no queue or message outlives its phase."""
    api = ManagementApi.for_amqp_url(AMQP_URL)
    vhost = f"bench-{uuid.uuid4().hex[:12]}"
    parts = urlsplit(AMQP_URL)
    api.ensure_vhost(vhost, parts.username or "guest")
    try:
        yield urlunsplit((parts.scheme, parts.netloc, "/" + vhost, "", ""))
    finally:
        api.delete_vhost(vhost)


@contextlib.contextmanager
def throwaway_database(backend: str, folder: Path, prepare: Callable[[str], None]) -> Iterator[str]:
    """A fresh SQLite file in ``folder`` or PostgreSQL schema, ``prepare``d (migrated) before use."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / f'{uuid.uuid4().hex[:12]}.db'}"
        prepare(url)
        yield url
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = normalize_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    try:
        prepare(rendered)
        yield rendered
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def write_results(name: str, report: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return path

"""What every benchmark needs: the servers it may use (loopback only), a throwaway vhost or
database per phase (removed afterwards, so nothing outlives a run), and its results file."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import sqlalchemy as sa

from peerlink.broker_admin import ManagementApi
from peerlink.db import create_engine, normalize_url
from peerlink.testing import LOCAL_AMQP, LOCAL_POSTGRES

AMQP_URL = os.environ.get("PEERLINK_TEST_AMQP_URL", LOCAL_AMQP)
POSTGRES_URL = os.environ.get("PEERLINK_TEST_DATABASE_URL", LOCAL_POSTGRES)
RESULTS = Path("bench-results")


def is_loopback(url: str) -> bool:
    """Whether every host ``url`` names is this machine's loopback (127.0.0.0/8, ::1, localhost).
    A SQLite file is local; a URL without a host is a local socket, unless its query names one
    (libpq's ``?host=``)."""
    parts = urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        return True
    hosts = [parts.hostname or ""] + [h for value in parse_qs(parts.query).get("host", []) for h in value.split(",")]
    return all(_loopback_host(host) for host in hosts)


def _loopback_host(host: str) -> bool:
    if host in ("", "localhost") or host.startswith("/"):  # no host or a socket directory: this machine
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost could resolve anywhere


def loopback_only(urls: Mapping[str, str]) -> None:
    """Refuse to run (exit with the reason) when a server URL (``{what: url}``) is not on the
    loopback: a load generator puts its load on 127.0.0.1 only, never on a shared or production
    server that a stray environment variable pointed at."""
    elsewhere = {what: url for what, url in urls.items() if not is_loopback(url)}
    if elsewhere:
        named = ", ".join(f"{what}={_without_password(url)}" for what, url in elsewhere.items())
        raise SystemExit(f"refused: the load goes to 127.0.0.1 only, and these are elsewhere: {named}")


def _without_password(url: str) -> str:
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)


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

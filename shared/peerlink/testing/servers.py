"""Where the real servers come from, and a fresh vhost, schema or file per test.

1. ``PEERLINK_TEST_AMQP_URL`` / ``PEERLINK_TEST_DATABASE_URL`` when set (CI sets them);
2. else testcontainers, when a Docker engine answers;
3. else the local servers on 127.0.0.1, as this project's machines run them.

With ``CI=true`` a server that does not answer fails the test run; elsewhere it skips the
tests that need it, saying which server and how to start it.
"""

from __future__ import annotations

import functools
import os
import socket
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa

from peerlink.db import create_engine, normalize_url

LOCAL_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
LOCAL_POSTGRES = "postgresql://127.0.0.1:5432/test"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(what: str, how: str) -> None:
    message = f"{what} is not available: {how}"
    if _in_ci():
        pytest.fail(f"{message} (CI=true: a missing server is a failure)", pytrace=False)
    pytest.skip(message)


def _answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


@functools.cache
def _docker_engine() -> bool:
    """Whether a Docker engine answers (asked once a session)."""
    if not os.environ.get("DOCKER_HOST") and not Path("/var/run/docker.sock").exists():
        return False
    try:
        import docker  # type: ignore[import-not-found]

        client = docker.from_env()
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - no SDK, no socket, no engine: all mean "no Docker"
        return False


@dataclass
class Broker:
    root_url: str
    management_url: str

    def vhost_url(self, vhost: str) -> str:
        parts = urlsplit(self.root_url)
        return urlunsplit((parts.scheme, parts.netloc, "/" + vhost, "", ""))


@pytest.fixture(scope="session")
def broker() -> Iterator[Broker]:
    from peerlink.broker_admin import ManagementApi

    url = os.environ.get("PEERLINK_TEST_AMQP_URL")
    container = None
    if not url and _docker_engine():
        with warnings.catch_warnings():  # testcontainers' own deprecations, not ours
            warnings.simplefilter("ignore", DeprecationWarning)
            from testcontainers.community.rabbitmq import RabbitMqContainer  # type: ignore[import-not-found]

        container = RabbitMqContainer("rabbitmq:3.10-management").with_exposed_ports(5672, 15672)
        container.start()
        host = container.get_container_host_ip()
        url = f"amqp://guest:guest@{host}:{container.get_exposed_port(5672)}/"
        management = f"http://guest:guest@{host}:{container.get_exposed_port(15672)}"
    else:
        url = url or LOCAL_AMQP
        management = os.environ.get("PEERLINK_TEST_RABBITMQ_MANAGEMENT_URL") or ManagementApi.for_amqp_url(url).url
    if not _answers(url, 5672):
        _unavailable(
            "RabbitMQ",
            f"nothing answers at {urlsplit(url).netloc.split('@')[-1]}; start it with `rabbitmq-server -detached`",
        )
    if not ManagementApi(management).reachable():
        _unavailable("RabbitMQ's management API", "enable it with `rabbitmq-plugins enable rabbitmq_management`")
    try:
        yield Broker(url, management)
    finally:
        if container is not None:
            container.stop()


@pytest.fixture
def new_vhost(broker: Broker) -> Iterator[Callable[[str], str]]:
    """A factory of fresh vhosts (a site, the central office), each deleted afterwards."""
    from peerlink.broker_admin import ManagementApi

    api = ManagementApi(broker.management_url)
    user = urlsplit(broker.root_url).username or "guest"
    made: list[str] = []

    def make(name: str) -> str:
        vhost = f"test-{name}-{uuid.uuid4().hex[:8]}"
        api.ensure_vhost(vhost, user)
        made.append(vhost)
        return broker.vhost_url(vhost)

    try:
        yield make
    finally:
        for vhost in made:
            api.delete_vhost(vhost)


@pytest.fixture
def amqp_url(broker: Broker) -> Iterator[str]:
    """A fresh vhost for this test alone, deleted afterwards."""
    from peerlink.broker_admin import ManagementApi

    api = ManagementApi(broker.management_url)
    vhost = f"test-{uuid.uuid4().hex[:12]}"
    user = urlsplit(broker.root_url).username or "guest"
    api.ensure_vhost(vhost, user)
    try:
        yield broker.vhost_url(vhost)
    finally:
        api.delete_vhost(vhost)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    url = os.environ.get("PEERLINK_TEST_DATABASE_URL")
    container = None
    if not url and _docker_engine():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from testcontainers.community.postgres import PostgresContainer  # type: ignore[import-not-found]

        container = PostgresContainer("postgres:16", driver="psycopg")
        container.start()
        url = container.get_connection_url()
    url = url or LOCAL_POSTGRES
    if not _answers(url, 5432):
        _unavailable(
            "PostgreSQL", f"nothing answers at {urlsplit(url).netloc.split('@')[-1]}; start it with pg_ctlcluster"
        )
    try:
        yield url
    finally:
        if container is not None:
            container.stop()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh schema in the test database, as the search path of every connection."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = normalize_url(postgres_server).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that asks for this runs on SQLite and on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


# A test with no storage question in it (what a handler decides, a page's wording) runs on one
# store; one about PostgreSQL's locks or SQL alone, on PostgreSQL. Either is this parameter of
# ``database_url`` narrowed, not a skip: the other run is never made.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def new_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """A factory of fresh databases (one per service), on SQLite and on PostgreSQL."""
    backend = getattr(request, "param", "sqlite")
    schemas: list[str] = []
    admin = None

    def make(name: str) -> str:
        nonlocal admin
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'{name}.db'}"
        server = request.getfixturevalue("postgres_server")
        admin = admin or create_engine(server, poolclass=sa.pool.NullPool)
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        url = normalize_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    yield make
    if admin is not None:
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

"""Fixtures every Peerlink test suite uses (a pytest plugin, loaded by entry point).

The real servers, never fakes: a fresh RabbitMQ vhost per test, a fresh PostgreSQL schema
or SQLite file per test, a real SMTP server (aiosmtpd). Where they come from:

1. ``PEERLINK_TEST_AMQP_URL`` / ``PEERLINK_TEST_DATABASE_URL`` when set (CI sets them);
2. else testcontainers, when a Docker engine answers;
3. else the local servers on 127.0.0.1, as this project's machines run them.

With ``CI=true`` a server that does not answer fails the test run; elsewhere it skips the
tests that need it, saying which server and how to start it.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any
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


def _docker_engine() -> Any | None:
    """A Docker client if an engine answers; testcontainers is optional (the ``docker`` extra)."""
    try:
        import docker  # type: ignore[import-not-found]

        client = docker.from_env()
        client.ping()
        return client
    except Exception:  # noqa: BLE001 - no SDK, no socket, no engine: all mean "no Docker"
        return None


def wait_until(predicate: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.02, what: str = "") -> Any:
    """Poll real state until ``predicate`` is truthy; fail saying what never happened."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate} (last: {last!r})")


# Broker ---------------------------------------------------------------------------------


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
    if not url and _docker_engine() is not None:
        from testcontainers.rabbitmq import RabbitMqContainer  # type: ignore[import-not-found]

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


# Databases ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    url = os.environ.get("PEERLINK_TEST_DATABASE_URL")
    container = None
    if not url and _docker_engine() is not None:
        from testcontainers.postgres import PostgresContainer  # type: ignore[import-not-found]

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


# Running background components ------------------------------------------------------------


@dataclass
class Running:
    """A component running in a thread; stopping it re-raises whatever killed it."""

    component: Any
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self) -> Running:
        def target() -> None:
            try:
                self.component.run(self.stop)
            except BaseException as exc:  # noqa: BLE001 - surfaced in halt()
                self.error = exc

        self.thread = threading.Thread(target=target, daemon=True, name=type(self.component).__name__)
        self.thread.start()
        return self

    def halt(self, timeout: float = 15.0) -> None:
        self.stop.set()
        if self.thread:
            self.thread.join(timeout)
            assert not self.thread.is_alive(), f"{self.component!r} did not stop within {timeout}s"
        if self.error:
            raise self.error


@contextlib.contextmanager
def running(*components: Any) -> Iterator[list[Running]]:
    started = [Running(c).start() for c in components]
    try:
        yield started
    finally:
        for item in started:
            item.halt()


# Spying on an exchange --------------------------------------------------------------------


class ExchangeSpy:
    """A queue of our own bound to an exchange, to read exactly what was published on it."""

    def __init__(self, amqp_url: str, exchange: str, binding: str = "#"):
        from peerlink.amqp import connect
        from peerlink.topology import declare_exchanges

        self.connection = connect(amqp_url, name="test-spy")
        self.channel = self.connection.channel()
        declare_exchanges(self.channel)
        self.queue = f"spy-{uuid.uuid4().hex[:8]}"
        self.channel.queue_declare(self.queue, exclusive=True, auto_delete=True)
        self.channel.queue_bind(self.queue, exchange, binding)
        self.received: list[Any] = []

    def drain(self) -> list[Any]:
        while True:
            message = self.channel.basic_get(self.queue, no_ack=True)
            if message is None:
                return self.received
            self.received.append(message)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Any]:
        wait_until(lambda: len(self.drain()) >= count, timeout=timeout, what=f"{count} messages on the spy queue")
        return self.received

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.connection.release()


@pytest.fixture
def spy(amqp_url: str) -> Iterator[Callable[..., ExchangeSpy]]:
    spies: list[ExchangeSpy] = []

    def make(exchange: str, binding: str = "#", url: str | None = None) -> ExchangeSpy:
        spies.append(ExchangeSpy(url or amqp_url, exchange, binding))
        return spies[-1]

    yield make
    for item in spies:
        item.close()


# SMTP -----------------------------------------------------------------------------------


class SmtpSink:
    """A real SMTP server (aiosmtpd) on loopback; :meth:`refuse` makes it answer an error for a while."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        self.refuse_next = 0
        self.refusal = "451 4.3.0 Try again later"
        self.refused = 0
        self._lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                with sink._lock:
                    if sink.refuse_next > 0:
                        sink.refuse_next -= 1
                        sink.refused += 1
                        return sink.refusal
                    message = message_from_bytes(envelope.original_content or envelope.content)
                    message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
                    sink.messages.append(message)
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=_free_port())
        self.controller.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    def refuse(self, times: int, reply: str = "451 4.3.0 Try again later") -> None:
        """Answer the next ``times`` messages with ``reply`` (4xx: try later; 5xx: never)."""
        with self._lock:
            self.refuse_next = times
            self.refusal = reply

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Message]:
        wait_until(lambda: len(self.messages) >= count, timeout=timeout, what=f"{count} emails at the SMTP server")
        return self.messages

    def stop(self) -> None:
        self.controller.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    try:
        yield sink
    finally:
        sink.stop()


free_port = _free_port


# Services under test ------------------------------------------------------------------------


def settings_for(
    service: str,
    *,
    database_url: str,
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/unused",
    site: str = "ebbw-vale",
    tokens: str = "",
    **extra: str,
) -> Any:
    """Settings as a service would load them from this environment."""
    from peerlink.config import load_settings

    environ = {
        "PEERLINK_SITE": site,
        "PEERLINK_DATABASE_URL": database_url,
        "PEERLINK_AMQP_URL": amqp_url,
        "PEERLINK_API_TOKENS": tokens,
        "PEERLINK_RETRY_DELAYS": "100ms,200ms",
        **extra,
    }
    return load_settings(service, default_port=free_port(), environ=environ)


@dataclass
class Tokens:
    """Issues real tokens and the ``PEERLINK_API_TOKENS`` value that accepts them."""

    issued: dict[tuple[str, str], str] = field(default_factory=dict)

    def token(self, role: str = "coordinator", site: str = "ebbw-vale") -> str:
        from peerlink.web.auth import new_token

        return self.issued.setdefault((role, site), new_token())

    def header(self, role: str = "coordinator", site: str = "ebbw-vale") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, site)}"}

    def config(self) -> str:
        from peerlink.web.auth import token_entry

        return ",".join(token_entry(tok, role, site) for (role, site), tok in self.issued.items())


@pytest.fixture
def tokens() -> Tokens:
    issued = Tokens()
    for role in ("coordinator", "mentor", "facilitator", "central-reader", "service"):
        issued.token(role, "ebbw-vale")
    issued.token("coordinator", "merthyr")
    return issued


def migrate(migrations: Any, url: str) -> None:
    migrations.upgrade(url)


def assert_migrations_match_models(migrations: Any, url: str) -> None:
    """After upgrading to head, the models and the database schema agree exactly."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    migrations.upgrade(url)
    engine = create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, _merged(migrations.target_metadata()))
    finally:
        engine.dispose()
    assert differences == [], f"models and migrations differ: {differences}"


def _merged(metadatas: list[sa.MetaData]) -> sa.MetaData:
    merged = sa.MetaData()
    for metadata in metadatas:
        for table in metadata.tables.values():
            table.to_metadata(merged)
    return merged


# Small helpers for assertions --------------------------------------------------------------


def count_rows(engine: sa.Engine, table: sa.Table, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())


def sample_data(event_type: Any, **overrides: Any) -> dict[str, Any]:
    """An event type's example, loaded, with fresh ids for every uuid field, and overrides."""
    from datetime import UTC, datetime

    from marshmallow import fields as ma_fields

    data = event_type.load(event_type.example)
    for name, schema_field in event_type.schema().fields.items():
        if isinstance(schema_field, ma_fields.UUID) and name in data:
            data[name] = uuid.uuid4()
        if isinstance(schema_field, ma_fields.AwareDateTime) and name in data:
            data[name] = datetime.now(UTC)
    data.update(overrides)
    return data


def make_envelope(
    event_type: Any,
    data: dict[str, Any] | None = None,
    *,
    site: str = "ebbw-vale",
    service: str = "referrals",
    subject: str | None = None,
) -> Any:
    """An envelope as a producer would emit it, without a database."""
    from datetime import UTC, datetime

    from peerlink.envelope import Envelope, new_event_id

    return Envelope(
        id=new_event_id(),
        source=f"/sites/{site}/{service}",
        type=event_type.name,
        subject=subject or str(uuid.uuid4()),
        time=datetime.now(UTC),
        site=site,
        sequence=1,
        data=event_type.dump(data if data is not None else sample_data(event_type)),
        correlationid=str(uuid.uuid4()),
    )


def publish_raw(
    amqp_url: str,
    exchange: str,
    routing_key: str,
    bodies: list[bytes],
    *,
    message_ids: list[str] | None = None,
    types: list[str] | None = None,
) -> None:
    """Publish bodies as they are (valid or not), confirmed, as a misbehaving producer would."""
    from peerlink.amqp import ConfirmingPublisher, OutgoingMessage, connect
    from peerlink.topology import declare_exchanges

    connection = connect(amqp_url, name="test-publisher")
    try:
        publisher = ConfirmingPublisher(connection)
        declare_exchanges(publisher.channel)
        results = publisher.publish(
            [
                OutgoingMessage(
                    exchange=exchange,
                    routing_key=routing_key,
                    body=body,
                    message_id=(message_ids or [])[i] if message_ids else str(uuid.uuid4()),
                    type=(types or [])[i] if types else "",
                )
                for i, body in enumerate(bodies)
            ]
        )
        assert all(results), "the broker did not confirm every test message"
    finally:
        connection.release()


def publish_envelopes(amqp_url: str, envelopes: list[Any]) -> None:
    from peerlink.contracts import CATALOGUE

    for envelope in envelopes:
        event_type = CATALOGUE[envelope.type]
        publish_raw(
            amqp_url,
            event_type.exchange,
            event_type.routing_key(envelope.site),
            [envelope.to_json()],
            message_ids=[envelope.id],
            types=[envelope.type],
        )


def queue_consumers(amqp_url: str, queue: str) -> int:
    """How many consumers a queue has (0 if it does not exist yet)."""
    from peerlink.amqp import connect

    connection = connect(amqp_url, name="test-probe")
    try:
        _, _, consumers = connection.channel().queue_declare(queue, passive=True)
        return int(consumers)
    except Exception:  # noqa: BLE001 - a missing queue closes the channel: nobody consumes it
        return 0
    finally:
        connection.release()


def wait_for_consumer(amqp_url: str, queue: str, timeout: float = 15.0) -> None:
    wait_until(lambda: queue_consumers(amqp_url, queue) > 0, timeout=timeout, what=f"a consumer on {queue}")


def assert_service_starts(definition: Any, database_url: str) -> None:
    """A service migrates, builds its app, and answers health and OpenAPI without a token."""
    assert_migrations_match_models(definition.migrations, database_url)
    app = definition.create_app(settings_for(definition.name, database_url=database_url))
    try:
        client = app.test_client()
        assert client.get("/health/live").status_code == 200
        document = client.get("/openapi.json").get_json()
        assert document["info"]["title"] == f"Peerlink {definition.name}"
        assert client.get("/metrics").status_code == 200
    finally:
        app.extensions["peerlink"].engine.dispose()


# Real service processes -----------------------------------------------------------------------


class ServiceProcess:
    """A service command (``peerlink-<service> serve|work``) running as its own process.

    Its output goes to a log file that is printed if the test fails while it runs.
    """

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path):
        self.args = args
        self.env = env
        self.log_path = log_path
        self.process: Any = None

    def start(self) -> ServiceProcess:
        import subprocess
        import sys

        path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - our own console scripts
            self.args, env={"PATH": path, **self.env}, stdout=self._log, stderr=subprocess.STDOUT
        )
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, as a crash or an OOM kill would."""
        import signal

        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except Exception:  # noqa: BLE001 - a process that ignores SIGTERM gets SIGKILL
                self.kill()
        if getattr(self, "_log", None):
            self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def assert_alive(self) -> None:
        assert self.process.poll() is None, f"{' '.join(self.args)} exited:\n{self.output()[-4000:]}"


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """Start service processes; all are stopped (and their logs shown on failure) at the end."""
    started: list[ServiceProcess] = []

    def start(*args: str, env: dict[str, str]) -> ServiceProcess:
        name = "-".join(a.replace("/", "_") for a in args)[:60]
        process = ServiceProcess(list(args), env, tmp_path / f"{name}-{len(started)}.log").start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
    for process in started:
        output = process.output()
        if output:
            print(f"--- {' '.join(process.args)} ---\n{output[-3000:]}")


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


def wait_for_http(url: str, timeout: float = 30.0) -> None:
    import httpx

    def answers() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(answers, timeout=timeout, what=f"{url} to answer")


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})?")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"(\+44\s?|\b0)7\d{3}\s?\d{6}\b|\+\d{10,14}\b")


def find_personal_data(text: str, known: tuple[str, ...] = ()) -> list[str]:
    """Emails, phone numbers and any of ``known`` (names, dates of birth) found in ``text``.

    Ids and timestamps are taken out first, so that their digits are not taken for a phone.
    """
    cleaned = _TIMESTAMP.sub(" ", _UUID.sub(" ", text))
    found = [m.group(0) for m in _EMAIL.finditer(cleaned)] + [m.group(0) for m in _PHONE.finditer(cleaned)]
    found += [value for value in known if value and value.lower() in text.lower()]
    return found

"""Services under test: their settings and tokens, their migrations, their real processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from peerlink.db import create_engine
from peerlink.testing.servers import free_port


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

    def terminate(self) -> None:
        """SIGTERM: asks the process to finish what it holds and go (see ``stop`` to wait)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()

    def stop(self) -> None:
        self.terminate()
        if self.process and self.process.poll() is None:
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
    for process in started:  # all asked at once: their shutdowns overlap instead of adding up
        process.terminate()
    for process in started:
        process.stop()
    for process in started:
        output = process.output()
        if output:
            print(f"--- {' '.join(process.args)} ---\n{output[-3000:]}")

"""One console script per service, ``peerlink-<service>``, with the same subcommands:

``serve`` (HTTP API under gunicorn), ``work`` (consumers, relay and other background
components), ``migrate``, ``parked list|replay``, ``openapi``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click
from flask import Flask

from peerlink import parking
from peerlink.config import ConfigError, Settings
from peerlink.db import create_engine
from peerlink.logging import configure_logging, logging_config
from peerlink.service import ServiceDefinition
from peerlink.topology import ConsumerQueues
from peerlink.worker import run_components


def _settings_or_exit(definition: ServiceDefinition) -> Settings:
    try:
        settings = definition.settings()
    except ConfigError as exc:
        click.echo(f"peerlink-{definition.name}: {exc}", err=True)
        sys.exit(2)
    configure_logging(settings.service, settings.site, settings.log_level)
    return settings


def _migrated_or_exit(definition: ServiceDefinition, settings: Settings) -> None:
    """A service on an old schema would fail every write; say so once, at start."""
    if not definition.migrations.is_current(settings.database_url):
        click.echo(
            f"peerlink-{definition.name}: the database is not at the latest migration; "
            f"run `peerlink-{definition.name} migrate` first",
            err=True,
        )
        sys.exit(2)


def _app_or_exit(definition: ServiceDefinition, settings: Settings) -> None:
    """Build the app once before gunicorn does, so that a setting the app checks (a scale file,
    a proxy count) stops ``serve`` in one line rather than in a worker's traceback."""
    try:
        app = definition.create_app(settings)
    except ConfigError as exc:
        click.echo(f"peerlink-{definition.name}: {exc}", err=True)
        sys.exit(2)
    app.extensions["peerlink"].engine.dispose()


def service_cli(definition: ServiceDefinition) -> click.Group:
    @click.group(help=f"The Peerlink {definition.name} service.")
    def cli() -> None:
        pass

    @cli.command(help="Serve the HTTP API under gunicorn.")
    @click.option("--workers", default=1, show_default=True, help="Worker processes.")
    @click.option("--threads", default=8, show_default=True, help="Threads per worker.")
    @click.option("--host", default="127.0.0.1", show_default=True)
    def serve(workers: int, threads: int, host: str) -> None:
        settings = _settings_or_exit(definition)
        _migrated_or_exit(definition, settings)
        _app_or_exit(definition, settings)
        _Gunicorn(
            lambda: definition.create_app(settings),
            {
                "bind": f"{host}:{settings.port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "errorlog": "-",
                "loglevel": settings.log_level.lower(),
                "logconfig_dict": logging_config(settings.service, settings.site, settings.log_level),
                "control_socket_disable": True,
                "proc_name": f"peerlink-{definition.name}",
                "graceful_timeout": 20,
            },
        ).run()

    @cli.command(help="Run the consumers, the outbox relay and the other background work.")
    @click.option("--only", multiple=True, help="Run only these components (e.g. relay).")
    def work(only: tuple[str, ...]) -> None:
        settings = _settings_or_exit(definition)
        _migrated_or_exit(definition, settings)
        engine = create_engine(settings.database_url)
        try:
            components = definition.components(settings, engine)
        except ConfigError as exc:
            click.echo(f"peerlink-{definition.name}: {exc}", err=True)
            sys.exit(2)
        if only:
            unknown = set(only) - set(components)
            if unknown:
                raise click.UsageError(f"unknown components {sorted(unknown)}; known: {sorted(components)}")
            components = {k: v for k, v in components.items() if k in only}
        sys.exit(run_components(components))

    @cli.command(help="Bring the database schema up to date.")
    @click.option("--revision", default="head", show_default=True)
    def migrate(revision: str) -> None:
        settings = _settings_or_exit(definition)
        definition.migrations.upgrade(settings.database_url, revision)
        click.echo(f"peerlink-{definition.name} ({settings.site}): database at {revision}")

    @cli.command("make-migration", help="For developers: write a migration from the model changes.")
    @click.argument("message")
    def make_migration(message: str) -> None:
        settings = _settings_or_exit(definition)
        definition.migrations.revision(settings.database_url, message)

    @cli.command(help="Print the OpenAPI document.")
    def openapi() -> None:
        settings = _settings_or_exit(definition)
        app = definition.create_app(settings)
        with app.test_client() as client:
            click.echo(json.dumps(client.get("/openapi.json").get_json(), indent=2, ensure_ascii=False))

    @cli.group(help="Messages a consumer gave up on.")
    def parked() -> None:
        pass

    def queues(settings: Settings, consumer: str | None) -> ConsumerQueues:
        names = [s.name for s in definition.subscriptions]
        if not names:
            raise click.UsageError(f"{definition.name} consumes nothing")
        chosen = consumer or names[0]
        if chosen not in names:
            raise click.UsageError(f"unknown consumer {chosen!r}; known: {names}")
        return ConsumerQueues(chosen, settings.retry_delays)

    @parked.command("list", help="List parked messages with the reason each was parked.")
    @click.option("--consumer", default=None)
    @click.option("--limit", default=1000, show_default=True)
    def parked_list(consumer: str | None, limit: int) -> None:
        settings = _settings_or_exit(definition)
        found = parking.list_parked(settings.amqp_url, queues(settings, consumer), limit=limit)
        if found:
            click.echo(parking.format_table(found))
        click.echo(f"{len(found)} parked", err=True)

    @parked.command("replay", help="Send parked messages back to their consumer.")
    @click.option("--consumer", default=None)
    @click.option("--id", "ids", multiple=True, help="Only these message ids.")
    @click.option("--all", "everything", is_flag=True, help="Every parked message.")
    def parked_replay(consumer: str | None, ids: tuple[str, ...], everything: bool) -> None:
        if not ids and not everything:
            raise click.UsageError("say which: --id ID (repeatable) or --all")
        settings = _settings_or_exit(definition)
        done = parking.replay_parked(
            settings.amqp_url, queues(settings, consumer), message_ids=set(ids) if ids else None
        )
        click.echo(f"{len(done)} replayed", err=True)

    return cli


class _Gunicorn:
    """gunicorn's documented custom-application hook, so ``serve`` needs no config file."""

    def __init__(self, factory: Callable[[], Flask], options: dict[str, Any]):
        from gunicorn.app.base import BaseApplication

        factory_ = factory

        class Application(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                for key, value in options.items():
                    if value is not None:
                        self.cfg.set(key, value)

            def load(self) -> Flask:
                return factory_()

        self._application = Application()

    def run(self) -> None:
        self._application.run()

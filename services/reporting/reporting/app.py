"""The reporting service (the central office), declared: its reports, its dashboard, its
consumer of every site's events, and ``peerlink-reporting`` with ``replay``."""

import sys

import click
from flask import Flask

from peerlink.cli import service_cli
from peerlink.config import Settings
from peerlink.db import create_engine
from peerlink.migrations import Migrations
from peerlink.service import ServiceDefinition
from reporting import replay as replaying
from reporting.api import BLUEPRINTS, dashboard
from reporting.handlers import subscriptions


def configure(app: Flask, settings: Settings) -> None:
    app.register_blueprint(dashboard.blueprint)


DEFINITION = ServiceDefinition(
    name="reporting",
    default_port=8105,
    title="Peerlink reporting",
    description="The central office: every site's pseudonymous events, read models and reports.",
    migrations=Migrations(metadata="reporting.store:metadata", package="reporting"),
    blueprints=BLUEPRINTS,
    subscriptions=[subscriptions],
    configure_app=configure,
)

create_app = DEFINITION.create_app
main = service_cli(DEFINITION)


@main.command(help="Rebuild every read model from the event log (the figures stay up until it is done).")
def replay() -> None:
    settings = DEFINITION.settings()
    if not DEFINITION.migrations.is_current(settings.database_url):
        click.echo("peerlink-reporting: run `peerlink-reporting migrate` first", err=True)
        sys.exit(2)
    engine = create_engine(settings.database_url)
    try:
        done = replaying.replay(engine)
    finally:
        engine.dispose()
    click.echo(
        f"peerlink-reporting ({settings.site}): {done.events} events replayed in {done.seconds} s"
        + (f"; {done.skipped} of types this version does not know kept in the log" if done.skipped else "")
    )


@main.command("log", help="How many events the central office holds, by site and type (JSON).")
def log() -> None:
    settings = DEFINITION.settings()
    engine = create_engine(settings.database_url)
    try:
        click.echo(replaying.held(engine))
    finally:
        engine.dispose()

"""The events service, declared: its API and pages, its consumer, its scheduler, its migrations."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from events import pages
from events.api import BLUEPRINTS, errors
from events.api.common import CLOCK, clock_now
from events.handlers import subscriptions
from events.scheduler import Scheduler, guest_retention, no_show_after
from peerlink.cli import service_cli
from peerlink.config import Settings
from peerlink.migrations import Migrations
from peerlink.outbox import Producer
from peerlink.service import ServiceDefinition
from peerlink.worker import Component


def configure(app: Flask, settings: Settings) -> None:
    errors.install(app)
    # A malformed setting stops serve as it stops work: at start, in one line.
    guest_retention(settings)
    no_show_after(settings)
    app.extensions.setdefault(CLOCK, clock_now)
    app.register_blueprint(pages.blueprint)


def components(settings: Settings, engine: sa.Engine) -> dict[str, Component]:
    return {
        "scheduler": Scheduler(
            engine,
            Producer(settings.site, settings.service),
            retention=guest_retention(settings),
            no_show_after=no_show_after(settings),
        )
    }


DEFINITION = ServiceDefinition(
    name="events",
    default_port=8103,
    title="Peerlink events",
    description="Art groups, sessions, exhibitions, auctions, card sales and registrations.",
    migrations=Migrations(metadata="events.store:metadata", package="events"),
    blueprints=BLUEPRINTS,
    subscriptions=[subscriptions],
    extra_components=components,
    configure_app=configure,
)

create_app = DEFINITION.create_app
main = service_cli(DEFINITION)

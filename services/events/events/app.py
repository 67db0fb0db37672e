"""Wiring: the Flask app factory and the ``peerlink-events`` command."""

from __future__ import annotations

from flask import Flask

from peerlink.cli import ServiceDefinition, service_cli
from peerlink.config import Settings
from peerlink.db import create_engine
from peerlink.migrations import Migrations
from peerlink.web import create_service_app

PORT = 8103


def create_app(settings: Settings) -> Flask:
    return create_service_app(
        settings,
        create_engine(settings.database_url),
        title="Peerlink events",
        description="Art groups, sessions, exhibitions, auctions, card sales and registrations.",
        blueprints=[],
    )


DEFINITION = ServiceDefinition(
    name="events",
    default_port=PORT,
    create_app=create_app,
    migrations=Migrations(metadata="events.store:metadata", package="events"),
)

main = service_cli(DEFINITION)

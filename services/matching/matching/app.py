"""Wiring: the Flask app factory and the ``peerlink-matching`` command."""

from __future__ import annotations

from flask import Flask

from peerlink.cli import ServiceDefinition, service_cli
from peerlink.config import Settings
from peerlink.db import create_engine
from peerlink.migrations import Migrations
from peerlink.web import create_service_app

PORT = 8102


def create_app(settings: Settings) -> Flask:
    return create_service_app(
        settings,
        create_engine(settings.database_url),
        title="Peerlink matching",
        description="Mentor registry, explainable scores, optimal assignment and the match lifecycle.",
        blueprints=[],
    )


DEFINITION = ServiceDefinition(
    name="matching",
    default_port=PORT,
    create_app=create_app,
    migrations=Migrations(metadata="matching.store:metadata", package="matching"),
)

main = service_cli(DEFINITION)

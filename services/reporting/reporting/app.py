"""Wiring: the Flask app factory and the ``peerlink-reporting`` command."""

from __future__ import annotations

from flask import Flask

from peerlink.cli import ServiceDefinition, service_cli
from peerlink.config import Settings
from peerlink.db import create_engine
from peerlink.migrations import Migrations
from peerlink.web import create_service_app

PORT = 8105


def create_app(settings: Settings) -> Flask:
    return create_service_app(
        settings,
        create_engine(settings.database_url),
        title="Peerlink reporting",
        description="The central office: every site's pseudonymous events, read models and reports.",
        blueprints=[],
    )


DEFINITION = ServiceDefinition(
    name="reporting",
    default_port=PORT,
    create_app=create_app,
    migrations=Migrations(metadata="reporting.store:metadata", package="reporting"),
)

main = service_cli(DEFINITION)

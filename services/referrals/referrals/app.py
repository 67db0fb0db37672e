"""Wiring: the Flask app factory and the ``peerlink-referrals`` command."""

from __future__ import annotations

from flask import Flask

from peerlink.cli import ServiceDefinition, service_cli
from peerlink.config import Settings
from peerlink.db import create_engine
from peerlink.migrations import Migrations
from peerlink.web import create_service_app
from referrals import api

PORT = 8101


def create_app(settings: Settings) -> Flask:
    return create_service_app(
        settings,
        create_engine(settings.database_url),
        title="Peerlink referrals",
        description="Intake, triage, waiting list and peer advocacy for one site.",
        blueprints=[api.blueprint],
    )


DEFINITION = ServiceDefinition(
    name="referrals",
    default_port=PORT,
    create_app=create_app,
    migrations=Migrations(metadata="referrals.store:metadata", package="referrals"),
)

main = service_cli(DEFINITION)

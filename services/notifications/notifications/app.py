"""Wiring: the Flask app factory, the background components and ``peerlink-notifications``."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from notifications import api
from notifications.dispatcher import Dispatcher
from notifications.handlers import subscriptions
from notifications.mail import SmtpSender
from peerlink.cli import ServiceDefinition, service_cli
from peerlink.config import Settings, require_url
from peerlink.db import create_engine
from peerlink.migrations import Migrations
from peerlink.web import create_service_app
from peerlink.worker import Component

PORT = 8104


def create_app(settings: Settings) -> Flask:
    return create_service_app(
        settings,
        create_engine(settings.database_url),
        title="Peerlink notifications",
        description="Bilingual messages by email and SMS, once, on the channels people agreed to.",
        blueprints=[api.blueprint],
    )


def background(settings: Settings, engine: sa.Engine) -> dict[str, Component]:
    smtp_url = require_url(settings.extra, "PEERLINK_SMTP_URL", ("smtp", "smtp+starttls", "smtps"))
    sender = SmtpSender.from_url(
        smtp_url,
        settings.optional("PEERLINK_MAIL_FROM")
        or f"Peerlink {settings.site} <no-reply@{settings.site}.peerlink.invalid>",
    )
    return {"dispatcher": Dispatcher(engine, sender, site=settings.site)}


DEFINITION = ServiceDefinition(
    name="notifications",
    default_port=PORT,
    create_app=create_app,
    migrations=Migrations(metadata="notifications.store:metadata", package="notifications"),
    subscriptions=[subscriptions],
    extra_components=background,
)

main = service_cli(DEFINITION)

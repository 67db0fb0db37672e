"""The notifications service, declared: API, consumer, mail dispatcher, ``peerlink-notifications``."""

import sqlalchemy as sa

from notifications import api
from notifications.dispatcher import Dispatcher
from notifications.handlers import subscriptions
from notifications.mail import SmtpSender
from peerlink.cli import service_cli
from peerlink.config import Settings, require_url
from peerlink.migrations import Migrations
from peerlink.service import ServiceDefinition
from peerlink.worker import Component


def mail_dispatcher(settings: Settings, engine: sa.Engine) -> dict[str, Component]:
    smtp_url = require_url(settings.extra, "PEERLINK_SMTP_URL", ("smtp", "smtp+starttls", "smtps"))
    sender = SmtpSender.from_url(
        smtp_url,
        settings.optional("PEERLINK_MAIL_FROM")
        or f"Peerlink {settings.site} <no-reply@{settings.site}.peerlink.invalid>",
    )
    return {"dispatcher": Dispatcher(engine, sender, site=settings.site)}


DEFINITION = ServiceDefinition(
    name="notifications",
    default_port=8104,
    title="Peerlink notifications",
    description="Bilingual messages by email and SMS, once, on the channels people agreed to.",
    migrations=Migrations(metadata="notifications.store:metadata", package="notifications"),
    blueprints=[api.blueprint],
    subscriptions=[subscriptions],
    extra_components=mail_dispatcher,
)

create_app = DEFINITION.create_app
main = service_cli(DEFINITION)

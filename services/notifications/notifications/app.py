"""The notifications service, declared: its API, its consumer, its senders and scheduler,
``peerlink-notifications``."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask

from notifications import settings as config
from notifications.api import Notifications, blueprints, errors
from notifications.channels import Transport
from notifications.channels.email import SmtpTransport
from notifications.channels.log import LogTransport
from notifications.channels.sms import NotifySmsTransport
from notifications.dispatcher import Dispatcher
from notifications.domain.policy import Rules
from notifications.handlers import subscriptions
from notifications.inbound import InboundTexts
from notifications.scheduler import Scheduler
from notifications.templating import TemplateSet
from peerlink.cli import service_cli
from peerlink.config import Settings
from peerlink.contracts.vocabulary import MESSAGE_KINDS
from peerlink.migrations import Migrations
from peerlink.service import ServiceDefinition
from peerlink.worker import Component

log = logging.getLogger(__name__)


def email_transport(settings: Settings) -> Transport:
    url = config.smtp_url(settings)
    if url.startswith("log:"):
        return LogTransport("email")
    return SmtpTransport.from_url(url, config.mail_from(settings))


def sms_transport(settings: Settings) -> Transport | None:
    provider = config.sms_provider(settings)
    if provider is None:
        return None
    return LogTransport("sms") if provider.is_log else NotifySmsTransport(provider)


def background(settings: Settings, engine: sa.Engine) -> dict[str, Component]:
    """A sender per channel (an outage of one never slows the other), the scheduler of reminders
    and digests, and the reader of texts sent back (STOP)."""
    own = config.load(settings)
    templates = TemplateSet(zone=own.zone)
    _warn_about_templates(templates)
    rules = Rules(zone=own.zone, site_quiet_hours=own.quiet_hours)
    common = {"site": settings.site, "templates": templates, "rules": rules, "retry_delays": own.send_retry_delays}
    sms = sms_transport(settings)
    components: dict[str, Component] = {
        "dispatcher:email": Dispatcher(
            engine, email_transport(settings), channel="email", senders=own.email_senders, **common
        ),
        "dispatcher:sms": Dispatcher(engine, sms, channel="sms", senders=own.sms_senders, **common),
        "scheduler": Scheduler(engine, reminder_before=own.reminder_before, digest_at=own.digest_at, zone=own.zone),
    }
    if isinstance(sms, NotifySmsTransport) and own.inbound_poll:
        components["inbound-texts"] = InboundTexts(engine, NotifySmsTransport(sms.provider), poll=own.inbound_poll)
    return components


def _warn_about_templates(templates: TemplateSet) -> None:
    for kind in MESSAGE_KINDS:
        problem = templates.problem(kind)
        if problem:
            log.warning(
                "messages of this kind are held until its templates are fixed", extra={"kind": kind, "problem": problem}
            )


def configure(app: Flask, settings: Settings) -> None:
    errors.install(app)
    own = config.load(settings)
    app.extensions["notifications"] = Notifications(TemplateSet(zone=own.zone), own, settings.site)


DEFINITION = ServiceDefinition(
    name="notifications",
    default_port=8104,
    title="Peerlink notifications",
    description="Bilingual messages by email and SMS, once, on the channels people agreed to.",
    migrations=Migrations(metadata="notifications.store:metadata", package="notifications"),
    blueprints=blueprints(),
    subscriptions=[subscriptions],
    extra_components=background,
    configure_app=configure,
)

create_app = DEFINITION.create_app
main = service_cli(DEFINITION)

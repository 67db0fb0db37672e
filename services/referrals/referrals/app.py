"""The referrals service, declared: its API, its consumers, its migrations, ``peerlink-referrals``."""

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask

from peerlink.cli import service_cli
from peerlink.config import ConfigError, Settings
from peerlink.migrations import Migrations
from peerlink.service import ServiceDefinition
from referrals import pages
from referrals.api import BLUEPRINTS, errors
from referrals.domain.outcomes import DEFAULT_SCALE, InvalidScale, Scale, scale_from_json
from referrals.handlers import subscriptions


def wellbeing_scale(settings: Settings) -> Scale:
    """The site's check-in scale: ours by default, or a licensed one from PEERLINK_WELLBEING_SCALE."""
    path = settings.optional("PEERLINK_WELLBEING_SCALE")
    if not path:
        return DEFAULT_SCALE
    try:
        return scale_from_json(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"PEERLINK_WELLBEING_SCALE: cannot read {path}: {exc.strerror}") from None
    except InvalidScale as exc:
        raise ConfigError(f"PEERLINK_WELLBEING_SCALE: {path} is {exc}") from None


def site_zone(settings: Settings) -> ZoneInfo:
    """The site's time zone (PEERLINK_TIMEZONE, as notifications reads it): the day of a referral
    is the site's day, so that a sixteenth birthday starts at midnight where the person lives."""
    name = settings.optional("PEERLINK_TIMEZONE") or "Europe/London"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"PEERLINK_TIMEZONE: {name!r} is not a time zone such as Europe/London") from None


def configure(app: Flask, settings: Settings) -> None:
    errors.install(app)
    app.extensions["referrals.scale"] = wellbeing_scale(settings)
    app.extensions["referrals.zone"] = site_zone(settings)
    app.register_blueprint(pages.blueprint)


DEFINITION = ServiceDefinition(
    name="referrals",
    default_port=8101,
    title="Peerlink referrals",
    description="Intake, triage, waiting list, peer advocacy and wellbeing check-ins for one site.",
    migrations=Migrations(metadata="referrals.store:metadata", package="referrals"),
    blueprints=BLUEPRINTS,
    subscriptions=[subscriptions],
    configure_app=configure,
)

create_app = DEFINITION.create_app
main = service_cli(DEFINITION)

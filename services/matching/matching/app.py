"""The matching service, declared: its API, its consumers, its migrations, ``peerlink-matching``."""

from flask import Flask

from matching.api import BLUEPRINTS, errors
from matching.handlers import subscriptions
from peerlink.cli import service_cli
from peerlink.config import Settings
from peerlink.migrations import Migrations
from peerlink.service import ServiceDefinition


def configure(app: Flask, settings: Settings) -> None:
    errors.install(app)


DEFINITION = ServiceDefinition(
    name="matching",
    default_port=8102,
    title="Peerlink matching",
    description="Mentor registry, explainable scores, optimal assignment and the match lifecycle for one site.",
    migrations=Migrations(metadata="matching.store:metadata", package="matching"),
    blueprints=BLUEPRINTS,
    subscriptions=[subscriptions],
    configure_app=configure,
)

create_app = DEFINITION.create_app
main = service_cli(DEFINITION)

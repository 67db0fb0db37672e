"""The referrals service, declared: its API, its migrations, the ``peerlink-referrals`` command."""

from peerlink.cli import service_cli
from peerlink.migrations import Migrations
from peerlink.service import ServiceDefinition
from referrals import api

DEFINITION = ServiceDefinition(
    name="referrals",
    default_port=8101,
    title="Peerlink referrals",
    description="Intake, triage, waiting list and peer advocacy for one site.",
    migrations=Migrations(metadata="referrals.store:metadata", package="referrals"),
    blueprints=[api.blueprint],
)

create_app = DEFINITION.create_app
main = service_cli(DEFINITION)

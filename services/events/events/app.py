"""The events service, declared (its API and consumers arrive with its issue)."""

from peerlink.cli import service_cli
from peerlink.migrations import Migrations
from peerlink.service import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="events",
    default_port=8103,
    title="Peerlink events",
    description="Art groups, sessions, exhibitions, auctions, card sales and registrations.",
    migrations=Migrations(metadata="events.store:metadata", package="events"),
)

create_app = DEFINITION.create_app
main = service_cli(DEFINITION)

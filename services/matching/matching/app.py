"""The matching service, declared (its API and consumers arrive with its issue)."""

from peerlink.cli import service_cli
from peerlink.migrations import Migrations
from peerlink.service import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="matching",
    default_port=8102,
    title="Peerlink matching",
    description="Mentor registry, explainable scores, optimal assignment and the match lifecycle.",
    migrations=Migrations(metadata="matching.store:metadata", package="matching"),
)

create_app = DEFINITION.create_app
main = service_cli(DEFINITION)

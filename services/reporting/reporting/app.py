"""The reporting service, declared (its API and consumers arrive with its issue)."""

from peerlink.cli import service_cli
from peerlink.migrations import Migrations
from peerlink.service import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="reporting",
    default_port=8105,
    title="Peerlink reporting",
    description="The central office: every site's pseudonymous events, read models and reports.",
    migrations=Migrations(metadata="reporting.store:metadata", package="reporting"),
)

create_app = DEFINITION.create_app
main = service_cli(DEFINITION)

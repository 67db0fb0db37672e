"""Every service's HTTP API against its own ``/openapi.json`` (schemathesis): no 5xx, and no
answer that breaks what the document promises: its status codes, its content type (errors as
problem+json), its body schema, its headers; and no invalid request accepted.

Each service is its real app (``create_app``) on a fresh, migrated database, with real tokens;
each operation is called as a role that may use it (``peerlink.testing.conformance``). Two
passes per service:

1. every operation alone, with valid and then with invalid inputs;
2. sequences of linked calls (schemathesis infers the links from the document: the id a POST
   answers goes into the path of the next call), each on an emptied database, so that the
   operations on a referral, a match or an event run on one that exists.

The broker URL points at a port where nothing listens: a request that needed the broker would
fail here, and none may (the apps publish only through the outbox). Health and metrics are not
in the OpenAPI documents, so they are not fuzzed (their tests run with a broker).

Generation is derandomized (``derandomize=True``): CI sends the same requests on every run, so a
failure here reproduces by running this file again.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask
from schemathesis import checks

from peerlink.testing import Tokens, free_port, settings_for
from peerlink.testing.conformance import (
    Answers,
    Callers,
    empty_tables,
    fuzz_operations,
    load_schema,
    roles_by_operation,
    run_stateful,
)
from peerlink.web import idempotency

# (service, the site its instance serves): reporting is the central office.
SERVICES = {
    "referrals": "ebbw-vale",
    "matching": "ebbw-vale",
    "events": "ebbw-vale",
    "notifications": "ebbw-vale",
    "reporting": "central",
}
ROLES = ("coordinator", "mentor", "facilitator", "central-reader", "service")

# Sized to the CI budget: all five services in about a minute on two cores.
EXAMPLES_PER_OPERATION = 15  # of valid inputs, and as many of invalid ones
SCENARIOS = 30  # sequences of linked calls per service
STEPS = 15  # calls in a sequence at most

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]


@dataclass
class ServiceUnderTest:
    name: str
    app: Flask
    callers: Callers
    tables: list[sa.MetaData]

    def empty_database(self) -> None:
        empty_tables(self.app.extensions["peerlink"].engine, self.tables)


@pytest.fixture(params=list(SERVICES))
def service_under_test(request: pytest.FixtureRequest, new_database_url, tokens: Tokens) -> Iterator[ServiceUnderTest]:
    name, site = request.param, SERVICES[request.param]
    definition = importlib.import_module(f"{name}.app").DEFINITION
    database_url = new_database_url(name)
    definition.migrations.upgrade(database_url)
    headers = {role: tokens.header(role, site) for role in ROLES}
    nobody_listens = f"amqp://guest:guest@127.0.0.1:{free_port()}/{site}"
    app = definition.create_app(
        settings_for(name, database_url=database_url, amqp_url=nobody_listens, site=site, tokens=tokens.config())
    )
    try:
        callers = Callers(roles_by_operation(app), headers, site)
        yield ServiceUnderTest(name, app, callers, definition.migrations.target_metadata())
    finally:
        app.extensions["peerlink"].engine.dispose()


@pytest.mark.parametrize("new_database_url", ["postgresql"], indirect=True)
def test_every_operation_keeps_to_its_document(service_under_test: ServiceUnderTest) -> None:
    started = time.monotonic()
    schema = load_schema(service_under_test.app)
    answers = Answers()
    results = fuzz_operations(
        schema, service_under_test.callers, max_examples=EXAMPLES_PER_OPERATION, checks=CHECKS, answers=answers
    )
    failures = [f"{r.label} ({r.mode} inputs, as {r.role}):\n{r.failure}" for r in results if r.failure]
    operations = {r.label for r in results}
    alone = answers.calls

    if not _only_reads(operations):
        try:
            run_stateful(
                schema,
                service_under_test.callers,
                max_examples=SCENARIOS,
                steps=STEPS,
                checks=CHECKS,
                reset=service_under_test.empty_database,
                answers=answers,
            )
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"a sequence of linked calls:\n{exc}")

    reached = answers.succeeded() & operations
    print(
        f"\n{service_under_test.name}: {len(operations)} operations, {len(reached)} of them answered 2xx; "
        f"{alone} calls alone, {answers.calls - alone} in linked sequences; "
        f"{len(failures)} failing; {time.monotonic() - started:.1f} s"
    )
    assert not failures, "\n\n".join(failures)


def _only_reads(operations: set[str]) -> bool:
    """A service with nothing but reads (the central reports) has nothing to link."""
    return all(label.startswith("GET ") for label in operations)


@pytest.mark.parametrize("new_database_url", ["sqlite"], indirect=True)
def test_every_idempotency_key_is_documented_as_it_is_checked(service_under_test: ServiceUnderTest) -> None:
    """Documented as "8 to 100 characters", keys the services refuse (a space, an accent) were
    valid by the document: the fuzzer's valid requests were refused with 400."""
    document = service_under_test.app.test_client().get("/openapi.json").get_json()
    declared = [
        parameter["schema"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for parameter in operation.get("parameters", [])
        if parameter["name"] == idempotency.HEADER
    ]
    assert all(schema.get("pattern") == idempotency.PATTERN for schema in declared), declared

"""The repository keeps its promises: services stand alone, the README is current."""

import ast
from pathlib import Path

import pytest

from peerlink import catalogue_doc

ROOT = Path(__file__).resolve().parents[1]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").is_file())


def test_the_five_services_are_there():
    assert SERVICES == ["events", "matching", "notifications", "referrals", "reporting"]


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service):
    others = set(SERVICES) - {service}
    for path in (ROOT / "services" / service).rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in others, f"{path.relative_to(ROOT)} imports {name}"


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_is_a_package_with_its_own_tests_and_migrations(service):
    folder = ROOT / "services" / service
    assert (folder / "pyproject.toml").is_file()
    assert list((folder / "tests").glob("test_*.py")), f"{service} has no tests"
    assert list((folder / service / "migrations" / "versions").glob("*.py")), f"{service} has no migrations"


def test_the_readme_event_catalogue_is_generated_from_the_current_schemas():
    readme = (ROOT / "README.md").read_text()
    expected = catalogue_doc.replace_section(readme, catalogue_doc.render())
    assert readme == expected, "run `make catalogue` to regenerate the event catalogue in the README"


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme


def test_the_asyncapi_document_is_generated_from_the_current_schemas():
    from peerlink import asyncapi

    checked_in = (ROOT / "docs" / "asyncapi.json").read_text()
    assert checked_in == asyncapi.render(), "run `make catalogue` to regenerate docs/asyncapi.json"


def test_the_asyncapi_document_describes_every_event_and_its_references_resolve():
    import json

    from peerlink.contracts import CATALOGUE

    document = json.loads((ROOT / "docs" / "asyncapi.json").read_text())
    assert document["asyncapi"].startswith("3.")
    assert set(document["components"]["messages"]) == {t.name for t in CATALOGUE}

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    for ref in set(refs(document)):
        target = document
        for part in ref.removeprefix("#/").split("/"):
            assert part in target, f"{ref} does not resolve"
            target = target[part]
    for channel in document["channels"].values():
        exchange = channel["bindings"]["amqp"]["exchange"]["name"]
        assert exchange in ("peerlink.events", "peerlink.private")
        assert channel["address"].startswith("{site}.")

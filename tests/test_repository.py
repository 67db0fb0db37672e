"""The repository keeps its promises: services stand alone, the README is current."""

import ast
import re
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


# The guides name real files -----------------------------------------------------------------------

GUIDES = ("README.md", "docs/operations.md")
TOP_FOLDERS = (".ci", "deploy", "docs", "services", "shared", "tests")
# Written in the guides on purpose, and not in the repository: why, each.
NOT_REPOSITORY_PATHS = {
    "deploy/compose/.env": "made by the operator from site.env.example, never committed",
    "deploy/k8s/overlays/newport/kustomization.yaml": "the file 'Adding a site' tells the operator to write",
    "deploy/referrals-worker": "kubectl's name for a Deployment (kubectl exec deploy/referrals-worker)",
    "deploy/reporting-worker": "kubectl's name for a Deployment (kubectl exec deploy/reporting-worker)",
}
PATH_MENTION = re.compile(r"(?<![\w./-])((?:" + "|".join(map(re.escape, TOP_FOLDERS)) + r")/[\w.{},<>*/-]*)")


def mentioned_paths(text: str) -> set[str]:
    """Every repository path a guide names, braces expanded (``services/{a,b}/x``)."""
    found = set()
    for mention in PATH_MENTION.findall(text):
        for path in _expand_braces(mention.rstrip(".,:;")):
            found.add(path)
    return found


def _expand_braces(path: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", path)
    if not match:
        return [path]
    return [
        expanded
        for choice in match.group(1).split(",")
        for expanded in _expand_braces(path[: match.start()] + choice + path[match.end() :])
    ]


def exists_in_repository(path: str) -> bool:
    """A placeholder (``services/<name>/Dockerfile``) or a glob holds when something matches it."""
    pattern = re.sub(r"<[^<>/]+>", "*", path.rstrip("/"))
    return any(ROOT.glob(pattern)) if "*" in pattern else (ROOT / pattern).exists()


def test_mentioned_paths_are_found_in_guides_braces_and_placeholders_included():
    text = "see `services/{referrals,events}/tests/x.py`, deploy/k8s/overlays/<site> and shared/peerlink/."
    assert mentioned_paths(text) == {
        "services/referrals/tests/x.py",
        "services/events/tests/x.py",
        "deploy/k8s/overlays/<site>",
        "shared/peerlink/",
    }
    assert exists_in_repository("services/<name>/Dockerfile")
    assert not exists_in_repository("shared/peerlink/sites.py")


@pytest.mark.parametrize("guide", GUIDES)
def test_every_repository_path_a_guide_names_exists(guide):
    mentioned = mentioned_paths((ROOT / guide).read_text())
    assert mentioned, f"{guide} names no repository path: the pattern no longer finds them"
    missing = sorted(p for p in mentioned - set(NOT_REPOSITORY_PATHS) if not exists_in_repository(p))
    assert missing == [], f"{guide} names paths that do not exist: {missing}"

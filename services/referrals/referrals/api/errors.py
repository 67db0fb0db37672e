"""Domain refusals as problem+json: each exception says what went wrong and what is allowed."""

from __future__ import annotations

from flask import Flask, Response

from peerlink.web import problem
from referrals.commands import IdempotencyConflict, IntakeRaced, NotFound
from referrals.domain.advocacy import AlreadyResolved, TooManyOpenIssues
from referrals.domain.duplicates import NothingToResolve
from referrals.domain.erasure import AlreadyErased
from referrals.domain.intake import IneligibleReferral
from referrals.domain.outcomes import InvalidCheckIn
from referrals.domain.workflow import IllegalTransition


def pointer(field: str) -> str:
    return "/" + field.replace(".", "/")


def install(app: Flask) -> None:
    @app.errorhandler(NotFound)
    def not_found(exc: NotFound) -> Response:
        return problem(404, str(exc))

    @app.errorhandler(IllegalTransition)
    def illegal(exc: IllegalTransition) -> Response:
        return problem(
            409,
            str(exc),
            title="Not allowed in this state",
            status_now=exc.status.value,
            allowed_actions=[a.value for a in exc.allowed],
        )

    @app.errorhandler(IneligibleReferral)
    def ineligible(exc: IneligibleReferral) -> Response:
        return problem(422, str(exc), errors=[{"pointer": pointer(exc.field), "detail": str(exc)}])

    @app.errorhandler(InvalidCheckIn)
    def invalid_check_in(exc: InvalidCheckIn) -> Response:
        return problem(422, str(exc), errors=[{"pointer": pointer(exc.field), "detail": str(exc)}])

    @app.errorhandler(TooManyOpenIssues)
    def too_many(exc: TooManyOpenIssues) -> Response:
        return problem(
            409,
            str(exc),
            title="Three advocacy issues are already open",
            open_issues=[
                {"id": str(i.id), "category": i.category, "opened_at": i.opened_at.isoformat()} for i in exc.open_issues
            ],
        )

    @app.errorhandler(AlreadyResolved)
    def already_resolved(exc: AlreadyResolved) -> Response:
        return problem(409, str(exc))

    @app.errorhandler(AlreadyErased)
    def already_erased(exc: AlreadyErased) -> Response:
        return problem(409, str(exc))

    @app.errorhandler(NothingToResolve)
    def nothing_to_resolve(exc: NothingToResolve) -> Response:
        return problem(409, str(exc))

    @app.errorhandler(IntakeRaced)
    def intake_raced(exc: IntakeRaced) -> Response:
        return problem(409, str(exc))

    @app.errorhandler(IdempotencyConflict)
    def key_reused(exc: IdempotencyConflict) -> Response:
        return problem(422, str(exc), errors=[{"parameter": "Idempotency-Key", "detail": str(exc)}])

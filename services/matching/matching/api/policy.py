"""``/matching-policy``: the site's criterion weights and safeguarding thresholds, versioned."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from matching import commands, store
from matching.api import schemas, views
from matching.api.mentors import actor
from matching.domain.policy import Policy
from peerlink.db import read_transaction
from peerlink.web import requires, service

blueprint = Blueprint(
    "matching-policy", __name__, url_prefix="/matching-policy", description="The site's weights and thresholds"
)


@blueprint.route("")
class MatchingPolicy(MethodView):
    @requires("coordinator", "service")
    @blueprint.response(200, schemas.PolicyOut)
    def get(self) -> dict[str, Any]:
        """The weights of each criterion (and their shares of a score) and the safeguarding thresholds."""
        with read_transaction(service().engine) as conn:
            return views.policy(*store.current_policy(conn))

    @requires("coordinator")
    @blueprint.arguments(schemas.PolicyIn)
    @blueprint.response(200, schemas.PolicyOut)
    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Set the site's policy (a new version; earlier ones are kept with who set them and when).

        Weights are relative; a criterion left out weighs 0. Review them against
        `GET /matches/criteria-report`."""
        policy = Policy(**body)
        with service().unit_of_work() as uow:
            commands.set_policy(uow, policy, at=datetime.now(UTC), actor=actor())
            view = views.policy(*store.current_policy(uow.connection))
            uow.commit()
        return view

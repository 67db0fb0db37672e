"""``/events/{id}/sales``, ``/events/{id}/lots``, ``/artworks``: the artwork ledger and what
each event raised, in integer pence split between the artist and the scheme."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from events import commands, store
from events.api import audit, schemas, views
from events.api.common import IDEMPOTENCY_DOC, MANAGERS, READERS, actor, now, sees_personal_data
from events.api.transactions import in_transaction
from peerlink.audit import AuditPage, AuditQuery, Subject
from peerlink.db import read_transaction
from peerlink.web import requires, service
from peerlink.web.idempotency import REPLAYED, idempotency_key

blueprint = Blueprint(
    "sales", __name__, url_prefix="/events/<uuid:event_id>", description="Sales, auction lots and bids at an event"
)
artworks = Blueprint("artworks", __name__, url_prefix="/artworks", description="Artworks credited to their artists")

MONEY_READERS = (*MANAGERS, "service")


@blueprint.route("/sales")
class Sales(MethodView):
    @requires(*MONEY_READERS)
    @blueprint.response(200, schemas.EventSales)
    def get(self, event_id: uuid.UUID) -> dict[str, Any]:
        """Every sale at the event (voided ones marked) and the totals of those that stand."""
        with read_transaction(service().engine) as conn:
            if store.schedule.get_event(conn, event_id) is None:
                abort(404, message="No such event.")
            items = store.ledger.sales_of_event(conn, event_id)
            totals = store.ledger.sale_totals(conn, event_id=event_id)
        return {"items": [views.sale(s) for s in items], "totals": views.totals(totals)}

    @requires(*MANAGERS)
    @blueprint.arguments(schemas.SaleIn)
    @blueprint.response(201, schemas.SaleOut)
    @blueprint.alt_response(409, description="Sold already, no cards left, or the event was cancelled")
    @blueprint.doc(parameters=[IDEMPOTENCY_DOC])
    def post(self, body: dict[str, Any], event_id: uuid.UUID) -> Any:
        """Record a sale: ``quantity`` times ``unit_price_pence``, split as the artwork's artist
        agreed (all to the scheme without an artwork). Cards come off the design's print run;
        an artwork is sold once; an auction lot is sold by closing it. Writes `sale.recorded`."""
        key = idempotency_key()
        moment = now()
        sale, replayed = in_transaction(
            lambda uow: commands.record_sale(
                uow,
                event_id,
                kind=body["kind"],
                quantity=body["quantity"],
                unit_price_pence=body["unit_price_pence"],
                artwork_id=body["artwork_id"],
                now=moment,
                idempotency=key,
            )
        )
        return (views.sale(sale), 201, {REPLAYED: "true"}) if replayed else views.sale(sale)


@blueprint.route("/sales/<uuid:sale_id>/void", methods=["POST"])
@requires(*MANAGERS)
@blueprint.arguments(schemas.VoidSaleIn)
@blueprint.response(200, schemas.SaleOut)
@blueprint.alt_response(409, description="Already voided")
def void_sale(body: dict[str, Any], event_id: uuid.UUID, sale_id: uuid.UUID) -> dict[str, Any]:
    """Take a sale back (entered in error, refunded, payment failed): its amounts leave the
    totals, its cards return to the print run, its artwork is for sale again. Writes `sale.voided`."""
    moment = now()
    return views.sale(
        in_transaction(lambda uow: commands.void_sale(uow, event_id, sale_id, reason=body["reason"], now=moment))
    )


@blueprint.route("/lots")
class Lots(MethodView):
    @requires(*MANAGERS)
    @blueprint.response(200, schemas.LotOut(many=True))
    def get(self, event_id: uuid.UUID) -> list[dict[str, Any]]:
        """The event's auction lots with their highest bids (silent: organisers only)."""
        with read_transaction(service().engine) as conn:
            if store.schedule.get_event(conn, event_id) is None:
                abort(404, message="No such event.")
            return [
                views.lot(lot, store.ledger.bids_of_lot(conn, lot.id))
                for lot in store.ledger.lots_of_event(conn, event_id)
            ]

    @requires(*MANAGERS)
    @blueprint.arguments(schemas.LotIn)
    @blueprint.response(201, schemas.LotOut)
    @blueprint.alt_response(
        409, description="The artwork is sold, withdrawn or already in an open lot; the auction was cancelled or ended"
    )
    def post(self, body: dict[str, Any], event_id: uuid.UUID) -> dict[str, Any]:
        """Put an artwork up for auction as the event's next lot, with a reserve and an opening bid."""
        moment = now()
        lot = in_transaction(
            lambda uow: commands.add_lot(
                uow,
                event_id,
                artwork_id=body["artwork_id"],
                reserve_pence=body["reserve_pence"],
                opening_pence=body["opening_pence"],
                now=moment,
            )
        )
        return views.lot(lot, [])


@blueprint.route("/lots/<uuid:lot_id>/bids")
class Bids(MethodView):
    @requires(*MANAGERS)
    @blueprint.response(200, schemas.BidOut(many=True))
    def get(self, event_id: uuid.UUID, lot_id: uuid.UUID) -> list[dict[str, Any]]:
        """The lot's bids, highest first."""
        with read_transaction(service().engine) as conn:
            if store.ledger.get_lot(conn, event_id, lot_id) is None:
                abort(404, message="No such lot at this event.")
            return [views.bid(b) or {} for b in store.ledger.bids_of_lot(conn, lot_id)]

    @requires(*MANAGERS)
    @blueprint.arguments(schemas.BidIn)
    @blueprint.response(201, schemas.BidOut)
    @blueprint.alt_response(409, description="The lot is closed, or the auction was cancelled or has ended")
    @blueprint.doc(parameters=[IDEMPOTENCY_DOC])
    def post(self, body: dict[str, Any], event_id: uuid.UUID, lot_id: uuid.UUID) -> Any:
        """A bid, higher than every bid so far (and at least the opening bid), by paddle number,
        until the auction ends (a cancelled auction's lots are withdrawn)."""
        key = idempotency_key()
        moment = now()
        bid, replayed = in_transaction(
            lambda uow: commands.place_bid(
                uow,
                event_id,
                lot_id,
                amount_pence=body["amount_pence"],
                paddle=body["paddle"],
                now=moment,
                idempotency=key,
            )
        )
        view = views.bid(bid) or {}
        return (view, 201, {REPLAYED: "true"}) if replayed else view


@blueprint.route("/lots/<uuid:lot_id>/close", methods=["POST"])
@requires(*MANAGERS)
@blueprint.response(200, schemas.CloseLotOut)
@blueprint.alt_response(409, description="Already closed (sold, unsold, or withdrawn with its cancelled event)")
def close_lot(event_id: uuid.UUID, lot_id: uuid.UUID) -> dict[str, Any]:
    """Close bidding: the highest bid at or over the reserve buys the artwork (a sale and its
    `sale.recorded`); below the reserve the lot is unsold and the artwork stays for sale."""
    moment = now()
    lot, sale = in_transaction(lambda uow: commands.close_lot(uow, event_id, lot_id, now=moment))
    with read_transaction(service().engine) as conn:
        bids = store.ledger.bids_of_lot(conn, lot_id)
    return {"lot": views.lot(lot, bids), "sale": schemas.SaleOut().dump(views.sale(sale)) if sale else None}


@artworks.route("")
class Artworks(MethodView):
    @requires(*READERS)
    @artworks.arguments(schemas.ArtworkQuery, location="query")
    @artworks.response(200, schemas.ArtworkOut(many=True))
    def get(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Artworks (of a group), credited as their artists agreed."""
        personal = sees_personal_data()
        with read_transaction(service().engine) as conn:
            found = store.ledger.list_artworks(conn, group_id=query.get("group_id"), status=query.get("status"))
        return [views.artwork(a, personal=personal) for a in found]

    @requires(*MANAGERS)
    @artworks.arguments(schemas.ArtworkIn)
    @artworks.response(201, schemas.ArtworkOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add an artwork with how its artist agreed to be credited (by name only with their
        consent, else a pseudonym or anonymously) and their share of its sales."""
        moment, by = now(), actor()

        def create(uow: Any) -> Any:
            made = commands.create_artwork(uow, body, now=moment, by=by)
            audit.credit_changed(uow.connection, made.id)
            return made

        return views.artwork(in_transaction(create), personal=sees_personal_data())


@artworks.route("/<uuid:artwork_id>")
@requires(*READERS)
@artworks.response(200, schemas.ArtworkOut)
def get_artwork(artwork_id: uuid.UUID) -> dict[str, Any]:
    """One artwork, with its cards left of the print run."""
    with read_transaction(service().engine) as conn:
        found = store.ledger.get_artwork(conn, artwork_id)
    if found is None:
        abort(404, message="No such artwork.")
    return views.artwork(found, personal=sees_personal_data())


@artworks.route("/<uuid:artwork_id>/credit", methods=["POST"])
@requires(*MANAGERS)
@artworks.arguments(schemas.CreditIn)
@artworks.response(200, schemas.ArtworkOut)
def change_credit(body: dict[str, Any], artwork_id: uuid.UUID) -> dict[str, Any]:
    """The artist changed or withdrew their consent: credit the work by name (with the name
    they agree to show), by pseudonym, or anonymously, from now on wherever it is shown.
    Withdrawing consent to the name forgets it. Each change is kept (``credit-history``) and
    in the audit trail; the same credit again changes nothing."""
    moment, by = now(), actor()

    def change(uow: Any) -> Any:
        artwork, changed = commands.change_credit(
            uow,
            artwork_id,
            credit=body["credit"],
            artist_name=body["artist_name"],
            pseudonym=body["pseudonym"],
            now=moment,
            by=by,
        )
        if changed:
            audit.credit_changed(uow.connection, artwork_id)
        return artwork

    return views.artwork(in_transaction(change), personal=sees_personal_data())


@artworks.route("/<uuid:artwork_id>/credit-history")
@requires(*MANAGERS)
@artworks.response(200, schemas.CreditChangeOut(many=True))
def credit_history(artwork_id: uuid.UUID) -> list[dict[str, Any]]:
    """How the work was credited, each change oldest first: to what, when, by whom (never the
    name itself). Changes before this history was kept are not in it."""
    with read_transaction(service().engine) as conn:
        if store.ledger.get_artwork(conn, artwork_id) is None:
            abort(404, message="No such artwork.")
        return [asdict(change) for change in store.ledger.credit_history(conn, artwork_id)]


@artworks.route("/<uuid:artwork_id>/audit")
@requires("coordinator")
@artworks.arguments(AuditQuery, location="query")
@artworks.response(200, AuditPage)
def artwork_audit(query: dict[str, Any], artwork_id: uuid.UUID) -> dict[str, Any]:
    """Who changed this work's credit (and so its artist's consent), newest first."""
    with read_transaction(service().engine) as conn:
        exists = store.ledger.get_artwork(conn, artwork_id) is not None
    return audit.TRAIL.page(
        service().engine, Subject(audit.ARTWORK, artwork_id), query, exists=exists, missing="No such artwork."
    )

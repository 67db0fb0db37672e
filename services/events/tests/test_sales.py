"""The artwork ledger: credit as the artist agreed, cards from a print run, auction lots with a
reserve, money in pence split artist/scheme, totals per event and per group."""

import json
import uuid
from datetime import datetime, timedelta

import pytest


def artwork(api, group, **overrides):
    body = {
        "group_id": group["id"],
        "artist_person_id": str(uuid.uuid4()),
        "credit": "name",
        "artist_name": "Joe Bloggs",
        "title": "Sunrise over Ebbw Vale",
        "medium": "Acrylic",
        "artist_share_percent": 50,
        **overrides,
    }
    return api.post("/artworks", body, expect=201).get_json()


def sell(api, event, expect=201, **body):
    return api.post(f"/events/{event['id']}/sales", body, expect=expect).get_json()


@pytest.fixture
def auction(make_event):
    return make_event(kind="auction", title_cy="Ocsiwn", title_en="Auction", public=True, capacity=None)


def test_an_artist_is_credited_only_as_they_agreed(api, group):
    named = artwork(api, group)
    assert (named["credit_line_en"], named["artist_name"]) == ("Joe Bloggs", "Joe Bloggs")
    for_service = api.get(f"/artworks/{named['id']}", role="service", expect=200).get_json()
    assert for_service["artist_name"] is None  # the raw field: organisers only
    hidden = artwork(api, group, credit="pseudonym", pseudonym="Blue Heron", artist_name="Joe Bloggs")
    assert (hidden["credit_line_cy"], hidden["artist_name"]) == ("Blue Heron", None)  # the name not agreed is not kept
    anonymous = artwork(api, group, credit="anonymous", artist_name="Joe Bloggs")
    assert (anonymous["credit_line_cy"], anonymous["credit_line_en"]) == ("Artist dienw", "Anonymous artist")
    missing = api.post(
        "/artworks", {"credit": "name", "title": "Untitled", "artist_share_percent": 50}, expect=422
    ).get_json()
    assert missing["errors"][0]["pointer"] == "/artist_name"


def test_an_artist_may_change_or_withdraw_consent_and_each_change_is_kept_and_audited(
    api, client, group, make_event, clock
):
    made = artwork(api, group, title="Ebbw Fach at dusk")
    credit = f"/artworks/{made['id']}/credit"
    make_event(public=True, kind="exhibition", title_en="Spring show")
    # By pseudonym: the name is forgotten at once.
    clock.advance(timedelta(days=1))
    masked = api.post(credit, {"credit": "pseudonym", "pseudonym": "Blue Heron"}, role="facilitator", expect=200)
    assert (masked.get_json()["credit_line_en"], masked.get_json()["artist_name"]) == ("Blue Heron", None)
    # Withdrawn altogether: anonymous everywhere the work is shown.
    clock.advance(timedelta(days=1))
    api.post(credit, {"credit": "anonymous", "artist_name": "Joe Bloggs"}, expect=200)
    api.post(credit, {"credit": "anonymous"}, expect=200)  # the same again: nothing changes
    shown = [api.get(f"/artworks/{made['id']}", expect=200).get_json(), *api.get("/artworks", expect=200).get_json()]
    for view in shown:
        assert (view["credit_line_cy"], view["credit_line_en"], view["artist_name"], view["pseudonym"]) == (
            "Artist dienw",
            "Anonymous artist",
            None,
            None,
        )
    for page in ("/public/events?lang=en", "/public/calendar.ics", f"/groups/{group['id']}/calendar.ics"):
        text = (client if page.startswith("/public") else api).get(page).get_data(as_text=True)
        assert "Joe Bloggs" not in text and "Blue Heron" not in text, page
    # Given again, by name: it needs the name they agree to show.
    refused = api.post(credit, {"credit": "name"}, expect=422).get_json()
    assert refused["errors"][0]["pointer"] == "/artist_name"
    clock.advance(timedelta(days=1))
    api.post(credit, {"credit": "name", "artist_name": "Joseph Bloggs"}, expect=200)
    history = api.get(f"/artworks/{made['id']}/credit-history", expect=200).get_json()
    assert [(h["credit"], h["role"]) for h in history] == [
        ("name", "coordinator"),
        ("pseudonym", "facilitator"),
        ("anonymous", "coordinator"),
        ("name", "coordinator"),
    ]
    assert [h["changed_at"] for h in history] == sorted(h["changed_at"] for h in history)
    assert "Bloggs" not in json.dumps(history)
    trail = api.get(f"/artworks/{made['id']}/audit", expect=200).get_json()["items"]
    assert [(e["action"], e["role"], e["what"]) for e in trail if e["action"] == "change"] == [
        ("change", "coordinator", "POST /artworks/<uuid:artwork_id>/credit"),
        ("change", "coordinator", "POST /artworks/<uuid:artwork_id>/credit"),
        ("change", "facilitator", "POST /artworks/<uuid:artwork_id>/credit"),
        ("change", "coordinator", "POST /artworks"),
    ]
    # Only the organisers change it or see its history; the trail is the coordinators'.
    api.post(credit, {"credit": "anonymous"}, role="mentor", expect=403)
    api.get(f"/artworks/{made['id']}/credit-history", role="service", expect=403)
    api.get(f"/artworks/{made['id']}/audit", role="facilitator", expect=403)
    api.post(f"/artworks/{uuid.uuid4()}/credit", {"credit": "anonymous"}, expect=404)


def test_cards_sell_by_quantity_from_their_print_run(api, group, make_event, emitted):
    design = artwork(api, group, title="Robin in the snow", print_run=100, artist_share_percent=10)
    fair = make_event(kind="card-sale", public=True, capacity=None)
    body = {"kind": "cards", "artwork_id": design["id"], "quantity": 60, "unit_price_pence": 250}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    sale = api.post(f"/events/{fair['id']}/sales", body, headers=key, expect=201).get_json()
    assert (sale["amount_pence"], sale["artist_share_pence"], sale["scheme_share_pence"]) == (15000, 1500, 13500)
    retried = api.post(f"/events/{fair['id']}/sales", body, headers=key, expect=201)  # a lost answer, sent again
    assert retried.headers["Idempotent-Replayed"] == "true" and retried.get_json()["id"] == sale["id"]
    refused = sell(api, fair, expect=409, kind="cards", artwork_id=design["id"], quantity=41, unit_price_pence=250)
    assert "Only 40 cards" in refused["detail"]
    sell(api, fair, kind="cards", artwork_id=design["id"], quantity=40, unit_price_pence=200)
    assert api.get(f"/artworks/{design['id']}", expect=200).get_json()["cards_left"] == 0
    recorded = emitted("peerlink.sale.recorded.v1")
    assert [(e["data"]["quantity"], e["data"]["amount_pence"]) for e in recorded] == [(60, 15000), (40, 8000)]
    assert recorded[0]["data"]["group_id"] == group["id"] and recorded[0]["data"]["artwork_id"] == design["id"]


def test_an_artwork_sells_once_and_a_voided_sale_puts_it_back(api, group, make_event, emitted):
    painting = artwork(api, group, artist_share_percent=33)
    show = make_event(kind="exhibition", public=True)
    sale = sell(api, show, kind="artwork", artwork_id=painting["id"], unit_price_pence=12_345)
    # 33% of 12,345p is 4,073.85p: the artist's share rounds to the nearest penny, the scheme has the rest.
    assert (sale["artist_share_pence"], sale["scheme_share_pence"]) == (4074, 8271)
    assert (
        "sold" in sell(api, show, expect=409, kind="artwork", artwork_id=painting["id"], unit_price_pence=1)["detail"]
    )
    voided = api.post(
        f"/events/{show['id']}/sales/{sale['id']}/void", {"reason": "entered-in-error"}, expect=200
    ).get_json()
    assert voided["void_reason"] == "entered-in-error"
    api.post(f"/events/{show['id']}/sales/{sale['id']}/void", {"reason": "other"}, expect=409)
    assert api.get(f"/artworks/{painting['id']}", expect=200).get_json()["status"] == "available"
    listed = api.get(f"/events/{show['id']}/sales", role="service", expect=200).get_json()
    assert listed["totals"]["amount_pence"] == 0 and len(listed["items"]) == 1
    (taken_back,) = emitted("peerlink.sale.voided.v1")
    assert taken_back["data"]["amount_pence"] == 12_345 and taken_back["data"]["artist_share_pence"] == 4074


def test_an_auction_lot_takes_rising_bids_and_sells_to_the_highest_at_or_over_the_reserve(api, group, auction, emitted):
    painting = artwork(api, group, artist_share_percent=50)
    lot = api.post(
        f"/events/{auction['id']}/lots",
        {"artwork_id": painting["id"], "reserve_pence": 10_000, "opening_pence": 5_000},
        expect=201,
    ).get_json()
    assert lot["number"] == 1
    bids = f"/events/{auction['id']}/lots/{lot['id']}/bids"
    api.post(bids, {"amount_pence": 4_000, "paddle": "12"}, expect=422)  # under the opening bid
    api.post(bids, {"amount_pence": 8_000, "paddle": "12"}, expect=201)
    beaten = api.post(bids, {"amount_pence": 8_000, "paddle": "7"}, expect=422).get_json()
    assert "beat the highest" in beaten["detail"]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    winning = api.post(bids, {"amount_pence": 12_500, "paddle": "7"}, headers=key, expect=201).get_json()
    again = api.post(bids, {"amount_pence": 12_500, "paddle": "7"}, headers=key, expect=201)
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json()["id"] == winning["id"]
    api.post(bids, {"amount_pence": 13_000, "paddle": "Mrs Jones"}, expect=422)  # a paddle number, never a name
    # The artwork is in an open lot: it cannot also be sold over the counter.
    sell(api, auction, expect=409, kind="artwork", artwork_id=painting["id"], unit_price_pence=20_000)
    closed = api.post(f"/events/{auction['id']}/lots/{lot['id']}/close", expect=200).get_json()
    assert closed["lot"]["status"] == "sold" and closed["lot"]["winning_bid"]["paddle"] == "7"
    assert (closed["sale"]["kind"], closed["sale"]["amount_pence"], closed["sale"]["artist_share_pence"]) == (
        "auction-lot",
        12_500,
        6_250,
    )
    (recorded,) = emitted("peerlink.sale.recorded.v1")
    assert recorded["data"]["amount_pence"] == 12_500 and recorded["data"]["kind"] == "auction-lot"
    api.post(f"/events/{auction['id']}/lots/{lot['id']}/close", expect=409)
    api.post(bids, {"amount_pence": 20_000, "paddle": "3"}, expect=409)
    assert api.get(f"/artworks/{painting['id']}", expect=200).get_json()["status"] == "sold"


def test_a_lot_under_its_reserve_is_unsold_and_the_work_may_be_offered_again(api, group, auction, emitted):
    painting = artwork(api, group)
    lot = api.post(f"/events/{auction['id']}/lots", {"artwork_id": painting["id"], "reserve_pence": 10_000}, expect=201)
    lot_id = lot.get_json()["id"]
    api.post(f"/events/{auction['id']}/lots", {"artwork_id": painting["id"]}, expect=409)  # already in an open lot
    api.post(f"/events/{auction['id']}/lots/{lot_id}/bids", {"amount_pence": 9_999, "paddle": "4"}, expect=201)
    closed = api.post(f"/events/{auction['id']}/lots/{lot_id}/close", expect=200).get_json()
    assert (closed["lot"]["status"], closed["sale"], closed["lot"]["reserve_met"]) == ("unsold", None, False)
    assert emitted("peerlink.sale.recorded.v1") == []
    second = api.post(f"/events/{auction['id']}/lots", {"artwork_id": painting["id"]}, expect=201).get_json()
    assert second["number"] == 2
    assert sell(api, auction, expect=422, kind="auction-lot", artwork_id=painting["id"], unit_price_pence=1)["errors"][
        0
    ]["pointer"] == ("/kind")


def test_cancelling_an_auction_withdraws_its_open_lots_and_bids_stop_when_it_ends(
    api, group, auction, make_event, at_start, emitted
):
    sold_first, offered = artwork(api, group, title="Sold first"), artwork(api, group, title="Offered")
    lots = f"/events/{auction['id']}/lots"
    early = api.post(lots, {"artwork_id": sold_first["id"]}, expect=201).get_json()
    api.post(f"{lots}/{early['id']}/bids", {"amount_pence": 5_000, "paddle": "1"}, expect=201)
    api.post(f"{lots}/{early['id']}/close", expect=200)
    lot = api.post(lots, {"artwork_id": offered["id"]}, expect=201).get_json()
    api.post(f"{lots}/{lot['id']}/bids", {"amount_pence": 2_000, "paddle": "4"}, expect=201)
    api.post(f"/events/{auction['id']}/cancel", {"reason": "weather"}, expect=200)
    # The open lot is withdrawn: no bid, no close, no sale; the closed one and its sale stand.
    assert {item["id"]: item["status"] for item in api.get(lots, expect=200).get_json()} == {
        early["id"]: "sold",
        lot["id"]: "withdrawn",
    }
    refused = api.post(f"{lots}/{lot['id']}/bids", {"amount_pence": 3_000, "paddle": "4"}, expect=409).get_json()
    assert "cancelled" in refused["detail"]
    assert "withdrawn" in api.post(f"{lots}/{lot['id']}/close", expect=409).get_json()["detail"]
    assert [e["data"]["artwork_id"] for e in emitted("peerlink.sale.recorded.v1")] == [sold_first["id"]]
    # The work is for sale again, at another auction.
    assert api.get(f"/artworks/{offered['id']}", expect=200).get_json()["status"] == "available"
    later = make_event(kind="auction", public=True, capacity=None, title_en="Spring auction")
    again = api.post(f"/events/{later['id']}/lots", {"artwork_id": offered["id"]}, expect=201).get_json()
    # Bids are taken until the auction ends, then the lot can only be closed.
    at_start(later, timedelta(hours=1))
    api.post(f"/events/{later['id']}/lots/{again['id']}/bids", {"amount_pence": 1_000, "paddle": "2"}, expect=201)
    at_start(later, timedelta(hours=2))  # the auction's end
    ended = api.post(f"/events/{later['id']}/lots/{again['id']}/bids", {"amount_pence": 1_500, "paddle": "3"})
    assert ended.status_code == 409 and "ended" in ended.get_json()["detail"]
    api.post(f"/events/{later['id']}/lots", {"artwork_id": sold_first["id"]}, expect=409)
    closed = api.post(f"/events/{later['id']}/lots/{again['id']}/close", expect=200).get_json()
    assert (closed["lot"]["status"], closed["sale"]["amount_pence"]) == ("sold", 1_000)


def test_totals_per_event_and_per_group_add_up_in_pence(api, group, make_group, make_event):
    summer = make_event(kind="exhibition", public=True, title_en="Summer show")
    day = (datetime.fromisoformat(summer["starts_at"]) + timedelta(days=1)).date()
    christmas = make_event(
        kind="card-sale", public=True, title_en="Christmas cards", starts_at=f"{day}T10:00", ends_at=f"{day}T16:00"
    )
    design = artwork(api, group, print_run=500, artist_share_percent=0)
    painting = artwork(api, group, artist_share_percent=60)
    sell(api, summer, kind="artwork", artwork_id=painting["id"], unit_price_pence=25_000)
    sell(api, summer, kind="donation", unit_price_pence=1_001)
    sell(api, christmas, kind="cards", artwork_id=design["id"], quantity=120, unit_price_pence=150)
    refunded = sell(api, christmas, kind="cards", artwork_id=design["id"], quantity=10, unit_price_pence=150)
    api.post(f"/events/{christmas['id']}/sales/{refunded['id']}/void", {"reason": "refunded"}, expect=200)
    summer_totals = api.get(f"/events/{summer['id']}/sales", expect=200).get_json()["totals"]
    assert summer_totals["amount_pence"] == 26_001
    assert (summer_totals["artist_share_pence"], summer_totals["scheme_share_pence"]) == (15_000, 11_001)
    assert {k["kind"]: k["amount_pence"] for k in summer_totals["by_kind"]} == {"artwork": 25_000, "donation": 1_001}
    whole = api.get(f"/groups/{group['id']}/sales", role="facilitator", expect=200).get_json()
    assert whole["totals"] == {
        "sales": 3,
        "amount_pence": 44_001,
        "artist_share_pence": 15_000,
        "scheme_share_pence": 29_001,
        "by_kind": [
            {"kind": "artwork", "sales": 1, "quantity": 1, "amount_pence": 25_000, "artist_share_pence": 15_000,
             "scheme_share_pence": 10_000},
            {"kind": "cards", "sales": 1, "quantity": 120, "amount_pence": 18_000, "artist_share_pence": 0,
             "scheme_share_pence": 18_000},
            {"kind": "donation", "sales": 1, "quantity": 1, "amount_pence": 1_001, "artist_share_pence": 0,
             "scheme_share_pence": 1_001},
        ],
    }  # fmt: skip
    assert [(e["event_id"], e["amount_pence"]) for e in whole["events"]] == [
        (summer["id"], 26_001),
        (christmas["id"], 18_000),
    ]
    today = datetime.fromisoformat(summer["created_at"]).date()
    assert (
        api.get(f"/groups/{group['id']}/sales?recorded_to={today - timedelta(days=366)}").get_json()["totals"]["sales"]
        == 0
    )
    elsewhere = make_group(name_en="Merthyr art group", name_cy="Grŵp celf Merthyr")
    assert api.get(f"/groups/{elsewhere['id']}/sales", expect=200).get_json()["totals"]["amount_pence"] == 0
    api.get(f"/groups/{group['id']}/sales", role="mentor", expect=403)


def test_a_sale_counts_for_the_group_whose_work_was_sold_wherever_it_was_sold(
    api, group, make_group, make_event, emitted
):
    merthyr = make_group(name_en="Merthyr art group", name_cy="Grŵp celf Merthyr")
    joint = make_event(kind="exhibition", public=True, title_en="Joint show")  # Ebbw Vale's event
    theirs = artwork(api, merthyr, title="Cyfarthfa", artist_share_percent=50)
    ours = artwork(api, group, title="Ebbw Fach", artist_share_percent=50)
    no_group = artwork(api, group, group_id=None, title="Live painting", artist_share_percent=0)
    design = artwork(api, merthyr, title="Robin", print_run=100, artist_share_percent=0)
    sold = [
        sell(api, joint, kind="artwork", artwork_id=theirs["id"], unit_price_pence=10_000),
        sell(api, joint, kind="artwork", artwork_id=ours["id"], unit_price_pence=7_000),
        sell(api, joint, kind="live-painting", artwork_id=no_group["id"], unit_price_pence=3_000),
        sell(api, joint, kind="cards", artwork_id=design["id"], quantity=10, unit_price_pence=200),
        sell(api, joint, kind="donation", unit_price_pence=500),
    ]
    assert [s["group_id"] for s in sold] == [merthyr["id"], group["id"], group["id"], merthyr["id"], group["id"]]
    assert [e["data"]["group_id"] for e in emitted("peerlink.sale.recorded.v1")] == [s["group_id"] for s in sold]

    def raised(group_id):
        return api.get(f"/groups/{group_id}/sales", expect=200).get_json()

    theirs_raised, ours_raised = raised(merthyr["id"]), raised(group["id"])
    assert theirs_raised["totals"]["amount_pence"] == 12_000
    assert [(e["event_id"], e["amount_pence"]) for e in theirs_raised["events"]] == [(joint["id"], 12_000)]
    assert ours_raised["totals"]["amount_pence"] == 10_500
    at_the_event = api.get(f"/events/{joint['id']}/sales", expect=200).get_json()["totals"]
    assert at_the_event["amount_pence"] == 22_500 == 12_000 + 10_500
    for key in ("artist_share_pence", "scheme_share_pence"):
        assert at_the_event[key] == theirs_raised["totals"][key] + ours_raised["totals"][key]

"""The link to the central office is down for a whole run: every site keeps taking referrals,
nothing reaches the central office meanwhile, and once the link is set up every event the
sites committed arrives, each logged once, and the central figures are each site's own.

(tests/test_network.py cuts the link in the middle of a run; here it never exists until the
sites' work is done, so everything must wait at the sites from the first event on.)"""

import json
import random
import time
from collections import Counter

import pytest

from peerlink import central
from peerlink.broker_admin import ManagementApi, setup_site
from peerlink.testing import wait_for_consumer, wait_until

from ._sites import CentralOffice, ReferralsSite

SITES = ("ebbw-vale", "merthyr", "pontypridd")
REFERRALS_EACH = 20


@pytest.fixture
def offline_network(broker, new_vhost, new_database_url, postgres_url, tokens, processes, spy):
    management = ManagementApi(broker.management_url)
    for name in SITES:
        tokens.token("coordinator", name)
    tokens.token("central-reader", "central")
    central_url = new_vhost("central")
    setup_site(central_url, management)
    # Every delivery to the central exchange. No heartbeat: the spy is read only now and then, and
    # the broker closes a connection that misses two (py-amqp sends them only when asked).
    arriving = spy("peerlink.events", url=f"{central_url}?heartbeat=0")
    office = CentralOffice(central_url, postgres_url, tokens, processes)
    sites = {}
    for name in SITES:
        site_url = new_vhost(name)
        # The site's queue for the central office exists from the start; the shovel does not.
        central.prepare_site(site_url, management)
        sites[name] = ReferralsSite(name, site_url, new_database_url(f"{name}-referrals"), tokens, processes)
    office.wait_ready()
    wait_for_consumer(central_url, "reporting.inbox", timeout=60)
    for site in sites.values():
        site.wait_ready()
    yield sites, office, management, central_url, arriving
    for site in sites.values():
        site.close()
    office.close()


def test_sites_take_referrals_through_a_run_with_no_central_link_and_the_central_office_catches_up(
    offline_network,
):
    sites, office, management, central_url, arriving = offline_network
    rng = random.Random(8)
    started = time.monotonic()
    for n in range(REFERRALS_EACH):
        for site in sites.values():
            site.refer(n, rng)
    own = {name: site.own_figures() for name, site in sites.items()}
    assert all(figures["received"] == REFERRALS_EACH for figures in own.values()), own

    # Every event the sites committed for the central office is published and waits at its site.
    def all_waiting() -> bool:
        for site in sites.values():
            committed, published = site.outbox_to_central()
            if len(published) != committed or central.waiting_at_site(site.amqp_url) != committed:
                return False
        return True

    wait_until(all_waiting, timeout=30, what="every site's events published and waiting at the site")
    committed = {name: site.outbox_to_central() for name, site in sites.items()}
    waiting = {name: central.waiting_at_site(site.amqp_url) for name, site in sites.items()}
    at_central_while_cut = len(office.logged())
    assert at_central_while_cut == 0
    assert all(central.status(s.amqp_url, management).state == "absent" for s in sites.values())

    for site in sites.values():
        central.link(site.amqp_url, central_url, site_management=management)

    expected = {(f"/sites/{name}/referrals", event_id) for name, (_, ids) in committed.items() for event_id in ids}
    wait_until(
        lambda: {(source, event_id) for _, source, event_id in office.logged()} == expected,
        timeout=60,
        what="every site's events in the central event log",
    )

    def central_equals_own() -> bool:
        seen = office.figures()["sites"]
        return all(
            {key: seen.get(name, {}).get("referrals", {}).get(key) for key in figures} == figures
            for name, figures in own.items()
        )

    wait_until(central_equals_own, timeout=30, what="the central figures to equal each site's own")
    wait_until(
        lambda: all(central.waiting_at_site(s.amqp_url) == 0 for s in sites.values()),
        what="the sites' queues drained",
    )
    logged = office.logged()
    keys = Counter((source, event_id) for _, source, event_id in logged)
    assert keys == Counter(expected), "each committed event logged exactly once, none missing, none other"
    # What reached the central exchange: every committed event, perhaps some twice (a shovel
    # re-sends what it had not acked when it stopped); the log above counted each once.
    deliveries = Counter(json.loads(m.body)["id"] for m in arriving.drain())
    assert set(deliveries) == {event_id for _, event_id in expected}
    network = office.figures()["network"]["referrals"]
    assert network["received"] == len(SITES) * REFERRALS_EACH
    assert network["accepted"] == sum(figures["accepted"] for figures in own.values())
    print(
        f"link cut for the run: {len(SITES)} sites x {REFERRALS_EACH} referrals "
        f"({sum(f['accepted'] for f in own.values())} accepted), "
        f"{sum(waiting.values())} events waiting at the sites ({', '.join(f'{n} {w}' for n, w in waiting.items())}), "
        f"{at_central_while_cut} at central while cut, {sum(deliveries.values())} deliveries after relink "
        f"({sum(c - 1 for c in deliveries.values())} duplicates), {len(keys)} logged once, "
        f"central figures = each site's own; {time.monotonic() - started:.1f}s"
    )

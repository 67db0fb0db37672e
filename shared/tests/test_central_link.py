"""A site's link to the central office: a dynamic shovel from a durable queue at the site.

Against the real broker, with the site and the central office in vhosts of their own."""

import json

from click.testing import CliRunner

from peerlink import central
from peerlink.admin import main as peerlink_cli
from peerlink.broker_admin import ManagementApi, setup_site
from peerlink.contracts import CONTACT_RECORDED, REFERRAL_RECEIVED, SITE_ONLY_EXCHANGE
from peerlink.testing import make_envelope, publish_envelopes, publish_raw, sample_data, wait_until


def received(spy_queue, count, timeout=15.0):
    return spy_queue.wait_for(count, timeout=timeout)


def referrals(n, site="ebbw-vale"):
    return [make_envelope(REFERRAL_RECEIVED, site=site) for _ in range(n)]


def test_the_sites_pseudonymous_events_and_only_those_reach_the_central_exchange(broker, new_vhost, spy):
    site_url, central_url = new_vhost("site"), new_vhost("central")
    management = ManagementApi(broker.management_url)
    central.link(site_url, central_url, site_management=management, central_management=management)
    arriving = spy("peerlink.events", url=central_url)
    wait_until(lambda: central.status(site_url, management).state == "running", what="the shovel running")

    shared = referrals(3)
    publish_envelopes(site_url, shared)
    publish_envelopes(site_url, [make_envelope(CONTACT_RECORDED)])  # personal: peerlink.private
    not_counted = make_envelope(REFERRAL_RECEIVED, sample_data(REFERRAL_RECEIVED, counted_in_figures=False))
    publish_raw(site_url, SITE_ONLY_EXCHANGE, "ebbw-vale.referral.received", [not_counted.to_json()])
    publish_envelopes(site_url, referrals(1))  # behind the others: when it is there, they would be too

    messages = received(arriving, 4)
    assert [json.loads(m.body)["id"] for m in messages[:3]] == [e.id for e in shared]
    assert {m.delivery_info["routing_key"] for m in messages} == {"ebbw-vale.referral.received"}
    assert all(json.loads(m.body)["type"] == REFERRAL_RECEIVED.name for m in messages)
    assert len(arriving.drain()) == 4


def test_while_the_link_is_down_events_wait_at_the_site_and_then_all_arrive_once(broker, new_vhost, spy):
    site_url, central_url = new_vhost("site"), new_vhost("central")
    management = ManagementApi(broker.management_url)
    central.link(site_url, central_url, site_management=management, central_management=management)
    arriving = spy("peerlink.events", url=central_url)

    before = referrals(20)
    publish_envelopes(site_url, before)
    received(arriving, 20)

    assert central.unlink(site_url, management) is True
    wait_until(lambda: central.status(site_url, management).state == "absent", what="the shovel gone")
    during = referrals(200)
    publish_envelopes(site_url, during)
    wait_until(lambda: central.status(site_url, management).waiting == 200, what="200 events waiting at the site")
    assert len(arriving.drain()) == 20  # nothing got through

    central.link(site_url, central_url, site_management=management)
    messages = received(arriving, 220)
    ids = [json.loads(m.body)["id"] for m in messages]
    assert ids == [e.id for e in before + during]  # every one, once, in order
    wait_until(lambda: central.status(site_url, management).waiting == 0, what="the site's queue emptied")


def test_linking_is_idempotent_and_the_commands_say_what_they_did(broker, new_vhost):
    site_url, central_url = new_vhost("site"), new_vhost("central")
    management = broker.management_url
    runner = CliRunner()
    args = ["--site", "ebbw-vale", "--site-amqp-url", site_url, "--site-management-url", management]
    for _ in range(2):
        linked = runner.invoke(
            peerlink_cli,
            ["central", "link", *args, "--central-amqp-url", central_url, "--central-management-url", management],
        )
        assert linked.exit_code == 0, linked.output
        assert "now goes to" in linked.output
    with ManagementApi(management).client() as client:
        vhost = site_url.rsplit("/", 1)[1]
        assert [p["name"] for p in client.get(f"/api/parameters/shovel/{vhost}").json()] == [central.SHOVEL]
    wait_until(lambda: runner.invoke(peerlink_cli, ["central", "status", *args]).exit_code == 0, what="running")
    assert "link running; 0 events waiting" in runner.invoke(peerlink_cli, ["central", "status", *args]).output
    assert "removed" in runner.invoke(peerlink_cli, ["central", "unlink", *args]).output
    assert "was not there" in runner.invoke(peerlink_cli, ["central", "unlink", *args]).output
    down = runner.invoke(peerlink_cli, ["central", "status", *args])
    assert down.exit_code == 1 and "link absent" in down.output


def test_the_site_and_the_central_office_can_be_separate_brokers():
    """The shovel runs on the site's broker and dials the central one by its URL: nothing in it
    assumes one broker (here the definition is checked; the tests above run one broker)."""
    value = central.shovel_definition("merthyr", "amqps://merthyr:secret@central.example.org:5671/central")
    assert value["src-uri"] == "amqp:///merthyr"
    assert value["dest-uri"].startswith("amqps://merthyr:secret@central.example.org")
    assert value["ack-mode"] == "on-confirm" and value["src-queue"] == central.OUTBOUND_QUEUE
    assert "dest-exchange-key" not in value


def test_setting_up_a_site_declares_the_site_only_exchange(broker, new_vhost):
    url = new_vhost("site")
    setup_site(url, ManagementApi(broker.management_url))
    with ManagementApi(broker.management_url).client() as client:
        names = {e["name"] for e in client.get(f"/api/exchanges/{url.rsplit('/', 1)[1]}").json()}
    assert {"peerlink.events", "peerlink.private", SITE_ONLY_EXCHANGE} <= names

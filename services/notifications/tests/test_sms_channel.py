"""Texts through the Notify-style provider adapter, against a local fake provider with its
failures and rate limits; STOP texted back."""

import shutil
import uuid

import pytest

from notifications.channels.sms import NotifySmsTransport
from notifications.domain.sms import text_size
from notifications.inbound import InboundTexts
from notifications.settings import sms_provider as sms_settings
from notifications.templating import DIRECTORY, TemplateSet
from peerlink.testing import running, settings_for, wait_until


def transport_for(provider, **overrides):
    settings = settings_for("notifications", database_url="sqlite://", **{**provider.env(), **overrides})
    return NotifySmsTransport(sms_settings(settings))


@pytest.fixture
def texting(make_dispatcher, sms_provider):
    transport = transport_for(sms_provider)
    worker = make_dispatcher(transport, channel="sms")
    with running(worker):
        yield worker
    transport.close()


def texter(person, **options):
    return person(channels=("sms",), email=None, **options)


def test_a_welsh_text_goes_once_billed_as_ucs2_parts_and_recorded(sms_provider, person, owe, deliveries, texting):
    rhian = texter(person, language="cy", phone="07700 900123")
    owe(rhian)
    (text,) = sms_provider.wait_for(1)
    assert text.phone_number == "+447700900123"
    assert text.body.startswith("Helo Rhian, diolch: mae tîm mentora cymheiriaid Glynebwy")
    assert "Atebwch STOP" in text.body
    wait_until(lambda: deliveries(rhian)[1].status == "sent", what="recorded")
    sms = deliveries(rhian)[1]
    assert text.reference == str(sms.id)
    assert (sms.provider, sms.provider_ref) == ("notify", text.id)
    assert sms.segments == text_size(text.body).segments and text_size(text.body).encoding == "UCS-2"


def test_a_provider_failing_then_accepting_gets_the_text_once(sms_provider, person, owe, deliveries, texting):
    sms_provider.fail(2, status=500)
    rhian = texter(person)
    owe(rhian)
    sms_provider.wait_for(1)
    wait_until(lambda: deliveries(rhian)[1].status == "sent", what="sent after two failures")
    assert sms_provider.responses == [500, 500, 201]
    assert len(sms_provider.texts) == 1 and deliveries(rhian)[1].attempts == 3


def test_a_rate_limited_channel_pauses_and_sends_every_text_once_counting_no_attempt(
    sms_provider, person, owe, deliveries, texting
):
    sms_provider.rate_limit(2, per_seconds=1)
    people = [texter(person, phone=f"+4477009001{n:02d}") for n in range(5)]
    for someone in people:
        owe(someone)
    sms_provider.wait_for(5, timeout=20)
    wait_until(lambda: all(deliveries(p)[1].status == "sent" for p in people), timeout=20, what="all recorded")
    assert sms_provider.count(429) >= 1
    assert sorted(t.phone_number for t in sms_provider.texts) == sorted(f"+4477009001{n:02d}" for n in range(5))
    assert {deliveries(p)[1].attempts for p in people} == {1}


def test_a_number_the_provider_refuses_fails_for_good(engine, sms_provider, person, owe, deliveries, texting):
    landline = texter(person, phone="+442920123456")
    owe(landline)
    wait_until(lambda: deliveries(landline)[1].status == "failed", what="failed")
    sms = deliveries(landline)[1]
    assert sms.reason == "invalid-address" and "Not a UK mobile number" in sms.last_error
    assert sms_provider.texts == []


def test_a_key_the_provider_refuses_is_our_fault_and_is_retried_not_dropped(
    sms_provider, make_dispatcher, person, owe, deliveries
):
    wrong = f"peerlink_test-{sms_provider.service_id}-{uuid.uuid4()}"
    transport = transport_for(sms_provider, PEERLINK_SMS_API_KEY=wrong)
    rhian = texter(person)
    owe(rhian)
    make_dispatcher(transport, channel="sms").send_due()
    transport.close()
    sms = deliveries(rhian)[1]
    assert (sms.status, sms.reason, sms.attempts) == ("pending", "retrying", 1)
    assert "AuthError" in sms.last_error and sms_provider.responses == [403]


def test_stop_texted_back_stops_texts_and_start_resumes_them(
    engine, sms_provider, make_dispatcher, person, owe, deliveries
):
    rhian = texter(person, phone="+447700900123")
    transport = transport_for(sms_provider)
    inbound = InboundTexts(engine, transport, poll=60)
    sms_provider.receive("07700 900123", "Stop")
    sms_provider.receive("+447700900999", "STOP")  # a number we do not know
    sms_provider.receive("+447700900123", "see you tuesday")
    assert inbound.read_new() == {"ignored": 1, "stopped": 1, "unknown-number": 1}
    assert inbound.read_new() == {}  # each text is acted on once
    owe(rhian)
    dispatcher = make_dispatcher(transport, channel="sms")
    dispatcher.send_due()
    assert deliveries(rhian)[1].reason == "sms-stopped" and sms_provider.texts == []
    sms_provider.receive("+447700900123", "START")
    assert inbound.read_new() == {"started": 1}
    owe(rhian)
    dispatcher.send_due()
    assert len(sms_provider.texts) == 1
    transport.close()


def test_a_text_that_would_give_something_away_is_never_sent(
    tmp_path, sms_provider, make_dispatcher, person, owe, deliveries
):
    for path in DIRECTORY.glob("*.j2"):
        shutil.copy(path, tmp_path / path.name)
    english = tmp_path / "referral-acknowledged.en.j2"
    english.write_text(
        english.read_text(encoding="utf-8").replace("peer mentoring team has", "drug and alcohol team has"),
        encoding="utf-8",
    )
    transport = transport_for(sms_provider)
    rhian = texter(person, language="en")
    owe(rhian)
    make_dispatcher(transport, channel="sms", templates=TemplateSet(tmp_path)).send_due()
    transport.close()
    sms = deliveries(rhian)[1]
    assert (sms.status, sms.reason) == ("failed", "not-discreet")
    assert "alcohol, drug" in sms.last_error and sms_provider.texts == []

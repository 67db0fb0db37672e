"""The load generator puts its load on this machine only: ``tests/bench/load_day.py`` refuses to
start, before it touches anything, when the broker, its management API or the database it was
given is anywhere but the loopback; and every process it starts is checked the same way."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture
def benchkit(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module("_benchkit")


@pytest.mark.parametrize(
    "url",
    [
        "amqp://guest:guest@127.0.0.1:5672/",
        "amqp://guest:guest@localhost:5672/site",
        "http://guest:guest@[::1]:15672",
        "postgresql://127.0.0.2:5432/test",
        "postgresql:///test",  # the local socket
        "postgresql:///test?host=/var/run/postgresql",
        "smtp://127.0.0.1:2525",
        "sqlite:////tmp/x.db",
    ],
)
def test_loopback_servers_are_let_through(benchkit, url):
    assert benchkit.is_loopback(url)
    benchkit.loopback_only({"server": url})


@pytest.mark.parametrize(
    "url",
    [
        "amqp://guest:guest@10.0.0.5:5672/",
        "amqp://guest:guest@rabbitmq:5672/",  # a name could resolve anywhere
        "postgresql://db.example.org/test",
        "postgresql:///test?host=db.example.org",
        "postgresql://127.0.0.1,db.example.org/test",
        "smtps://relay:secret@mail.example.org:465",
        "http://guest:guest@0.0.0.0:15672",
    ],
)
def test_any_other_server_is_refused_without_showing_its_password(benchkit, url):
    assert not benchkit.is_loopback(url)
    with pytest.raises(SystemExit, match=re.escape("127.0.0.1 only")) as refused:
        benchkit.loopback_only({"PEERLINK_TEST_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/", "server": url})
    assert "secret" not in str(refused.value) and "PEERLINK_TEST_AMQP_URL" not in str(refused.value)


def test_load_day_refuses_a_remote_broker_before_it_touches_anything(benchkit, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    load_day = importlib.import_module("load_day")
    monkeypatch.setattr(load_day, "AMQP_URL", "amqp://peerlink:secret@broker.example.org:5672/")

    def touched(*args, **kwargs):
        raise AssertionError("the servers lock was taken: load_day went ahead")

    monkeypatch.setattr(load_day, "servers_held", touched)
    monkeypatch.setattr(sys, "argv", ["load_day.py"])
    with pytest.raises(SystemExit, match=re.escape("broker.example.org")) as refused:
        load_day.main()
    assert "secret" not in str(refused.value)


def test_load_day_starts_no_process_pointed_at_a_server_elsewhere(benchkit, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(BENCH))
    load_day = importlib.import_module("load_day")
    env = {
        "PEERLINK_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/x",
        "PEERLINK_SMTP_URL": "smtp://mail.example.org:25",
    }
    with pytest.raises(SystemExit, match="merthyr notifications: PEERLINK_SMTP_URL"):
        load_day.start(None, tmp_path, "merthyr notifications", "notifications", env)  # type: ignore[arg-type]

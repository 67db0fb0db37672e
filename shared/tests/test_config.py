import pytest

from peerlink.config import ConfigError, load_settings, parse_durations, parse_tokens
from peerlink.web.auth import digest, token_entry

BASE = {"PEERLINK_SITE": "ebbw-vale"}


def load(**env: str):
    return load_settings("referrals", default_port=8101, environ={**BASE, **env})


def test_defaults_put_sqlite_under_var_and_the_site_vhost_on_localhost():
    settings = load()
    assert settings.database_url == "sqlite:///var/ebbw-vale/referrals.db"
    assert settings.amqp_url == "amqp://guest:guest@localhost:5672/ebbw-vale"
    assert settings.port == 8101


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PEERLINK_SITE": ""}, "PEERLINK_SITE is not set"),
        ({"PEERLINK_SITE": "Ebbw Vale"}, "PEERLINK_SITE: 'Ebbw Vale' is not a site slug"),
        ({"PEERLINK_DATABASE_URL": "mysql://x/y"}, "PEERLINK_DATABASE_URL"),
        ({"PEERLINK_AMQP_URL": "http://localhost/"}, "PEERLINK_AMQP_URL"),
        ({"PEERLINK_AMQP_URL": "amqp://localhost:notaport/x"}, "PEERLINK_AMQP_URL"),
        ({"PEERLINK_PORT": "eighty"}, "PEERLINK_PORT: 'eighty' is not a whole number"),
        ({"PEERLINK_PORT": "70000"}, "PEERLINK_PORT: 70000 is out of range"),
        ({"PEERLINK_RETRY_DELAYS": "1s,soon"}, "PEERLINK_RETRY_DELAYS: 'soon'"),
        ({"PEERLINK_API_TOKENS": "coordinator:ebbw-vale:plaintext"}, "SHA-256 digest"),
        ({"PEERLINK_LOG_LEVEL": "chatty"}, "PEERLINK_LOG_LEVEL"),
    ],
)
def test_a_bad_setting_fails_with_one_line_naming_it(env, message):
    with pytest.raises(ConfigError) as raised:
        load(**env)
    text = str(raised.value)
    assert message in text
    assert "\n" not in text


def test_a_password_in_a_bad_url_is_not_repeated():
    with pytest.raises(ConfigError) as raised:
        load(PEERLINK_DATABASE_URL="mysql://user:hunter2@db/x")
    assert "hunter2" not in str(raised.value)


def test_tokens_are_configured_as_digests_with_role_and_site():
    entry = token_entry("s3cret", "coordinator", "merthyr", "desk")
    (parsed,) = parse_tokens(entry)
    assert parsed.role == "coordinator"
    assert parsed.site == "merthyr"
    assert parsed.digest == digest("s3cret")
    assert parsed.label == "desk"
    with pytest.raises(ConfigError, match="unknown role"):
        parse_tokens(f"wizard:merthyr:{digest('x')}")


def test_retry_delays_must_grow():
    assert parse_durations("X", "200ms, 1s,2m,1h") == (0.2, 1.0, 120.0, 3600.0)
    with pytest.raises(ConfigError, match="must grow"):
        parse_durations("X", "5s,1s")

"""Secrets come only from the environment: nothing committed looks like one, and no setting
defaults to one.

The scanner is the one ``tests/test_deploy.py`` proves on known secrets; here it reads every
tracked file of the repository, not only the deployment files. Test fixtures and local
development may use RabbitMQ's ``guest`` and the documented placeholders, nothing else.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import pytest

from peerlink.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]
# Text we write; lockfiles, images and binary data are not where a secret would be typed.
TEXT = re.compile(
    r"\.(py|toml|ya?ml|json|md|j2|html|txt|cfg|ini|sh|env|example|conf|mako|Procfile)$|Dockerfile$|Makefile$"
)


# Each a made-up value a test feeds to the code (to see it redacted, or refused, or passed on),
# or a docstring's example; reviewed one by one. Anything new fails until it is added here.
KNOWN_FAKES = {
    "shared/peerlink/broker_admin.py": {"http://user:pass@"},  # the docstring's URL shape
    "shared/tests/test_central_link.py": {"amqps://merthyr:secret@"},  # passed through to the shovel
    "shared/tests/test_config.py": {"mysql://user:hunter2@"},  # refused, and redacted in the message
    "tests/test_deploy.py": {"amqp://merthyr-referrals:Zq81xkd@", "amqp://{user}:{password}@"},  # the scanner's own
}


def _scanner():
    spec = importlib.util.spec_from_file_location("deploy_checks", ROOT / "tests" / "test_deploy.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.secrets_in


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / name for name in listed.splitlines() if TEXT.search(name) and (ROOT / name).is_file()]


def test_no_tracked_file_holds_what_looks_like_a_secret():
    secrets_in = _scanner()
    files = tracked_text_files()
    found = {}
    for path in files:
        text = path.read_text(errors="replace")
        known = KNOWN_FAKES.get(str(path.relative_to(ROOT)), set())
        if path == Path(__file__).resolve():  # this file names them all, above
            known = set().union(*KNOWN_FAKES.values())
        hits = [hit for hit in secrets_in(text, python=path.suffix == ".py") if hit not in known]
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    print(f"{len(files)} tracked text files scanned")
    assert len(files) > 200
    assert found == {}, found


@pytest.mark.parametrize("name", ["PEERLINK_API_TOKENS"])
def test_no_setting_defaults_to_a_secret(name):
    settings = load_settings("referrals", default_port=8101, environ={"PEERLINK_SITE": "merthyr"})
    # No token is accepted unless the operator configured one; the default broker URL is the
    # local development broker's own guest account, which RabbitMQ lets in from localhost only.
    assert settings.tokens == ()
    assert settings.amqp_url == "amqp://guest:guest@localhost:5672/merthyr"
    assert not [k for k in settings.extra if re.search("PASSWORD|SECRET|TOKEN", k)]


def test_a_token_itself_is_refused_where_its_digest_belongs():
    with pytest.raises(ConfigError, match="never the token itself"):
        load_settings(
            "referrals",
            default_port=8101,
            environ={"PEERLINK_SITE": "merthyr", "PEERLINK_API_TOKENS": "coordinator:merthyr:plain-token"},
        )

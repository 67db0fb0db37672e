import subprocess

from notifications.app import DEFINITION
from peerlink.testing import assert_service_starts


def test_the_service_migrates_and_serves_health_and_openapi(database_url):
    assert_service_starts(DEFINITION, database_url)


def test_the_worker_refuses_to_start_without_an_smtp_url_in_one_line(tmp_path):
    env = {"PATH": _path(), "PEERLINK_SITE": "ebbw-vale", "PEERLINK_VAR_DIR": str(tmp_path)}
    subprocess.run(["peerlink-notifications", "migrate"], env=env, capture_output=True, check=True, timeout=60)
    result = subprocess.run(["peerlink-notifications", "work"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "peerlink-notifications: PEERLINK_SMTP_URL is not set (expected a smtp/smtp+starttls/smtps URL)"
    ]


def _path() -> str:
    import os
    import sys

    return os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

import os
import subprocess
import sys


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    return subprocess.run(
        ["peerlink-referrals", *args], env={"PATH": path, **env}, capture_output=True, text=True, timeout=60
    )


def test_a_missing_site_fails_at_start_with_one_clear_line():
    result = run("serve")
    assert result.returncode == 2
    assert result.stderr.strip() == "peerlink-referrals: PEERLINK_SITE is not set (a site slug such as ebbw-vale)"


def test_a_malformed_setting_fails_at_start_with_one_clear_line():
    result = run("migrate", PEERLINK_SITE="ebbw-vale", PEERLINK_AMQP_URL="rabbit://nowhere")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "peerlink-referrals: PEERLINK_AMQP_URL: 'rabbit://nowhere' is not an amqp://host/vhost URL"
    ]


def test_migrate_brings_a_fresh_database_to_head(tmp_path):
    result = run("migrate", PEERLINK_SITE="ebbw-vale", PEERLINK_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "ebbw-vale" / "referrals.db").is_file()


def test_serve_and_work_refuse_a_database_that_is_not_migrated(tmp_path):
    for command in ("serve", "work"):
        result = run(command, PEERLINK_SITE="ebbw-vale", PEERLINK_VAR_DIR=str(tmp_path))
        assert result.returncode == 2
        assert result.stderr.strip() == (
            "peerlink-referrals: the database is not at the latest migration; run `peerlink-referrals migrate` first"
        )

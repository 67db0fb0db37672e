from events.app import DEFINITION
from peerlink.testing import assert_service_starts


def test_the_service_migrates_and_serves_health_and_openapi(database_url):
    assert_service_starts(DEFINITION, database_url)

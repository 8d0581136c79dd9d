import pytest

from tests.faults.stack import SmtpStandIn, Stack, drop_database, fresh_database
from tests.realtime_support import RedisServer


@pytest.fixture(scope="session")
def stack():
    """gunicorn + daphne + the task worker on PostgreSQL, with a Redis and an SMTP server of the
    suite's own. Each scenario leaves both running and answering when it ends."""
    database = fresh_database()
    redis = RedisServer()
    redis.start()
    smtp = SmtpStandIn()
    running = Stack(database_url=database, redis=redis, smtp=smtp)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        redis.stop()
        smtp.close()
        drop_database(database)

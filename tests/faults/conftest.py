import pytest

from tests import pgbouncer_support
from tests.faults.report import FaultReport, summary_lines
from tests.faults.stack import SmtpStandIn, Stack, drop_database, fresh_database
from tests.pgbouncer_support import PgBouncer
from tests.realtime_support import RedisServer

REPORTS = pytest.StashKey[list[FaultReport]]()


@pytest.fixture(scope="session")
def stack():
    """gunicorn + daphne + the task worker on PostgreSQL (through a PgBouncer of the suite's own
    when pgbouncer is installed), with a Redis and an SMTP server of the suite's own. Each
    scenario leaves them all running and answering when it ends."""
    database = fresh_database()
    redis = RedisServer()
    redis.start()
    smtp = SmtpStandIn()
    bouncer = None
    if pgbouncer_support.available() is None:
        bouncer = PgBouncer(database)
        bouncer.start()
    running = Stack(database_url=database, redis=redis, smtp=smtp, pgbouncer=bouncer)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        redis.stop()
        smtp.close()
        if bouncer is not None:
            bouncer.close()
        drop_database(database)


@pytest.fixture
def fault_report(request: pytest.FixtureRequest) -> FaultReport:
    """The figures of this scenario (requests, faults, 5xx, writes lost and doubled), printed in
    the run's terminal summary whether or not output is captured."""
    report = FaultReport(request.node.nodeid)
    request.config.stash.setdefault(REPORTS, []).append(report)
    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    reports = config.stash.get(REPORTS, [])
    if reports:
        terminalreporter.section("fault suite")
        terminalreporter.write_line(
            "PostgreSQL through PgBouncer (transaction pooling)"
            if pgbouncer_support.available() is None
            else f"PostgreSQL directly: {pgbouncer_support.available()}"
        )
        for line in summary_lines(reports):
            terminalreporter.write_line(line)

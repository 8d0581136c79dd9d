"""A failure repeated on every request while a dependency is down is logged now and then."""

import logging

from config.log_filters import NowAndThen


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord("django_redis.cache", logging.ERROR, __file__, 1, message, (), None)


def test_one_record_per_message_and_interval_with_a_count_of_the_rest(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("config.log_filters.time.monotonic", lambda: clock[0])
    only = NowAndThen(seconds=30)

    assert only.filter(record("Exception ignored"))
    assert not only.filter(record("Exception ignored"))
    assert not only.filter(record("Exception ignored"))
    assert only.filter(record("Another failure"))  # a different message is news

    clock[0] += 31
    later = record("Exception ignored")
    assert only.filter(later)
    assert later.getMessage() == "Exception ignored (and 2 more like it in 30 s)"

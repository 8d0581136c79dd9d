"""Logging filters for failures that repeat on every request while a dependency is down."""

from __future__ import annotations

import logging
import threading
import time


class NowAndThen(logging.Filter):
    """Pass one record per logger and message every `seconds`, counting what it held back."""

    def __init__(self, seconds: float = 30.0) -> None:
        super().__init__()
        self.seconds = seconds
        self._last: dict[tuple[str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = time.monotonic()
        with self._lock:
            last, held = self._last.get(key, (-self.seconds, 0))
            if now - last < self.seconds:
                self._last[key] = (last, held + 1)
                return False
            self._last[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more like it in {self.seconds:g} s)"
        return True

"""Clients that keep a mix of requests going while a fault test breaks a dependency."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import requests


@dataclass
class Traffic:
    """Runs each kind of request in a loop on its own thread until stopped; records answers."""

    # kind, status, seconds taken, time.monotonic() when it was sent
    answers: list[tuple[str, int, float, float]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # kind, error (no answer)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, kind: str, request: Callable[[int], requests.Response | None]) -> None:
        """Call `request(n)` for n = 0, 1, 2 ... until stopped (None: nothing was sent)."""

        def loop() -> None:
            n = 0
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    response = request(n)
                except requests.RequestException as error:
                    with self._lock:
                        self.failures.append((kind, f"{type(error).__name__}: {error}"))
                else:
                    if response is not None:
                        with self._lock:
                            self.answers.append(
                                (kind, response.status_code, time.monotonic() - started, started)
                            )
                n += 1
                time.sleep(0.02)

        thread = threading.Thread(target=loop, name=f"traffic {kind}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def server_errors(self) -> list[tuple[str, int, float, float]]:
        return [answer for answer in self.answers if answer[1] >= 500]

    def kinds_sent_between(self, start: float, end: float) -> set[str]:
        """The kinds of request sent and answered in this window (e.g. while Redis was down)."""
        return {kind for kind, _, _, at in self.answers if start <= at <= end}

    def summary(self) -> str:
        counts = Counter((kind, status) for kind, status, *_ in self.answers)
        slowest: dict[str, float] = {}
        for kind, _, seconds, _ in self.answers:
            slowest[kind] = max(slowest.get(kind, 0.0), seconds)
        return (
            f"answers: {dict(sorted(counts.items()))}; slowest: "
            f"{ {kind: round(s, 3) for kind, s in sorted(slowest.items())} }; "
            f"failures: {self.failures[:5]}"
        )

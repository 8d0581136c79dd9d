"""What each fault scenario did and saw, for the run's summary: requests made, faults injected,
5xx answers, writes lost (answered as stored, not stored) and writes doubled (stored twice)."""

from __future__ import annotations

from dataclasses import dataclass

from tests.faults.traffic import Traffic


@dataclass
class FaultReport:
    test: str
    requests: int = 0
    faults: int = 0
    server_errors: int = 0
    lost: int | None = None  # None: the scenario did not count it
    doubled: int | None = None
    failed_but_stored: int | None = None

    def add_traffic(self, traffic: Traffic) -> None:
        """Count a Traffic's answers and failures (no answer) as requests, its 5xx as errors."""
        self.requests += len(traffic.answers) + len(traffic.failures)
        self.server_errors += len(traffic.server_errors())

    def count_writes(self, *, lost: int, doubled: int, failed_but_stored: int = 0) -> None:
        self.lost = (self.lost or 0) + lost
        self.doubled = (self.doubled or 0) + doubled
        self.failed_but_stored = (self.failed_but_stored or 0) + failed_but_stored

    def line(self) -> str:
        def figure(value: int | None) -> str:
            return "-" if value is None else str(value)

        return (
            f"{self.test}: requests={self.requests} faults={self.faults} "
            f"5xx={self.server_errors} lost={figure(self.lost)} doubled={figure(self.doubled)} "
            f"failed_but_stored={figure(self.failed_but_stored)}"
        )


def summary_lines(reports: list[FaultReport]) -> list[str]:
    lines = [report.line() for report in reports]
    total = FaultReport("total")
    for report in reports:
        total.requests += report.requests
        total.faults += report.faults
        total.server_errors += report.server_errors
        if report.lost is not None:
            total.count_writes(
                lost=report.lost,
                doubled=report.doubled or 0,
                failed_but_stored=report.failed_but_stored or 0,
            )
    return [*lines, total.line()]

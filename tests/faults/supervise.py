"""Run a command again whenever it exits, as the README's deploy supervisor does for the task
worker (systemd `Restart=always`): `python -m tests.faults.supervise <command...>`.

A worker whose database connection is cut mid-task exits; in production its supervisor starts
it again, and the fault suite's stack must do the same to show that no mail is lost."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

child: subprocess.Popen | None = None


def _stop(signum: int, frame: object) -> None:
    if child is not None and child.poll() is None:
        child.send_signal(signum)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
    sys.exit(0)


def main(command: list[str]) -> None:
    global child
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while True:
        child = subprocess.Popen(command)
        status = child.wait()
        print(f"supervise: {command[2:3]} exited with {status}; starting it again", flush=True)
        time.sleep(0.5)


if __name__ == "__main__":
    main(sys.argv[1:])

"""The server entry points take their start-up heap out of the garbage collector's full passes
(docs/decisions/0076): a full pass in a request walks only what requests made."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, sys
import {module}
print(gc.get_freeze_count(), "ops.views.orders" in sys.modules, len(gc.get_objects()))
"""


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi"])
def test_the_entry_point_freezes_django_and_every_view(module: str) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    frozen, views_loaded, left = done.stdout.split()
    # The views were imported before the freeze (the URLconf), so the first request's imports
    # are not left for the collector: what it still walks is a small part of the heap.
    assert views_loaded == "True"
    assert int(frozen) > 100_000
    assert int(left) < int(frozen) / 10

"""The artwork check and its mockup on a typical front print: a 4,500 × 5,400 RGBA PNG (15 × 18 in
at 300 DPI), beside the floor, the time Pillow takes merely to decode the same file.

    flock /tmp/printshop-heavy.lock .venv/bin/python bench/preflight.py [--runs 20]

Peak memory is measured in a child process per measure (the process's maximum resident set,
VmHWM, over 3 runs); the times in one more child that takes turns, so both see the same load on
a shared machine. `decode` opens and loads the PNG; `check` runs
`artwork.preflight.check_design` on the file's bytes for a 12 × 16 in print area and draws one
mockup from the copy it measured (`artwork.mockups.draw_mockup`), as the preflight task does.
Warm-up first, then p50/p95 over `--runs` each. Reported: p95 and peak memory of each, the
check's p95 as a multiple of the decode's, and the memory above the process's baseline (Python,
Django and the file's bytes loaded, before the first run).
Goals (issue 24): check + mockup p95 ≤ 400 ms, peak memory ≤ 250 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZE = (4500, 5400)
P95_GOAL_MS = 400
MEMORY_GOAL_MB = 250
DESIGN = Path("/tmp/printshop-bench-preflight.png")


def make_design() -> bytes:
    """Artwork as a designer exports it: shapes with smooth (semi-transparent) edges, a soft
    gradient band and text, on a transparent background; written once and reused."""
    if DESIGN.exists():
        return DESIGN.read_bytes()
    from PIL import Image, ImageDraw, ImageFilter

    width = SIZE[0]
    image = Image.new("RGBA", SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for i in range(30):
        box = (200 + i * 110, 300 + i * 120, 1600 + i * 90, 1700 + i * 100)
        draw.ellipse(box, fill=((i * 37) % 255, 90 + i * 4, 220 - i * 5, 255))
    gradient = Image.linear_gradient("L").resize((width - 400, 600))
    opaque = Image.new("L", gradient.size, 255)
    band = Image.merge(
        "RGBA", (gradient, gradient.transpose(Image.Transpose.ROTATE_180), gradient, opaque)
    )
    image.paste(band, (200, 4200))
    draw.text((600, 4950), "PRINT SHOP BENCH", fill=(20, 20, 20, 255), font_size=300)
    alpha = image.getchannel("A").filter(ImageFilter.GaussianBlur(2))  # antialiased edges
    image.putalpha(alpha)
    out = BytesIO()
    image.save(out, format="PNG")
    DESIGN.write_bytes(out.getvalue())
    return out.getvalue()


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it is not inherited across
    exec from the parent that drew the design)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, runs: int) -> dict:
    os.environ.update(
        {
            "DATABASE_URL": "sqlite://:memory:",
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-insecure-key",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
    )
    import django

    django.setup()
    from PIL import Image

    from artwork.mockups import draw_mockup
    from artwork.preflight import PrintArea, check_design
    from production.models import Placement

    data = DESIGN.read_bytes()
    area = PrintArea("Front", 12, 16)
    placement = Placement(code="front", name="Front", width_in=12, height_in=16)

    def decode() -> None:
        with Image.open(BytesIO(data)) as image:
            image.load()

    def check() -> None:
        result = check_design(data, area)
        assert result.preview is not None, result.checks
        draw_mockup(result.preview, "#1d3557", placement)

    if mode == "time":
        # Both, taking turns: on a shared machine the load changes by the minute, and the ratio
        # is only fair when the two see the same load.
        decode(), check()  # warm-up
        times: dict[str, list[float]] = {"decode": [], "check": []}
        for _ in range(runs):
            for name, work in (("decode", decode), ("check", check)):
                started = time.perf_counter()
                work()
                times[name].append((time.perf_counter() - started) * 1000)
        return {name: _percentiles(values) for name, values in times.items()}
    work = decode if mode == "decode" else check
    baseline = peak_mb()
    for _ in range(3):
        work()
    return {"peak": peak_mb(), "above_baseline": peak_mb() - baseline}


def _percentiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"p50": statistics.median(values), "p95": values[max(0, round(0.95 * len(values)) - 1)]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--child", choices=["decode", "check", "time"])
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.runs)))
        return
    data = make_design()
    megabytes = len(data) / 1e6
    print(f"design: {SIZE[0]:,} × {SIZE[1]:,} RGBA PNG, {megabytes:.1f} MB; runs: {args.runs}")
    results = {}
    for mode in ("decode", "check", "time"):
        done = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--runs", str(args.runs)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    for mode, label in (("decode", "decode only (the floor)"), ("check", "check + mockup")):
        r, t = results[mode], results["time"][mode]
        print(
            f"{label:24} p50 {t['p50']:6.0f} ms  p95 {t['p95']:6.0f} ms  "
            f"peak {r['peak']:5.0f} MB ({r['above_baseline']:.0f} MB above baseline)"
        )
    ratio = results["time"]["check"]["p95"] / results["time"]["decode"]["p95"]
    check = {**results["check"], **results["time"]["check"]}
    print(
        f"check + mockup / decode (p95): {ratio:.2f}x; goals p95 ≤ {P95_GOAL_MS} ms: "
        f"{'met' if check['p95'] <= P95_GOAL_MS else 'missed'}, peak ≤ {MEMORY_GOAL_MB} MB: "
        f"{'met' if check['peak'] <= MEMORY_GOAL_MB else 'missed'}"
    )


if __name__ == "__main__":
    main()

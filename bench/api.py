"""GET /api/production/<id> against a bare Django JSON view, under daphne and under gunicorn.

The order has 5 line items, 10 events and 2 artwork proof revisions; its queries per request are
also checked for an order with 1 and one with 10 proof revisions (they must be the same).

Usage (PostgreSQL, as production runs):  .venv/bin/python bench/api.py [--seconds 5]
Needs `wrk` (Debian: apt-get install wrk). Creates and reuses the database printshop_bench_api.
The two endpoints alternate `--rounds` times on each server. Prints req/s, p99 and the server's CPU
per request (all its processes, from /proc) for each run, the order/bare ratios of both (median and
by round), queries per request, and the production setup (gunicorn WSGI workers) against daphne for
the order endpoint.

--compare-metrics: the order endpoint under gunicorn only, with Prometheus metrics off
(METRICS_ENABLED=false) and on (multiprocess, as production runs them), alternating, --rounds
times each; prints each run, the medians and the overhead (goal: under 5 % of throughput).
"""

import argparse
import atexit
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-not-secret",
    "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "SECURE_SSL_REDIRECT": "false",
    "DATABASE_URL": os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/printshop_bench_api"
    ),
    # Production shares one cache between processes: the order JSON and token cache live there.
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
    "CACHE_PREFIX": "bench-api",
    "LOG_LEVEL": "WARNING",
    "MEDIA_ROOT": os.environ.get("BENCH_MEDIA_ROOT", "/tmp/printshop-bench-media"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def ensure_database() -> None:
    url = ENV["DATABASE_URL"]
    if url.startswith("postgres"):
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')


def prepare() -> tuple[str, str, list[int]]:
    """Migrate, then make one order with 5 line items and 10 events; return its id and a token."""
    os.environ.update(ENV)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from production.lifecycle import EventSource, OrderState
    from production.models import Garment, ProductionOrder
    from production.pricing import SizeQuantity
    from production.services.messages import add_customer_message
    from production.services.orders import create_draft_order, submit_paid_order
    from production.services.proofs import decide_proof
    from tests.factories import UserFactory, make_proof, operator_user, token_for

    call_command("migrate", verbosity=0)
    garment, _ = Garment.objects.get_or_create(
        shopify_gid="gid://shopify/Product/bench",
        defaults={"name": "Bench Tee", "sizes": ["XS", "S", "M", "L", "XL"], "base_price": 1800},
    )
    user = UserFactory(email="bench-proofs@example.com")
    operator = operator_user(email="bench-operator@example.com")

    def paid_order() -> ProductionOrder:
        order = create_draft_order(
            owner=user,
            garment_gid=garment.shopify_gid,
            design_url="https://cdn.example.com/bench.png",
            sizes=[SizeQuantity(s, 2) for s in garment.sizes],
        )
        submit_paid_order(order=order, amount_total=order.total_amount, currency=order.currency)
        return order

    orders = list(ProductionOrder.objects.filter(owner=user).order_by("created_at"))
    if len(orders) != 3:
        # The benchmarked order: proof 1, changes requested, proof 2 approved by the customer.
        order = paid_order()
        make_proof(order, operator=operator)
        decide_proof(
            order=order.pk, revision=1, decision="request_changes", comment="Up", actor=user
        )
        make_proof(order, operator=operator)
        decide_proof(order=order.pk, revision=2, decision="approve", actor=user)
        for i in range(4):
            add_customer_message(
                order=order, author=None, body=f"Update {i}", source=EventSource.SYSTEM
            )
        orders = [order]
        for revisions in (1, 10):  # for the query count only
            extra = paid_order()
            for _ in range(revisions):
                make_proof(extra, operator=operator)
            orders.append(extra)
    order = ProductionOrder.objects.get(pk=orders[0].pk)
    assert order.status == OrderState.APPROVED
    assert (order.line_items.count(), order.events.count(), order.proofs.count()) == (5, 10, 2)
    token = token_for(user)
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    cache.clear()
    counts = []
    for _ in range(2):  # cold, then warm (the order JSON and the token user are cached)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/api/production/{order.pk}").status_code == 200
        counts.append(len(ctx.captured_queries))
    by_revisions = []
    for extra in orders[1:]:
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/api/production/{extra.pk}").status_code == 200
        by_revisions.append(len(ctx.captured_queries))
    print(
        f"queries per cold request: {by_revisions[0]} with 1 proof revision, {by_revisions[1]} "
        "with 10 (goal: the same)"
    )
    assert by_revisions[0] == by_revisions[1], by_revisions
    return str(order.pk), token, counts


wrk_requests: dict[str, int] = {}  # requests wrk made per URL, all runs


def scraped_requests(base: str) -> float:
    """The GET requests /metrics counted (itself aside), every gunicorn worker added up."""
    from urllib.request import Request, urlopen

    request = Request(f"{base}/metrics", headers={"Authorization": "Bearer bench"})
    with urlopen(request, timeout=10) as response:
        text = response.read().decode()
    count = r"printshop_http_request_duration_seconds_count{([^}]*)} ([\d.e+]+)"
    return sum(
        float(value)
        for labels, value in re.findall(count, text)
        if 'method="GET"' in labels and 'view="metrics"' not in labels
    )


def warm_up(url: str, token: str, requests: int) -> None:
    """Requests one after another until every worker has imported and cached what it needs (its
    first request loads the URLconf and the app: seconds on a busy machine, past wrk's timeout)."""
    from urllib.request import Request, urlopen

    for _ in range(requests):
        with urlopen(Request(url, headers={"Authorization": f"Token {token}"}), timeout=60) as r:
            r.read()
    wrk_requests[url] = wrk_requests.get(url, 0) + requests


def run_wrk(url: str, token: str, seconds: int, connections: int) -> tuple[float, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-H", f"Authorization: Token {token}", url],
        capture_output=True, text=True, check=True, timeout=seconds + 30,
    ).stdout  # fmt: skip
    if "Non-2xx" in out:
        raise RuntimeError(f"errors while benchmarking {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    wrk_requests[url] = wrk_requests.get(url, 0) + int(
        re.search(r"(\d+) requests in", out).group(1)
    )
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()
    p99_ms = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    return rps, p99_ms


def serve(
    kind: str, port: int, workers: int, extra_env: dict[str, str] | None = None
) -> subprocess.Popen:
    bin_dir = Path(sys.executable).parent
    if kind == "daphne":
        cmd = [
            sys.executable,
            "-m",
            "production.plumbing.bounded_daphne",  # as production serves it
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "config.asgi:application",
        ]
    else:
        cmd = [str(bin_dir / "gunicorn"), "-c", "config/gunicorn_conf.py",
               "config.wsgi:application", "-b", f"127.0.0.1:{port}",
               "-w", str(workers), "--log-level", "warning"]  # fmt: skip
    # As deployed (README): gunicorn keeps connections, daphne borrows from psycopg's pool.
    pooling = {"DATABASE_POOL": "true"} if kind == "daphne" else {"CONN_MAX_AGE": "600"}
    env = {**os.environ, **ENV, **pooling, **(extra_env or {})}
    process = subprocess.Popen(
        cmd, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL
    )
    wait_for(port)
    return process


def session_cpu(process: subprocess.Popen) -> float:
    """CPU seconds (utime + stime) of every process in the server's session: gunicorn's master
    and its workers, or daphne (each is started in a session of its own)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[3]) == process.pid:  # fields[3] is the session id (stat's 6th field)
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def cpu_per_request(order_id: str, token: str, rounds: int, requests: int = 4000) -> None:
    """CPU time per order read in this process (the whole middleware stack, Django's test client),
    metrics off and on in turns of 20 requests, so that the machine's load falls on both alike:
    steadier than req/s on a busy machine, and an upper bound of the throughput cost (the server
    and wrk add CPU that metrics do not)."""
    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    path = f"/api/production/{order_id}"
    for enabled in (False, True):  # warm: caches, labelled series
        settings.METRICS_ENABLED = enabled
        for _ in range(200):
            client.get(path)
    medians: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        spent = {False: 0.0, True: 0.0}
        for turn in range(requests // 20):
            enabled = turn % 2 == 1
            settings.METRICS_ENABLED = enabled
            started = time.process_time()
            for _ in range(20):
                client.get(path)
            spent[enabled] += time.process_time() - started
        for enabled in (False, True):
            medians[enabled].append(spent[enabled] / (requests / 2) * 1e6)
    settings.METRICS_ENABLED = True
    off, on = statistics.median(medians[False]), statistics.median(medians[True])
    each = ", ".join(f"{a:.0f}/{b:.0f}" for a, b in zip(medians[False], medians[True], strict=True))
    print(f"in-process CPU per order read, off/on by round (us): {each}")
    extra = (on - off) / off * 100
    print(f"median CPU per request: off {off:.0f} us, on {on:.0f} us: {extra:+.1f} %")


def compare_metrics(order_id: str, token: str, args: argparse.Namespace) -> None:
    """The order endpoint under gunicorn with metrics off and on, alternating."""
    path = f"/api/production/{order_id}"
    runs: dict[str, list[float]] = {"off": [], "on": []}
    print(f"{'gunicorn, metrics':<22}{'round':>6}{'req/s':>10}{'p99 ms':>10}")
    for round_number in range(1, args.rounds + 1):
        for mode in ("off", "on"):
            with tempfile.TemporaryDirectory(prefix="printshop-prom-") as directory:
                extra = (
                    {"METRICS_ENABLED": "false"}
                    if mode == "off"
                    else {
                        "METRICS_ENABLED": "true",
                        "PROMETHEUS_MULTIPROC_DIR": directory,
                        "METRICS_TOKEN": "bench",
                    }
                )
                port = free_port()
                process = serve("gunicorn", port, args.workers, extra)
                try:
                    base = f"http://127.0.0.1:{port}"
                    warm_up(base + path, token, requests=10 * args.workers)
                    run_wrk(base + path, token, 1, args.connections)
                    rps, p99 = run_wrk(base + path, token, args.seconds, args.connections)
                    if mode == "on":  # every worker's requests, through one scrape
                        counted = scraped_requests(base)
                        made = wrk_requests.pop(base + path)
                        print(f"  /metrics counted {counted:.0f} GETs; made {made} (+ in flight)")
                finally:
                    stop(process)
            runs[mode].append(rps)
            print(f"{mode:<22}{round_number:>6}{rps:>10.0f}{p99:>10.2f}")
    off, on = statistics.median(runs["off"]), statistics.median(runs["on"])
    overhead = (off - on) / off * 100
    print(f"median req/s: metrics off {off:.0f}, on {on:.0f}")
    print(f"metrics overhead: {overhead:.1f} % of throughput   (goal < 5 %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--compare-metrics", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")

    ensure_database()
    if args.compare_metrics:  # this process too counts as production does (before the imports)
        directory = tempfile.mkdtemp(prefix="printshop-prom-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    order_id, token, queries = prepare()
    print(
        f"order with 5 line items, 10 events, 2 proofs; queries per request: {queries[0]} cold, "
        f"{queries[1]} warm (Redis cache)"
    )
    if args.compare_metrics:
        cpu_per_request(order_id, token, args.rounds)
        compare_metrics(order_id, token, args)
        return
    print(f"{'server':<22}{'endpoint':<26}{'round':>6}{'req/s':>10}{'p99 ms':>10}{'CPU us':>9}")
    endpoints = [
        ("bare JSON /healthz", "/healthz"),
        ("GET /api/production/<id>", f"/api/production/{order_id}"),
    ]
    results: dict[str, dict[str, float]] = {}
    for kind in ("daphne", "gunicorn"):
        port = free_port()
        process = serve(kind, port, args.workers)
        label = "daphne (1 process)" if kind == "daphne" else f"gunicorn ({args.workers} workers)"
        rates: dict[str, list[float]] = {name: [] for name, _ in endpoints}
        cpu: dict[str, list[float]] = {name: [] for name, _ in endpoints}
        try:
            base = f"http://127.0.0.1:{port}"
            # Warm up: connections, imports, caches.
            run_wrk(f"{base}/api/production/{order_id}", token, 1, args.connections)
            # The two endpoints alternate, so that the machine's drift falls on both alike; the
            # server's own CPU per request (every process of it, from /proc) beside req/s.
            for round_number in range(1, args.rounds + 1):
                for name, path in endpoints:
                    made, spent = wrk_requests.get(base + path, 0), session_cpu(process)
                    rps, p99 = run_wrk(base + path, token, args.seconds, args.connections)
                    made = wrk_requests[base + path] - made
                    rates[name].append(rps)
                    cpu[name].append((session_cpu(process) - spent) / made * 1e6)
                    print(
                        f"{label:<22}{name:<26}{round_number:>6}{rps:>10.0f}{p99:>10.2f}"
                        f"{cpu[name][-1]:>9.0f}"
                    )
        finally:
            stop(process)
        bare, order = (name for name, _ in endpoints)
        results[kind] = {name: statistics.median(rates[name]) for name in rates}
        by_rate = [o / b for o, b in zip(rates[order], rates[bare], strict=True)]
        by_cpu = [b / o for o, b in zip(cpu[order], cpu[bare], strict=True)]
        print(
            f"{label:<22}order / bare: req/s {statistics.median(by_rate):.2f} "
            f"({', '.join(f'{r:.2f}' for r in by_rate)}), CPU per request "
            f"{statistics.median(by_cpu):.2f} ({', '.join(f'{r:.2f}' for r in by_cpu)})"
            "   (goal >= 0.5)"
        )
    speedup = (
        results["gunicorn"]["GET /api/production/<id>"]
        / results["daphne"]["GET /api/production/<id>"]
    )
    print(f"production setup / daphne for the order endpoint: {speedup:.1f}x   (goal >= 5x)")


if __name__ == "__main__":
    main()

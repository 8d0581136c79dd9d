"""The load process of bench/launch.py: locust (as a library, headless) driving the running shop.

Started by bench/launch.py with a JSON config file (argv[1]); prints one JSON line per step
(prefixed "STEP ") and nothing else on stdout. Never run by the test suite (locust is the `bench`
extra).

People:
- Customers (FastHttpUser, one journey each, arrivals at `rate` per second through
  constant_pacing): arrive signed in (a seeded session, as a returning customer; 10 % log in
  through the login form), create an order (half `POST /api/production` with their API token,
  half the `/orders/new/` form), open their order page and its socket (websocket-client in a
  greenlet of its own, kept open until the order is fulfilled), pay (a signed
  `checkout.session.completed` posted to the webhook as Stripe does; 10 % delivered twice), and
  reload their order list now and then (30 %).
- Operators (a fixed number): approve paid orders in bulk on /ops/orders, move each through
  Printing → Finishing → Ready by PATCH, fulfil it, and page the dashboard with filters.

Expected socket messages, per customer: one `event.created` for every event of their order
created after their socket opened (each change of their own order: paid, approved, printing,
finishing, ready, fulfilled), plus an `order.updated` for each change; the share counts the
events received.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import contextlib  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from http.cookiejar import Cookie  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import gevent.pool  # noqa: E402
import psycopg  # noqa: E402
import stripe  # noqa: E402
import websocket  # noqa: E402  (websocket-client; cooperative once gevent patched sockets)
from gevent.queue import Queue  # noqa: E402
from locust import FastHttpUser, constant_pacing, task  # noqa: E402
from locust.contrib.fasthttp import FastHttpSession  # noqa: E402
from locust.env import Environment  # noqa: E402

CONFIG = json.loads(Path(sys.argv[1]).read_text()) if len(sys.argv) > 1 else {}
PEOPLE = CONFIG.get("people", {})
HOST = CONFIG.get("http", "")
WS = CONFIG.get("ws", "")
PRICE = 3 * 1800
# One of this site's own static designs (SITE_URL is http://127.0.0.1): the artwork worker checks
# it from disk, as a shop's own hosted designs are, never over the network.
DESIGN_URL = "http://127.0.0.1/static/demo/design-0.svg"
CSRF = "launchbenchcsrftoken0123456789ab"  # 32 characters: Django's unmasked CSRF secret form


# --- shared state of the load process ------------------------------------------------------------


@dataclass
class Journey:
    order_id: str = ""
    socket_opened_at: float = 0.0
    paid_at: float = 0.0
    first_paid_message_at: float = 0.0
    received_events: set[str] = field(default_factory=set)
    updates: int = 0
    fulfilled_at: float = 0.0
    socket: websocket.WebSocket | None = None
    socket_error: str = ""
    finished: bool = False  # the customer's part of the journey (the operators' is after)


@dataclass
class Step:
    number: int
    rate: float
    started: float = 0.0
    arrivals_ended: float = 0.0
    journeys: list[Journey] = field(default_factory=list)


class State:
    step: Step | None = None
    customers = itertools.cycle(PEOPLE.get("customers", [{}]))
    operators = itertools.cycle(PEOPLE.get("operators", [{}]))
    paid: Queue = Queue()
    approved: Queue = Queue()  # (order_id, next step index)
    journeys: dict[str, Journey] = {}


def cookie(name: str, value: str) -> Cookie:
    return Cookie(
        0, name, value, None, False, "127.0.0.1", False, False, "/", True, False, None, False,
        None, None, {},
    )  # fmt: skip


def session_for(user: FastHttpUser, session_key: str) -> FastHttpSession:
    """A browser of its own (cookies) for one customer, sharing the user's request stats."""
    client = FastHttpSession(
        base_url=HOST, request_event=user.environment.events.request, user=user
    )
    client.cookiejar.set_cookie(cookie("csrftoken", CSRF))
    if session_key:
        client.cookiejar.set_cookie(cookie("sessionid", session_key))
    return client


def csrf(client: FastHttpSession) -> str:
    """The CSRF token the browser holds now (logging in replaces it)."""
    return next((c.value for c in client.cookiejar if c.name == "csrftoken"), CSRF)


def fail(user: FastHttpUser, name: str, started: float, error: str) -> None:
    user.environment.events.request.fire(
        request_type="WS" if name.startswith("socket") else "CHECK",
        name=name,
        response_time=(time.perf_counter() - started) * 1000,
        response_length=0,
        exception=Exception(error),
        context={},
    )


# --- customers -----------------------------------------------------------------------------------


class Customer(FastHttpUser):
    wait_time = constant_pacing(1.0)  # one arrival per user per second
    host = HOST

    @task
    def journey(self) -> None:
        step = State.step
        if step is None:
            gevent.sleep(0.2)
            return
        person = next(State.customers)
        journey = Journey()
        step.journeys.append(journey)
        try:
            self.walk(step, journey, person)
        finally:
            journey.finished = True

    def walk(self, step: Step, journey: Journey, person: dict) -> None:
        form = random.random() < 0.5
        # A few log in through the form; the rest come back signed in (a seeded session).
        logs_in = random.random() < CONFIG.get("login_share", 0.02)
        client = session_for(self, "" if logs_in else person["session"])
        if not any(c.name == "sessionid" for c in client.cookiejar):
            self.log_in(client, person)
        order_id = self.order_by_form(client) if form else self.order_by_api(client, person)
        if not order_id:
            return
        journey.order_id = order_id
        State.journeys[order_id] = journey
        with client.get(f"/orders/{order_id}/", name="order page", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}")
        self.open_socket(client, journey)
        self.pay(journey)
        if random.random() < 0.3:
            client.get("/orders/", name="order list")

    def log_in(self, client: FastHttpSession, person: dict) -> None:
        client.get("/accounts/login/", name="login page")
        with client.post(
            "/accounts/login/",
            data={
                "username": person["email"],
                "password": PEOPLE["password"],
                "csrfmiddlewaretoken": csrf(client),
            },
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code != 302:
                r.failure(f"login answered {r.status_code}")

    def order_by_api(self, client: FastHttpSession, person: dict) -> str:
        body = {
            "designUrl": DESIGN_URL,
            "garmentId": PEOPLE["garment"],
            "sizes": [{"size": "M", "quantity": 2}, {"size": "L", "quantity": 1}],
        }
        with client.post(
            "/api/production",
            json=body,
            headers={"Authorization": f"Token {person['token']}"},
            name="create order (API)",
            catch_response=True,
        ) as r:
            if r.status_code != 201:
                r.failure(f"{r.status_code} {r.text[:200]}")
                return ""
            return r.json()["orderId"]

    def order_by_form(self, client: FastHttpSession) -> str:
        token = self.form_token(client)
        if not token:
            return ""
        location = self.post_order_form(client, token)
        if not location:
            return ""
        # The checkout page would come next; its session is the order's: find the order from it.
        session_id = location.rstrip("/").rsplit("/", 1)[-1]
        return self.order_for_session(client, session_id)

    def form_token(self, client: FastHttpSession) -> str:
        with client.get(
            f"/orders/new/?garment={PEOPLE['garment']}", name="order form", catch_response=True
        ) as r:
            match = re.search(r'name="form_token" value="([^"]+)"', r.text or "")
            if r.status_code != 200 or not match:
                r.failure(f"{r.status_code}: no form token")
                return ""
            return match.group(1)

    def post_order_form(self, client: FastHttpSession, token: str) -> str:
        """The order form posted; where it sends the customer (their checkout), or ""."""
        with client.post(
            "/orders/new/",
            data={
                "csrfmiddlewaretoken": csrf(client),
                "form_token": token,
                "garment": PEOPLE["garment"],
                "sizes_for": PEOPLE["garment"],
                "design_url": DESIGN_URL,
                "priority": "standard",
                "delivery": "pickup",  # no shipping line: the order costs PRICE
                "qty_m": "2",
                "qty_l": "1",
                "notes": "",
            },
            name="create order (form)",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            location = r.headers.get("Location", "") if r.status_code == 302 else ""
            if "/payments/checkout/" not in location:
                r.failure(f"{r.status_code} → {location!r}")
                return ""
            return location

    def order_for_session(self, client: FastHttpSession, session_id: str) -> str:
        with client.get("/orders/", name="order list", catch_response=True) as r:
            ids = re.findall(r'href="/orders/([0-9a-f-]{36})/"', r.text or "")
            if not ids:
                r.failure("the new order is not listed")
                return ""
            return ids[0]  # newest first

    def open_socket(self, client: FastHttpSession, journey: Journey) -> None:
        session = next((c.value for c in client.cookiejar if c.name == "sessionid"), "")
        started = time.perf_counter()
        try:
            ws = websocket.create_connection(
                f"{WS}/ws/orders/{journey.order_id}/",
                cookie=f"sessionid={session}",
                origin="http://127.0.0.1",
                timeout=10,
            )
        except Exception as exc:
            fail(self, "socket connect", started, repr(exc))
            return
        self.environment.events.request.fire(
            request_type="WS",
            name="socket connect",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=None,
            context={},
        )
        journey.socket = ws
        journey.socket_opened_at = time.time()
        gevent.spawn(listen, ws, journey)

    def pay(self, journey: Journey) -> None:
        payload = checkout_completed(journey.order_id)
        journey.paid_at = time.time()
        self.deliver(payload, "webhook (first)", "submitted")
        State.paid.put(journey.order_id)
        if random.random() < 0.1:
            self.deliver(payload, "webhook (duplicate)", "duplicate")

    def deliver(self, payload: str, name: str, outcome: str) -> None:
        header = stripe.WebhookSignature.generate_signature_header(payload, PEOPLE["secret"])
        with self.client.post(
            "/api/stripe/webhook",
            data=payload,
            headers={"Content-Type": "application/json", "Stripe-Signature": header},
            name=name,
            catch_response=True,
        ) as r:
            got = (r.json() or {}).get("outcome") if r.status_code == 200 else r.status_code
            if got != outcome:
                r.failure(f"expected {outcome}, got {got}")


def checkout_completed(order_id: str) -> str:
    """The `checkout.session.completed` event Stripe posts once the order is paid."""
    session = {
        "id": f"cs_launch_{order_id.replace('-', '')}",
        "object": "checkout.session",
        "client_reference_id": order_id,
        "amount_total": PRICE,  # what the order costs: 3 tees of the seeded garment
        "currency": "usd",
        "payment_status": "paid",
        "status": "complete",
        "payment_intent": f"pi_launch_{order_id[:8]}",
        "metadata": {"orderId": order_id},
    }
    return json.dumps(
        {
            "id": f"evt_launch_{order_id.replace('-', '')}",
            "object": "event",
            "type": "checkout.session.completed",
            "livemode": False,
            "data": {"object": session},
        }
    )


def listen(ws: websocket.WebSocket, journey: Journey) -> None:
    ws.settimeout(None)
    try:
        while True:
            text = ws.recv()
            if not text:
                return
            frame = json.loads(text)
            now = time.time()
            if frame.get("type") == "event.created":
                journey.received_events.add(str(frame["event"]["id"]))
            elif frame.get("type") == "order.updated":
                journey.updates += 1
                status = frame["order"].get("orderStatus")
                if status != "draft" and not journey.first_paid_message_at:
                    journey.first_paid_message_at = now
                if status == "fulfilled":
                    journey.fulfilled_at = journey.fulfilled_at or now
    except Exception as exc:  # closed by us at the end of the step, or by the server
        journey.socket_error = repr(exc)


# --- operators -----------------------------------------------------------------------------------

STEPS = [
    ({"status": "in_production"}, "PATCH printing"),
    ({"productionStatus": "Finishing"}, "PATCH finishing"),
    ({"productionStatus": "Ready"}, "PATCH ready"),
    ({"status": "fulfilled"}, "PATCH fulfil"),
]
DASHBOARD = [
    "/ops/orders?status=submitted",
    "/ops/orders?status=in_production&sort=priority",
    "/ops/orders?status=approved&production_status=Queued",
    "/ops/orders?status=fulfilled&sort=oldest",
    "/ops/orders",
]


class Operator(FastHttpUser):
    fixed_count = CONFIG.get("operators", 4)
    host = HOST

    def on_start(self) -> None:
        person = next(State.operators)
        self.token = person["token"]
        self.browser = session_for(self, person["session"])
        self.last_dashboard = 0.0

    def wait_time(self) -> float:
        return 0.05 if (State.paid.qsize() or State.approved.qsize()) else 0.2

    @task
    def work(self) -> None:
        if time.monotonic() - self.last_dashboard > 3:
            self.last_dashboard = time.monotonic()
            self.browser.get(random.choice(DASHBOARD), name="ops dashboard (filtered)")
        if State.paid.qsize():
            self.approve()
        for _ in range(5):
            if not State.approved.qsize():
                break
            order_id, index = State.approved.get()
            self.advance(order_id, index)

    def approve(self) -> None:
        ids = []
        while State.paid.qsize() and len(ids) < 50:
            ids.append(State.paid.get())
        form = [
            ("csrfmiddlewaretoken", csrf(self.browser)),
            ("change", "status:approved"),
            ("scope", "selected"),
        ]
        form += [("ids", order_id) for order_id in ids]
        with self.browser.post(
            "/ops/orders/bulk",
            data=urllib.parse.urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            name="ops bulk approve",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code != 302:
                r.failure(str(r.status_code))
                return
        for order_id in ids:
            State.approved.put((order_id, 0))

    def advance(self, order_id: str, index: int) -> None:
        body, name = STEPS[index]
        with self.client.patch(
            f"/api/production/{order_id}",
            json=body,
            headers={"Authorization": f"Token {self.token}"},
            name=name,
            catch_response=True,
        ) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code} {r.text[:200]}")
                return
        if index + 1 < len(STEPS):
            State.approved.put((order_id, index + 1))
        else:
            journey = State.journeys.get(order_id)
            if journey is not None:
                journey.fulfilled_at = journey.fulfilled_at or time.time()


# --- steps ---------------------------------------------------------------------------------------


def percentiles(entry) -> dict:
    return {
        "n": entry.num_requests,
        "errors": entry.num_failures,
        "p50": entry.get_response_time_percentile(0.5),
        "p95": entry.get_response_time_percentile(0.95),
        "p99": entry.get_response_time_percentile(0.99),
    }


def expected_events(orders: list[str]) -> dict[str, list[tuple[str, float]]]:
    if not orders:
        return {}
    with psycopg.connect(CONFIG["database_url"]) as db:
        rows = db.execute(
            "SELECT order_id::text, id::text, occurred_at FROM production_fulfillmentevent "
            "WHERE order_id = ANY(%s::uuid[])",
            (orders,),
        ).fetchall()
    out: dict[str, list[tuple[str, float]]] = {}
    for order_id, event_id, occurred_at in rows:
        out.setdefault(order_id, []).append((event_id, occurred_at.timestamp()))
    return out


def run_step(env: Environment, number: int, rate: float, seconds: float) -> dict:
    runner = env.runner
    operators = Operator.fixed_count
    step = State.step = Step(number=number, rate=rate, started=time.time())
    env.stats.reset_all()
    users = max(1, round(rate))  # constant_pacing(1 s): one arrival per customer user a second
    runner.start(operators + users, spawn_rate=max(users, 10))
    gevent.sleep(seconds)
    State.step = None  # no new arrivals; journeys under way finish
    step.arrivals_ended = time.time()
    deadline = time.time() + 30
    while time.time() < deadline and not all(j.finished for j in step.journeys):
        gevent.sleep(0.1)
    runner.start(operators, spawn_rate=1000)
    # Settle: the operators finish this step's orders, the sockets hear the last changes.
    deadline = time.time() + CONFIG.get("settle_seconds", 60)
    while time.time() < deadline:
        pending = [j for j in step.journeys if j.order_id and not j.fulfilled_at]
        if not pending and not State.paid.qsize() and not State.approved.qsize():
            break
        gevent.sleep(0.5)
    settled = time.time()
    gevent.sleep(1.0)  # the last messages in flight
    for journey in step.journeys:
        if journey.socket is not None:
            with contextlib.suppress(Exception):
                journey.socket.close()
    entries = {
        name: percentiles(entry)
        for (name, _method), entry in env.stats.entries.items()
        if entry.num_requests or entry.num_failures
    }
    errors = [
        {"name": e.name, "error": str(e.error)[:200], "count": e.occurrences}
        for e in env.stats.errors.values()
    ]
    errors += [
        {"name": "load process", "error": e["msg"][:300], "count": e["count"]}
        for e in env.runner.exceptions.values()
    ]
    env.runner.exceptions.clear()
    journeys = [j for j in step.journeys if j.order_id]
    completed = [j for j in journeys if j.fulfilled_at]
    last_done = max((j.fulfilled_at for j in completed), default=settled)
    events = expected_events([j.order_id for j in journeys])
    shares, expected_total, received_total = [], 0, 0
    latencies = []
    for journey in journeys:
        if not journey.socket_opened_at:
            shares.append(0.0)
            continue
        expected = {
            event_id
            for event_id, at in events.get(journey.order_id, [])
            if at > journey.socket_opened_at
        }
        got = len(expected & journey.received_events)
        expected_total += len(expected)
        received_total += got
        shares.append(got / len(expected) if expected else 1.0)
        if journey.first_paid_message_at and journey.paid_at:
            latencies.append((journey.first_paid_message_at - journey.paid_at) * 1000)
    latencies.sort()
    return {
        "step": number,
        "rate": rate,
        "seconds": seconds,
        "window": [step.started, step.arrivals_ended, settled],
        "customers": len(step.journeys),
        "orders": len(journeys),
        "completed": len(completed),
        "orders_per_s": len(completed) / max(0.001, last_done - step.started),
        "kinds": entries,
        "errors": errors,
        "sockets": {
            "customers": len(shares),
            "full": sum(1 for s in shares if s >= 1.0),
            "min_share": min(shares, default=1.0),
            "expected": expected_total,
            "received": received_total,
        },
        "pay_to_socket_p95_ms": latencies[int(0.95 * (len(latencies) - 1))] if latencies else None,
        "finished_at": datetime.now(UTC).isoformat(),
    }


# --- CPU per request kind ------------------------------------------------------------------------
# After the steps, with no load left: each request kind replayed sequentially (one request at a
# time, each kind's requests in a row, as the journeys make them), the server processes' CPU read
# from /proc before and after each kind's run (psutil: utime + stime), their idle CPU subtracted.
# Beside them, Django's bare /healthz view (no query, no cache: the framework's floor) on gunicorn
# and on daphne, measured the same way at the start and at the end.

GUNICORN, DAPHNE = "gunicorn", "daphne"


class ServerCpu:
    """CPU seconds of the server processes (config "server_pids": gunicorn's master, whose
    workers count with it, daphne, the task workers, redis-server; the database's backends)."""

    def __init__(self) -> None:
        import psutil

        self.psutil = psutil
        self.db = psycopg.connect(CONFIG["database_url"], autocommit=True)
        self.name = urllib.parse.urlsplit(CONFIG["database_url"]).path.lstrip("/")

    def read(self) -> dict[int, tuple[str, float]]:
        psutil = self.psutil
        processes = []
        for label, pid in CONFIG["server_pids"].items():
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                processes.append((label, process))
                if label == GUNICORN:
                    processes += [(label, child) for child in process.children()]
        backends = self.db.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (self.name,),
        ).fetchall()
        for (pid,) in backends:
            with contextlib.suppress(psutil.Error):
                processes.append(("postgres", psutil.Process(pid)))
        out = {}
        for label, process in processes:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                out[process.pid] = (label, times.user + times.system)
        return out

    @staticmethod
    def used(first: dict, last: dict) -> dict[str, float]:
        used: dict[str, float] = {}
        for pid, (label, seconds) in last.items():
            before = first.get(pid, (label, 0.0))[1]  # born in between: counts from zero
            used[label] = used.get(label, 0.0) + max(0.0, seconds - before)
        return used


def replay_cpu(env: Environment, n: int) -> dict:
    """CPU per request of each kind, `n` requests each (order creations and logins: fewer)."""
    meter = ServerCpu()
    customer = Customer(env)
    operator = Operator(env)
    operator.on_start()
    person = PEOPLE["customers"][0]
    browser = session_for(customer, person["session"])
    daphne = WS.replace("ws://", "http://", 1)
    env.stats.reset_all()

    # What the load left ends first: requests in flight, and the task worker's backlog (the
    # artwork checks of the last orders), or the worker's "idle" would be its backlog.
    deadline = time.monotonic() + 180
    gevent.sleep(2.0)
    while time.monotonic() < deadline:
        before = meter.read()
        gevent.sleep(1.0)
        if sum(meter.used(before, meter.read()).values()) <= 0.05:  # 5 % of a core
            break
    started, first = time.monotonic(), meter.read()
    gevent.sleep(3.0)
    idle_seconds = time.monotonic() - started
    idle = {k: v / idle_seconds for k, v in meter.used(first, meter.read()).items()}
    kinds: list[dict] = []

    def quiet() -> None:
        """Until the servers are back to idle: the work a kind left (the task worker's jobs,
        live updates) counts in its window, not the next kind's."""
        deadline = time.monotonic() + 20
        gevent.sleep(0.2)
        while time.monotonic() < deadline:
            before, started = meter.read(), time.monotonic()
            gevent.sleep(1.0)  # the task worker polls every second
            seconds = time.monotonic() - started
            busy = sum(meter.used(before, meter.read()).values()) - sum(idle.values()) * seconds
            if busy <= 0.02:  # two clock ticks
                return

    def measure(kind: str, server: str, calls: list) -> list:
        before, started = meter.read(), time.monotonic()
        out = [call() for call in calls]
        quiet()
        used = meter.used(before, meter.read())
        elapsed = time.monotonic() - started
        ok = sum(1 for value in out if value)
        cpu = {k: max(0.0, v - idle.get(k, 0.0) * elapsed) for k, v in used.items()}
        kinds.append({"kind": kind, "server": server, "n": len(calls), "ok": ok, "cpu": cpu})
        return out

    def get(client: FastHttpSession, url: str, name: str) -> bool:
        with client.get(url, name=name, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(str(r.status_code))
                return False
            return True

    def socket(order_id: str) -> bool:
        start = time.perf_counter()
        try:
            ws = websocket.create_connection(
                f"{WS}/ws/orders/{order_id}/",
                cookie=f"sessionid={person['session']}",
                origin="http://127.0.0.1",
                timeout=10,
            )
            ws.close()
        except Exception as exc:
            fail(customer, "socket connect", start, repr(exc))
            return False
        return True

    def checked(name: str, method: str, call) -> bool:
        """Make one request through the journeys' own code; whether it succeeded."""
        errors = env.stats.get(name, method).num_failures
        call()
        return env.stats.get(name, method).num_failures == errors

    def approve(order_id: str) -> bool:
        State.paid.put(order_id)
        return checked("ops bulk approve", "POST", operator.approve)

    def bare() -> None:
        calls = [lambda: get(customer.client, "/healthz", "bare view") for _ in range(n * 5)]
        measure("bare view /healthz (gunicorn)", GUNICORN, calls)
        daphne_client = FastHttpSession(
            base_url=daphne, request_event=env.events.request, user=customer
        )
        calls = [lambda: get(daphne_client, "/healthz", "bare view (daphne)") for _ in range(n * 5)]
        measure("bare view /healthz (daphne)", DAPHNE, calls)

    bare()
    # A new order can wait for its artwork check (PREFLIGHT_CHECKOUT_WAIT): fewer are timed, and
    # the orders the later kinds need are made alongside (4 at a time), untimed.
    creations = max(5, n // 5)
    orders = measure(
        "create order (API)",
        GUNICORN,
        [lambda: customer.order_by_api(browser, person)] * creations,
    )
    orders += gevent.pool.Pool(4).map(
        lambda _: customer.order_by_api(browser, person), range(n - creations)
    )
    orders = [order_id for order_id in orders if order_id]
    quiet()
    tokens = measure("order form", GUNICORN, [lambda: customer.form_token(browser)] * n)
    measure(
        "create order (form)",
        GUNICORN,
        [lambda t=token: customer.post_order_form(browser, t) for token in tokens[:creations]],
    )
    measure(
        "order page",
        GUNICORN,
        [lambda o=order_id: get(browser, f"/orders/{o}/", "order page") for order_id in orders],
    )
    measure("order list", GUNICORN, [lambda: get(browser, "/orders/", "order list")] * n)
    measure("socket connect (+ close)", DAPHNE, [lambda o=o: socket(o) for o in orders])
    payloads = [checkout_completed(order_id) for order_id in orders]
    measure(
        "webhook (first)",
        GUNICORN,
        [
            lambda p=p: checked(
                "webhook (first)",
                "POST",
                lambda: customer.deliver(p, "webhook (first)", "submitted"),
            )
            for p in payloads
        ],
    )
    measure(
        "webhook (duplicate)",
        GUNICORN,
        [
            lambda p=p: checked(
                "webhook (duplicate)",
                "POST",
                lambda: customer.deliver(p, "webhook (duplicate)", "duplicate"),
            )
            for p in payloads
        ],
    )
    measure("ops bulk approve (1 order)", GUNICORN, [lambda o=o: approve(o) for o in orders])
    while State.approved.qsize():
        State.approved.get()
    for index, (_body, name) in enumerate(STEPS):
        calls = [
            lambda o=o, i=index, name=name: checked(name, "PATCH", lambda: operator.advance(o, i))
            for o in orders
        ]
        measure(name, GUNICORN, calls)
    while State.approved.qsize():
        State.approved.get()
    measure(
        "ops dashboard (filtered)",
        GUNICORN,
        [
            lambda u=url: get(operator.browser, u, "ops dashboard (filtered)")
            for url in itertools.islice(itertools.cycle(DASHBOARD), n)
        ],
    )
    anonymous = session_for(customer, "")
    measure("login page", GUNICORN, [lambda: get(anonymous, "/accounts/login/", "login page")] * n)
    logins = max(3, n // 20)
    measure(
        "login",
        GUNICORN,
        [
            lambda: checked(
                "login", "POST", lambda: customer.log_in(session_for(customer, ""), person)
            )
        ]
        * logins,
    )
    bare()
    errors = [
        {"name": e.name, "error": str(e.error)[:200], "count": e.occurrences}
        for e in env.stats.errors.values()
    ]
    meter.db.close()
    return {"requests": n, "idle": idle, "kinds": kinds, "errors": errors}


def main() -> None:
    env = Environment(user_classes=[Customer, Operator], host=HOST)
    env.create_local_runner()
    if CONFIG.get("warmup_seconds"):
        # Every server process imports, compiles templates and opens its connections once:
        # a few customers first, not reported, so the first step measures a warm shop.
        result = run_step(env, 0, 1.0, CONFIG["warmup_seconds"])
        print("WARMUP " + json.dumps(result), flush=True)
    for number, (rate, seconds) in enumerate(CONFIG["steps"], start=1):
        result = run_step(env, number, rate, seconds)
        print("STEP " + json.dumps(result), flush=True)
        slow = any(
            (k["p95"] or 0) > CONFIG.get("knee_p95_ms", 250)
            for name, k in result["kinds"].items()
            if name != "login"  # the password hasher: see bench/launch.py
        )
        if CONFIG.get("stop_at_knee", True) and (slow or result["errors"]):
            break
    env.runner.quit()
    if CONFIG.get("cpu_requests"):
        print("CPU " + json.dumps(replay_cpu(env, CONFIG["cpu_requests"])), flush=True)


if __name__ == "__main__":
    main()

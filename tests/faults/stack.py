"""The production setup on this machine, with dependencies a fault test can break.

`Stack` runs gunicorn (HTTP), daphne (sockets) and the task worker against a PostgreSQL database
of its own, a `redis-server` of its own on a free port (stopped and restarted empty at will) and
an SMTP stand-in that either speaks SMTP or accepts connections and never answers. Where the
`pgbouncer` binary is installed (`make test` installs it as root), the servers reach PostgreSQL
through a PgBouncer of the stack's own in transaction pooling mode (deploy/pgbouncer.ini,
DATABASE_POOLER=transaction), as a shop on several hosts runs; without it, directly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from email import message_from_bytes
from typing import TYPE_CHECKING

import requests

from tests.realtime_support import (
    BASE_DIR,
    Daphne,
    RedisServer,
    ServerProcess,
    free_port,
    run_json,
    server_env,
)

if TYPE_CHECKING:
    from tests.pgbouncer_support import PgBouncer

DATABASE_URL = os.environ.get("DATABASE_URL", "")
PASSWORD = "pw-for-tests-123"
WEBHOOK_SECRET = "whsec_fault_suite"
WORKER_ID = "fault-suite-worker-1"


def suite_marks() -> list:
    """The marks of every fault test: `faults`, and skipped where the setup is missing."""
    import pytest

    reason = available()
    return [pytest.mark.faults, pytest.mark.skipif(reason is not None, reason=reason or "")]


def available() -> str | None:
    """Why the fault suite cannot run here, or None."""
    if not DATABASE_URL.startswith("postgres"):
        return "needs DATABASE_URL on PostgreSQL (the production database)"
    if not shutil.which("redis-server"):
        return "needs redis-server on PATH"
    return None


# --- SMTP ----------------------------------------------------------------------------------------


class SmtpStandIn:
    """An SMTP server on a free port that records each message, or (`hang()`) accepts connections
    and never says a word, as a mail server stuck under load does."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        self.hanging = threading.Event()
        self._lock = threading.Lock()
        stand_in = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 60

            def handle(self) -> None:
                if stand_in.hanging.is_set():
                    time.sleep(60)  # the client gives up first (EMAIL_TIMEOUT)
                    return
                stand_in._converse(self.rfile, self.wfile)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"smtp://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def hang(self) -> None:
        self.hanging.set()

    def answer(self) -> None:
        self.hanging.clear()

    def messages(self) -> list[dict[str, str]]:
        with self._lock:
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _converse(self, rfile, wfile) -> None:
        def say(line: str) -> None:
            wfile.write(line.encode() + b"\r\n")
            wfile.flush()

        say("220 stand-in ESMTP")
        while True:
            line = rfile.readline()
            if not line:
                return
            command = line.decode(errors="replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                say("250 stand-in")
            elif command.startswith(("MAIL", "RCPT", "RSET", "NOOP")):
                say("250 OK")
            elif command == "DATA":
                say("354 End data with <CR><LF>.<CR><LF>")
                data = b""
                while True:
                    chunk = rfile.readline()
                    if not chunk or chunk in (b".\r\n", b".\n"):
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                message = message_from_bytes(data)
                with self._lock:
                    self.received.append(
                        {
                            "to": message["To"],
                            "subject": message["Subject"],
                            "id": message["Message-ID"],
                        }
                    )
                say("250 OK queued")
            elif command == "QUIT":
                say("221 Bye")
                return
            else:
                say("502 Command not implemented")


# --- the application ----------------------------------------------------------------------------


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def fresh_database() -> str:
    """A new, empty PostgreSQL database beside DATABASE_URL's, for the stack's processes."""
    import psycopg

    parts = urllib.parse.urlsplit(DATABASE_URL)
    name = f"{parts.path.lstrip('/') or 'printshop'}_faults"
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return parts._replace(path=f"/{name}").geturl()


def drop_database(url: str) -> None:
    import psycopg

    parts = urllib.parse.urlsplit(url)
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


class Process(ServerProcess):
    """A named server process of the stack."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        super().__init__(command, env)


@dataclass
class Stack:
    database_url: str  # the database itself (the killer's way in)
    redis: RedisServer
    smtp: SmtpStandIn
    pgbouncer: PgBouncer | None = None  # the servers' way in, when there is one
    env: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)
    http: str = ""
    ws_port: int = 0
    tmp: str = ""  # the servers' TMPDIR, where uploads and spooled bodies would go

    def start(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="faults-tmp-")
        through = {}
        if self.pgbouncer is not None:
            through = {"DATABASE_POOLER": "transaction"}
        self.env = server_env(
            self.pgbouncer.url if self.pgbouncer else self.database_url,
            **through,
            REDIS_URL=self.redis.url,
            EMAIL_URL=self.smtp.url,
            EMAIL_TIMEOUT="2",
            EMAIL_RETRY_DELAY="1",
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            STRIPE_SECRET_KEY="",
            SITE_URL="http://127.0.0.1",
            ORDER_CREATE_RATE="100000/min",
            # No artwork worker here: a running check would hold every new order's checkout (its
            # answer the order page, not a session). The suite is about lost connections, not
            # the artwork check (nothing waits for one: decision 0069).
            PREFLIGHT_PENDING_HOLD="0",
            LOG_LEVEL="WARNING",
            TMPDIR=self.tmp,
        )
        run_manage(self.env, "migrate", "--noinput", "-v", "0")
        run_manage(self.env, "collectstatic", "--noinput", "-v", "0")
        http_port = free_port()
        self.http = f"http://127.0.0.1:{http_port}"
        gunicorn = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-w", "2"]
        gunicorn += ["-b", f"127.0.0.1:{http_port}", "--timeout", "30"]
        self.processes.append(Process("gunicorn", gunicorn, {**self.env, "CONN_MAX_AGE": "600"}))
        daphne = Daphne({**self.env, "DATABASE_POOL": "true"})
        self.ws_port = daphne.port
        self._daphne = daphne
        # Under a supervisor that starts it again, as the README deploys it: a worker whose
        # database connection is cut exits.
        # A stable worker id, as docs/operations.md deploys it: a worker started again after a
        # kill recovers the task its predecessor left RUNNING.
        worker = [sys.executable, "-m", "tests.faults.supervise", sys.executable, "manage.py"]
        worker += ["task_worker", "--no-reload", "--interval", "0.2", "--worker-id", WORKER_ID]
        self.processes.append(Process("worker", worker, self.env))
        wait_for_port(http_port)
        daphne.wait_ready()

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        self._daphne.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def logs(self) -> str:
        parts = [f"--- {p.name} ---\n{p.output(8000)}" for p in self.processes]
        parts.append(f"--- daphne ---\n{self._daphne.output()}")
        if self.pgbouncer is not None:
            parts.append(f"--- pgbouncer ---\n{self.pgbouncer.output()}")
        return "\n".join(parts)

    def seed(self, **counts: int) -> dict:
        """Orders to work on (see `_seed`), made through the services in the stack's database."""
        return run_json(self.env, f"from tests.faults.stack import _seed; _seed({counts!r})")

    def query(self, code: str) -> object:
        """Run `code` (which sets `result`) in a Django process on the stack's database."""
        script = f"import django, json; django.setup()\n{code}\nprint(json.dumps(result))"
        return run_json(self.env, script)


def run_manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def _seed(counts: dict[str, int]) -> None:
    """Runs in a subprocess: users with passwords and tokens, and orders in the asked states."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from payments.services import start_checkout
    from production.lifecycle import OrderState, ProductionStatus
    from production.models import ProductionOrder
    from tests.factories import GarmentFactory, make_order, operator_user, token_for
    from tests.realtime_support import session_key_for

    garment = GarmentFactory(shopify_gid="gid://shopify/Product/900001", name="Fault Tee")
    users = get_user_model().objects
    customer = users.filter(username="fault-customer@example.com").first()
    if customer is None:  # each scenario seeds its orders; the people are the suite's
        customer = users.create_user(
            username="fault-customer@example.com",
            email="fault-customer@example.com",
            password=PASSWORD,
        )
        operator = operator_user(email="fault-operator@example.com")
        operator.set_password(PASSWORD)
        operator.save()
    operator = users.get(email="fault-operator@example.com")

    def drafts(n: int) -> list[dict]:
        made = []
        for _ in range(n):
            order = make_order(owner=customer, garment=garment)
            start_checkout(order=order)
            order = ProductionOrder.objects.get(pk=order.pk)
            made.append(
                {
                    "id": str(order.pk),
                    "session": order.stripe_checkout_session_id,
                    "amount": order.total_amount,
                    "currency": order.currency,
                }
            )
        return made

    def at(state: OrderState, n: int, ready: bool = False) -> list[str]:
        ids = []
        for _ in range(n):
            # The rulebook takes production one step at a time: the factory walks it to Ready.
            step = ProductionStatus.READY if ready else None
            order = make_order(
                owner=customer, garment=garment, state=state, step=step, operator=operator
            )
            ids.append(str(order.pk))
        return ids

    print(
        json.dumps(
            {
                "garment": garment.shopify_gid,
                "customer_email": customer.email,
                "operator_email": operator.email,
                "customer_token": token_for(customer),
                "operator_token": token_for(operator),
                "customer_session": session_key_for(customer),
                "drafts": drafts(counts.get("drafts", 0)),
                "approved": at(OrderState.APPROVED, counts.get("approved", 0)),
                "ready": at(OrderState.IN_PRODUCTION, counts.get("ready", 0), ready=True),
            }
        )
    )


# --- clients -------------------------------------------------------------------------------------


def logged_in(base: str, email: str) -> requests.Session:
    """A browser session: the login form, with its CSRF token, as a person submits it."""
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        f"{base}/accounts/login/",
        data={"username": email, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text[:500]
    return session


def csrf_of(session: requests.Session) -> str:
    return session.cookies.get("csrftoken", "")


def paid_event(draft: dict, event_id: str) -> str:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "checkout.session.completed",
            "data": {
                "object": {
                    "id": draft["session"],
                    "object": "checkout.session",
                    "client_reference_id": draft["id"],
                    "status": "complete",
                    "payment_status": "paid",
                    "amount_total": draft["amount"],
                    "currency": draft["currency"],
                    "metadata": {"orderId": draft["id"]},
                }
            },
        }
    )


def deliver(base: str, payload: str) -> requests.Response:
    import stripe

    header = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET)
    return requests.post(
        f"{base}/api/stripe/webhook",
        data=payload,
        headers={"Content-Type": "application/json", "Stripe-Signature": header},
        timeout=30,
    )

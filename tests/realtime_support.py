"""Helpers for realtime tests: isolated channel layers, sessions, sockets, daphne processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

REDIS_URL = os.environ.get("REDIS_URL", "")
BASE_DIR = Path(__file__).resolve().parent.parent
APP = ["config.asgi:application"]


def layer_settings(prefix: str, *, redis_url: str = REDIS_URL, max_connections: int = 2000) -> dict:
    """CHANNEL_LAYERS as production builds them, under a prefix no other test uses."""
    if not redis_url:
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return {
        "default": {
            "BACKEND": "production.realtime.channel_layer.PooledRedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": redis_url, "max_connections": max_connections}],
                "prefix": prefix,
                "capacity": 1500,
            },
        }
    }


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


def drop_redis_keys(prefix: str) -> None:
    if not REDIS_URL:
        return
    import redis

    # The cache's database and the channel layer's (settings.CHANNELS_REDIS_URL).
    for url in {REDIS_URL, settings.CHANNELS_REDIS_URL or REDIS_URL}:
        client = redis.Redis.from_url(url)
        try:
            keys = list(client.scan_iter(f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def session_key_for(user: object) -> str:
    """A logged-in session for `user`, as a browser would hold it after logging in."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def socket_to(
    path: str, *, session_key: str | None = None, origin: bytes = b"http://localhost"
) -> WebsocketCommunicator:
    from config.asgi import application

    headers = [(b"origin", origin), (b"host", b"localhost")]
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def close_code(communicator: WebsocketCommunicator) -> int | None:
    """Connect and return the close code the server answers with (None: it stayed open)."""
    connected, _ = await communicator.connect()
    assert connected, "the handshake itself was refused"
    message = await communicator.receive_output(timeout=5)
    assert message["type"] == "websocket.close"
    return message.get("code")


# --- daphne processes (multi-process and browser tests) --------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECRET_KEY": "tests-only-insecure-key",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


def prepare_database(env: dict[str, str], *, static: bool = False) -> dict:
    """Migrate the database in `env` and seed one customer, one operator and an approved order.

    `static`: also collect static files, which pages need with DEBUG off (whitenoise manifest).
    """
    if static:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=BASE_DIR,
            env=env,
            check=True,
        )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
    )
    return run_json(env, "from tests.realtime_support import _seed; _seed()")


def run_json(env: dict[str, str], code: str) -> object:
    """Run `code` in a Python process with the servers' environment; what its last line printed
    as JSON (seeds and checks on the servers' own database)."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _seed() -> None:
    """Runs in a subprocess against the servers' database; prints what the test needs as JSON."""
    import django

    django.setup()
    from production.lifecycle import OrderState
    from tests.factories import GarmentFactory, UserFactory, make_order, operator_user, token_for

    password = "pw-for-tests-123"
    customer = UserFactory(email="live-customer@example.com")
    operator = operator_user(email="live-operator@example.com")
    order = make_order(
        owner=customer,
        garment=GarmentFactory(name="Live Tee"),
        state=OrderState.APPROVED,
        operator=operator,
    )
    print(
        json.dumps(
            {
                "order_id": str(order.pk),
                "reference": order.reference,
                "customer_email": customer.email,
                "password": password,
                "customer_session": session_key_for(customer),
                "operator_session": session_key_for(operator),
                "operator_token": token_for(operator),
            }
        )
    )


class RedisServer:
    """A throwaway redis-server without persistence: a restart comes back empty."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
                *("--maxclients", "10000"),
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)
        client.close()

    def stop(self, *, crash: bool = False) -> None:
        """Shut it down (`crash`: kill it, no goodbye to its clients)."""
        if self.process and self.process.poll() is None:
            self.process.kill() if crash else self.process.terminate()
            self.process.wait(timeout=10)


class ServerProcess:
    """A server (or worker) process of a test, its output kept in a file, never a pipe that
    fills and blocks a chatty server. `stop` terminates it (then kills it after 10 s)."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def output(self, last: int = 4000) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-last:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class Daphne(ServerProcess):
    """One daphne process serving config.asgi on 127.0.0.1."""

    def __init__(self, env: dict[str, str], app: str = APP[0]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # As production serves it: daphne with its request bodies bounded.
        daphne = [sys.executable, "-m", "production.plumbing.bounded_daphne"]
        daphne += ["-b", "127.0.0.1", "-p", str(self.port), app]
        super().__init__(daphne, env)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited: {self.output()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("daphne did not start in time")


@contextmanager
def serving(env: dict[str, str]) -> Iterator[Daphne]:
    """A daphne process on `env`, ready for requests while the block runs, stopped after it."""
    server = Daphne(env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def api_patch(base_url: str, order_id: str, token: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{base_url}/api/production/{order_id}",
        data=json.dumps(body).encode(),
        method="PATCH",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())

"""Oversized bodies under the production servers: gunicorn and daphne answer 413 before they
have received the body, whatever its type (multipart too) and whether its length is declared or
not. What the client manages to send before the answer comes is the measure of what was read:
a server that reads the whole body lets the whole body through."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import sys
import time
import urllib.parse
from collections.abc import Callable

import pytest
import redis
import requests

from tests.faults.stack import Process, suite_marks, wait_for_port
from tests.realtime_support import free_port

pytestmark = suite_marks()

MB = 1024 * 1024
PIECE = b"\0" * (256 * 1024)


def disk_use(directory: str) -> int:
    total = 0
    for entry in os.scandir(directory):
        with contextlib.suppress(OSError):  # a file deleted meanwhile
            total += entry.stat().st_size
    return total


def send_until_answered(
    base: str,
    head: bytes,
    body_size: int,
    *,
    chunked: bool = False,
    budget: float = 8,
    first: bytes = b"",
    watch: Callable[[], None] = lambda: None,
) -> tuple[int, int, float]:
    """Send `head`, then up to `body_size` bytes of body (`first`, then zeros; chunked: in
    chunked framing) for as long as the server reads them and has not answered; `watch` is
    called between sends. (status, body bytes sent, seconds)."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        sent, pending = 0, first
        while time.monotonic() - started < budget:
            if not pending:
                if sent >= body_size:
                    break
                pending = b"%x\r\n%s\r\n" % (len(PIECE), PIECE) if chunked else PIECE
            watch()
            readable, writable, _ = select.select([sock], [sock], [], 1)
            if readable:
                break
            if not writable:
                continue
            try:
                n = sock.send(pending)
            except BlockingIOError:
                continue
            except OSError:  # the server closed: reset, broken pipe
                break
            pending = pending[n:]
            sent += n
        sock.setblocking(True)
        sock.settimeout(5)
        answer = b""
        try:
            while b"\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except OSError:
            pass
    elapsed = time.monotonic() - started
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, sent, elapsed


def test_a_50_mb_multipart_login_is_413_under_gunicorn_with_almost_nothing_read(stack):
    base = stack.http
    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=10)
    token = session.cookies["csrftoken"]
    size = 50 * MB
    head = (
        b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Cookie: csrftoken=%s\r\nReferer: %s/accounts/login/\r\n"
        b"Content-Type: multipart/form-data; boundary=BoUnDaRy\r\n"
        b"Content-Length: %d\r\n\r\n" % (token.encode(), base.encode(), size)
    )
    peak = 0

    def watch() -> None:
        nonlocal peak
        peak = max(peak, disk_use(stack.tmp))

    part = (
        b'--BoUnDaRy\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
        b"%s\r\n"
        % token.encode()
        + b'--BoUnDaRy\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )
    status, sent, seconds = send_until_answered(base, head, size, first=part, watch=watch)
    assert status == 413
    assert sent < 16 * MB, f"{sent / MB:.0f} MB of 50 were taken before the answer"
    assert peak < MB, f"{peak / MB:.0f} MB were spooled to the servers' temporary directory"
    assert seconds < 3


def test_a_300_mb_declared_api_body_is_413_under_daphne_before_it_is_sent(stack):
    base = f"http://127.0.0.1:{stack.ws_port}"
    size = 300 * MB
    head = (
        b"POST /api/production HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % size
    )
    status, sent, seconds = send_until_answered(base, head, size)
    assert status == 413
    assert sent < 32 * MB, f"{sent / MB:.0f} MB of 300 were taken before the answer"
    assert seconds < 3


def test_a_chunked_body_to_healthz_is_413_under_daphne_once_past_the_limit(stack):
    base = f"http://127.0.0.1:{stack.ws_port}"
    size = 200 * MB
    head = (
        b"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    status, sent, seconds = send_until_answered(base, head, size, chunked=True)
    assert status == 413
    # The largest limit (a proof and its envelope, ~10 MB) and what the sockets buffer.
    assert sent < 40 * MB, f"{sent / MB:.0f} MB of 200 were taken before the answer"
    assert seconds < 5


def test_a_full_redis_makes_readyz_degraded_naming_redis(stack):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    full = Process(
        "redis-full",
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no"),
            *("--maxmemory", "16mb", "--maxmemory-policy", "noeviction"),
        ],
        stack.env,
    )
    gunicorn = None
    try:
        wait_for_port(port)
        client = redis.Redis.from_url(url)
        for n in range(48):  # 3 MB, then maxmemory drops below what is used
            client.set(f"filler:{n}", b"x" * 65536)
        client.config_set("maxmemory", "1mb")
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            client.set("one-more", b"1")  # full: even the smallest write is refused
        assert client.ping()  # it still answers: a PING says nothing
        http_port = free_port()
        command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-w", "1"]
        command += ["-b", f"127.0.0.1:{http_port}"]
        gunicorn = Process("gunicorn-full-redis", command, {**stack.env, "REDIS_URL": url})
        wait_for_port(http_port)
        response = requests.get(f"http://127.0.0.1:{http_port}/readyz", timeout=10)
        assert response.status_code == 200
        assert response.json() == {
            "status": "degraded",
            "checks": {"database": "ok", "redis": "full"},
            "down": ["redis"],
        }
    finally:
        if gunicorn is not None:
            gunicorn.stop()
        full.stop()

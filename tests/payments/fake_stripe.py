"""A fake Stripe API on 127.0.0.1 that records what the SDK sends and answers like Stripe."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


class FakeStripe:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.sessions: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.fail_with: tuple[int, dict[str, Any]] | None = None
        self.refunds: dict[str, dict[str, Any]] = {}
        self.refunds_by_key: dict[str, str] = {}
        # The status a new refund answers with (card refunds usually succeed at once).
        self.refund_status = "succeeded"
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeStripe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def created_sessions(self) -> list[dict[str, Any]]:
        return [
            r
            for r in self.requests
            if r["method"] == "POST" and r["path"] == "/v1/checkout/sessions"
        ]

    def refund_requests(self) -> list[dict[str, Any]]:
        """Every POST /v1/refunds as sent: path, headers (Idempotency-Key) and form."""
        return [r for r in self.requests if r["method"] == "POST" and r["path"] == "/v1/refunds"]

    def _create_refund(self, form: dict[str, str], key: str | None) -> dict[str, Any]:
        with self._lock:
            if key and key in self.refunds_by_key:  # Stripe's idempotency: same key, same refund
                return self.refunds[self.refunds_by_key[key]]
            refund_id = f"re_fake{len(self.refunds) + 1:04d}"
            refund = {
                "id": refund_id,
                "object": "refund",
                "amount": int(form["amount"]),
                "charge": "ch_fake0001",
                "created": 1700000000,
                "currency": "usd",
                "metadata": {
                    k[len("metadata[") : -1]: v
                    for k, v in form.items()
                    if k.startswith("metadata[")
                },
                "payment_intent": form.get("payment_intent"),
                "reason": form.get("reason"),
                "status": self.refund_status,
                "failure_reason": None,
            }
            self.refunds[refund_id] = refund
            if key:
                self.refunds_by_key[key] = refund_id
            return refund

    def _create_session(self, form: dict[str, str], key: str | None) -> dict[str, Any]:
        with self._lock:
            if key and key in self.by_key:  # Stripe's idempotency: same key, same session
                return self.sessions[self.by_key[key]]
            session_id = f"cs_test_fake{len(self.sessions) + 1:04d}"
            amount = sum(
                int(form[f"line_items[{i}][price_data][unit_amount]"])
                * int(form[f"line_items[{i}][quantity]"])
                for i in range(len({k.split("]")[0] for k in form if k.startswith("line_items")}))
            )
            session = {
                "id": session_id,
                "object": "checkout.session",
                "amount_total": amount,
                "currency": form.get("line_items[0][price_data][currency]"),
                "client_reference_id": form.get("client_reference_id"),
                "metadata": {
                    k[len("metadata[") : -1]: v
                    for k, v in form.items()
                    if k.startswith("metadata[")
                },
                "livemode": False,
                "mode": "payment",
                "payment_status": "unpaid",
                "status": "open",
                "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            }
            self.sessions[session_id] = session
            if key:
                self.by_key[key] = session_id
            return session

    def expired_sessions(self) -> list[str]:
        """The session ids of every POST /v1/checkout/sessions/<id>/expire, in order."""
        return [
            r["path"].split("/")[4]
            for r in self.requests
            if r["method"] == "POST" and r["path"].endswith("/expire")
        ]

    def _expire_session(self, session_id: str) -> tuple[int, dict[str, Any]]:
        """Stripe's answer: the session, now expired, if it was open; 400 otherwise."""
        with self._lock:
            session = self.sessions.get(session_id)
            if session is None:
                message = f"No such checkout.session: '{session_id}'"
                return 404, {"error": {"type": "invalid_request_error", "message": message}}
            if session["status"] != "open":
                message = "Only Checkout Sessions with a status of open can be expired."
                return 400, {"error": {"type": "invalid_request_error", "message": message}}
            session.update(status="expired", url=None)
            return 200, session

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self, body: str) -> dict[str, Any]:
                request = {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "form": dict(parse_qsl(body, keep_blank_values=True)),
                }
                with fake._lock:
                    fake.requests.append(request)
                return request

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_fake")
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = self._record(self.rfile.read(length).decode())
                if fake.fail_with:
                    self._answer(*fake.fail_with)
                elif self.path == "/v1/checkout/sessions":
                    key = request["headers"].get("Idempotency-Key")
                    self._answer(200, fake._create_session(request["form"], key))
                elif self.path.startswith("/v1/checkout/sessions/") and self.path.endswith(
                    "/expire"
                ):
                    self._answer(*fake._expire_session(self.path.split("/")[4]))
                elif self.path == "/v1/refunds":
                    key = request["headers"].get("Idempotency-Key")
                    self._answer(200, fake._create_refund(request["form"], key))
                else:
                    self._answer(404, {"error": {"type": "invalid_request_error"}})

            def do_GET(self) -> None:
                self._record("")
                session_id = self.path.removeprefix("/v1/checkout/sessions/")
                refund_id = self.path.removeprefix("/v1/refunds/")
                if fake.fail_with:
                    self._answer(*fake.fail_with)
                elif self.path.startswith("/v1/refunds/"):
                    if refund_id in fake.refunds:
                        self._answer(200, fake.refunds[refund_id])
                    else:
                        message = f"No such refund: '{refund_id}'"
                        self._answer(
                            404, {"error": {"type": "invalid_request_error", "message": message}}
                        )
                elif session_id in fake.sessions:
                    self._answer(200, fake.sessions[session_id])
                else:
                    message = f"No such checkout.session: '{session_id}'"
                    self._answer(
                        404, {"error": {"type": "invalid_request_error", "message": message}}
                    )

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

        return Handler

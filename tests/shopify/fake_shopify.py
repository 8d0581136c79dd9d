"""A fake Shopify Admin GraphQL API on 127.0.0.1: the store simulator's state and answers, served
over real HTTP (the client's requests, headers and JSON go through a socket)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from shopify.simulator import FakeStore


class FakeShopify:
    def __init__(self, version: str) -> None:
        self.store = FakeStore(domain="test-store.myshopify.com")
        self.paths: list[str] = []
        self.version = version
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeShopify:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def operations(self) -> list[str]:
        return [r["body"].get("operationName") for r in self.store.requests]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                fake.paths.append(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != f"/admin/api/{fake.version}/graphql.json":
                    self._send(404, {}, b'{"errors":"Not Found"}')
                    return
                token = self.headers.get("X-Shopify-Access-Token", "")
                if token != "shpat_test":
                    self._send(401, {}, b'{"errors":"[API] Invalid API key or access token"}')
                    return
                status, headers, data = fake.store.handle(json.loads(body), token)
                self._send(status, headers, data)

            def _send(self, status: int, headers: dict, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in headers.items():
                    if name != "Content-Type":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

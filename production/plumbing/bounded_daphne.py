"""daphne with a bounded request body: `python -m production.plumbing.bounded_daphne` takes
daphne's own arguments (`-b 127.0.0.1 -p 8002 config.asgi:application`).

daphne (Twisted) receives a request's whole body into a temporary file before it calls the
application, so no ASGI middleware can refuse a 300 MB body before it is received. Here the
request refuses it while it arrives: a Content-Length over `largest_body_limit()` (the largest
body any view accepts) is answered 413 as soon as the headers are in, and a chunked body once
what arrived passes it; the connection is then closed and nothing reaches the application.
The path's own, smaller limit is applied next by `BodyLimitASGI` (config/asgi.py).
"""

from __future__ import annotations

import functools
import json

from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server
from twisted.internet.protocol import Protocol

from production.plumbing.request_limits import TOO_LARGE, largest_body_limit

REFUSAL = json.dumps({"error": TOO_LARGE}).encode()


@functools.cache
def ceiling() -> int | None:
    """The largest body this process accepts (settings and URLs are fixed once it serves)."""
    return largest_body_limit()


class BoundedRequest(WebRequest):
    refused = False
    received = 0

    def __init__(self, *args: object, **kwargs: object) -> None:
        # Twisted parses a multipart POST body itself before daphne hands it on (into
        # `request.args`, which daphne never reads) and answers one it cannot parse (`--B--`, no
        # parts) with a bare 400: no body, no Content-Type. Django parses the body, and answers.
        super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)

    def gotLength(self, length: int | None) -> None:
        super().gotLength(length)
        limit = ceiling()
        if limit is not None and length is not None and length > limit:
            self.refuse()

    def handleContentChunk(self, data: bytes) -> None:
        if self.refused:
            return
        self.received += len(data)
        limit = ceiling()
        if limit is not None and self.received > limit:
            self.refuse()
            return
        super().handleContentChunk(data)

    def process(self) -> None:
        if not self.refused:
            super().process()

    def refuse(self) -> None:
        """Answer 413 and close: the rest of the body is never read."""
        self.refused = True
        self.content.close()
        head = (
            b"HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(REFUSAL)
        )
        self.channel.transport.write(head + REFUSAL)
        self.channel.loseConnection()


class BoundedHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr: object) -> Protocol:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = BoundedRequest
        return protocol


class BoundedServer(Server):
    """daphne's Server, listening with BoundedHTTPFactory: `Server.run` builds its factory as
    `self.http_factory = HTTPFactory(self)` and listens with it, so the attribute gives back the
    bounded one."""

    def run(self) -> None:
        ceiling()  # settled (the URLs imported) before the first request
        super().run()

    @property
    def http_factory(self) -> HTTPFactory:
        return self._bounded_factory

    @http_factory.setter
    def http_factory(self, factory: HTTPFactory) -> None:
        self._bounded_factory = BoundedHTTPFactory(self)


class BoundedCommandLineInterface(CommandLineInterface):
    server_class = BoundedServer


def main() -> None:
    BoundedCommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()

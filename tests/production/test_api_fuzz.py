"""The API fuzzed from its own schema (schemathesis), as a customer and as an operator.

Every operation of /api/schema/ gets a bounded, derandomized run: schemathesis' coverage cases
(boundary and invalid values, unexpected methods and content types) and 20 generated requests,
valid and invalid (odd path segments, wrong types, missing fields, odd multipart parts), with
DEBUG off and on (`make run`: Django's own 404 and 400 pages are HTML there). Whatever is sent,
the answer is no 5xx, carries a documented Content-Type and matches the documented schema, and
every 4xx is the spec's `{"error": ...}` JSON. A new endpoint is fuzzed as soon as it is in the
schema. Path parameters generated valid point at a real order (submitted, its proof waiting), so
the runs reach past the 404 into the views; those generated invalid stay as generated.

The requests go through the whole WSGI stack in-process (middleware, URL routing, the handlers),
inside the test's transaction: Django's test client disconnects `close_old_connections` from the
request signals for the same reason (it would close the test's connection). What only daphne
does to a request (Twisted reads it first) is checked against a real daphne below.
"""

from __future__ import annotations

import json

import pytest
import requests
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import settings as run_settings
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from schemathesis.core.parameters import ParameterLocation

from production.lifecycle import OrderState
from production.models import ArtworkProof
from tests.factories import make_order, make_proof, token_for
from tests.realtime_support import server_env, serving

APP = WSGIHandler()
SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/?format=json", APP)

# Small and fixed: 20 generated requests an operation, role and DEBUG, the same ones every run.
BOUNDED = run_settings(
    max_examples=20,
    derandomize=True,
    database=None,
    deadline=5000,  # ms per request: a slow endpoint fails here rather than stalling CI
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one order and token for the whole run
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


def json_errors(ctx: CheckContext, response: Response, case: Case) -> None:
    """Every 4xx under /api/ is JSON with an `error` message, as the spec's error table says."""
    if not 400 <= response.status_code < 500:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), (
        f"{response.status_code} answered with Content-Type {content_type!r}, not JSON"
    )
    body = json.loads(response.content)
    assert isinstance(body, dict) and isinstance(body.get("error"), str), (
        f"{response.status_code} answered {body!r}, not {{'error': ...}}"
    )


CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance, json_errors]


@pytest.fixture
def _wsgi_in_test_transaction():
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=[False, True], ids=["DEBUG off", "DEBUG on"])
def debug(request, settings) -> bool:
    """Both ways: with DEBUG on (`make run`) Django answers its own 404 and 400 pages, not
    handler404 and handler400."""
    settings.DEBUG = request.param
    return request.param


@pytest.fixture
def waiting_proof(customer, garment, operator) -> ArtworkProof:
    order = make_order(owner=customer, garment=garment, state=OrderState.SUBMITTED)
    return make_proof(order, operator=operator)


def _aim(case: Case, proof: ArtworkProof) -> None:
    """Path parameters generated valid point at the real order and its waiting proof, so the run
    gets past the 404 into the views; those generated invalid are sent as generated. Order
    creation is not rate-limited (429 would be most of its answers)."""
    path = case.meta.components.get(ParameterLocation.PATH) if case.meta else None
    cache.clear()  # order creation's rate limit: each request as the first of the minute
    if not case.path_parameters or (path and path.mode == GenerationMode.NEGATIVE):
        return
    case.path_parameters["order_id"] = str(proof.order_id)
    if "revision" in case.path_parameters:
        case.path_parameters["revision"] = proof.revision


@pytest.mark.usefixtures("_wsgi_in_test_transaction", "debug")
@SCHEMA.parametrize()
@BOUNDED
def test_fuzz_as_customer(case, customer, waiting_proof):
    _aim(case, waiting_proof)
    case.call_and_validate(headers={"Authorization": f"Token {token_for(customer)}"}, checks=CHECKS)


@pytest.mark.usefixtures("_wsgi_in_test_transaction", "debug")
@SCHEMA.parametrize()
@BOUNDED
def test_fuzz_as_operator(case, operator, waiting_proof):
    _aim(case, waiting_proof)
    case.call_and_validate(headers={"Authorization": f"Token {token_for(operator)}"}, checks=CHECKS)


# The two answers the fuzzer first found, spelled out.

ODD_PATHS = [
    "/api/production/0/proofs/null,null/decision",  # <int:revision> refuses "null,null"
    "/api/production/0/proofs/-1/decision",
    "/api/production/0/proofs/1/decision/more",
    "/api/production/0/nothing",
    "/api/nothing-here",
    "/api/",
    "/api/production/%C2%BB%0A/proofs/-1.5e-227/decision",  # a newline in a segment (the fuzzer)
]


@pytest.mark.parametrize("debug", [False, True], ids=["DEBUG off", "DEBUG on"])
@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
@pytest.mark.parametrize("path", ODD_PATHS)
def test_a_path_no_api_route_takes_is_a_json_404(settings, customer_api, debug, method, path):
    settings.DEBUG = debug  # with DEBUG on, Django's own 404 page is HTML
    response = getattr(customer_api, method)(path, {"decision": "approve"}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Not found"}


def test_a_signed_in_post_to_no_api_route_is_a_json_404_not_a_csrf_page(customer):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(customer)
    response = browser.post("/api/production/0/proofs/null,null/decision", {"decision": "x"})
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}


def _multipart(boundary: str, *parts: bytes) -> bytes:
    return b"".join(b"--%s\r\n%s\r\n" % (boundary.encode(), p) for p in parts) + (
        b"--%s--\r\n" % boundary.encode()
    )


ODD_UPLOADS = {
    "no parts at all": ("multipart/form-data; boundary=B", b"--B--\r\n"),
    "empty body": ("multipart/form-data; boundary=B", b""),
    "no boundary": ("multipart/form-data", b"--B--\r\n"),
    "a part with no headers": ("multipart/form-data; boundary=B", _multipart("B", b"\r\nx")),
    "a huge file name": (
        "multipart/form-data; boundary=B",
        _multipart(
            "B",
            b'Content-Disposition: form-data; name="file"; filename="%s.png"\r\n'
            b"Content-Type: image/png\r\n\r\nnot a png" % (b"n" * 20_000),
        ),
    ),
    "a file as text": (
        "multipart/form-data; boundary=B",
        _multipart("B", b'Content-Disposition: form-data; name="file"\r\n\r\nabc'),
    ),
    "JSON": ("application/json", b'{"file": "abc"}'),
    "no content type": ("", b"abc"),
}


@pytest.mark.parametrize("content_type, body", ODD_UPLOADS.values(), ids=ODD_UPLOADS.keys())
def test_an_odd_proof_upload_is_a_json_error(operator_api, waiting_proof, content_type, body):
    response = operator_api.generic(
        "POST", f"/api/production/{waiting_proof.order_id}/proofs", body, content_type
    )
    assert 400 <= response.status_code < 500
    assert response["Content-Type"] == "application/json"
    assert isinstance(response.json()["error"], str)
    assert waiting_proof.order.proofs.count() == 1  # nothing sent


def test_an_upload_with_no_parts_under_daphne_is_a_json_error(tmp_path):
    """Under daphne (`make run`) as under gunicorn: Twisted once answered this body itself, a bare
    400 with no body and no Content-Type."""
    env = server_env(f"sqlite:///{tmp_path / 'unused.sqlite3'}")
    with serving(env) as daphne:
        response = requests.post(
            f"{daphne.url}/api/production/0/proofs",
            data=b"--B--\r\n",
            headers={"Content-Type": "multipart/form-data; boundary=B"},
            timeout=10,
        )
    assert response.status_code == 401  # no token: the application answered
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": "Unauthorized"}


@pytest.mark.parametrize("revision", ["0", "99999999999999999999999999999999"])
def test_a_revision_out_of_range_is_a_json_error(customer_api, waiting_proof, revision):
    response = customer_api.post(
        f"/api/production/{waiting_proof.order_id}/proofs/{revision}/decision",
        {"decision": "approve"},
        format="json",
    )
    assert 400 <= response.status_code < 500
    assert isinstance(response.json()["error"], str)
    waiting_proof.refresh_from_db()
    assert waiting_proof.state == ArtworkProof.State.WAITING

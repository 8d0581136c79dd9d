"""Sentry gets errors without personal data; OpenTelemetry costs nothing while it is off."""

import importlib
import subprocess
import sys

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from production.plumbing import error_reports, request_context


class Captured(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)


def test_an_error_reaches_sentry_without_addresses_or_e_mails():
    transport = Captured()
    error_reports.init_sentry("https://key@sentry.example.com/1", "test", 0.0)
    sentry_sdk.get_client().transport = transport
    try:
        with request_context.bound("req-42"):
            try:
                # Built at run time: the frame's source lines go to Sentry too.
                city = "".join(["Spring", "field"])
                customer = {"email": "ada@example.com", "city": city, "size": "M"}  # noqa: F841
                raise ValueError("Could not mail ada@example.com")
            except ValueError:
                sentry_sdk.capture_exception()
        sentry_sdk.flush()
    finally:
        sentry_sdk.init(dsn=None)  # off again for the other tests
    (envelope,) = transport.envelopes
    text = b"".join(item.payload.get_bytes() for item in envelope.items).decode()
    assert "ada@example.com" not in text
    assert "Springfield" not in text
    assert "Could not mail [redacted]" in text
    assert '"request_id":"req-42"' in text.replace(" ", "")
    assert '"size":"\'M\'"' in text  # what is not personal stays


def test_scrub_blanks_personal_fields_and_headers_wherever_they_are():
    event = {
        "user": {"email": "x@example.com", "ip_address": "203.0.113.1"},
        "request": {
            "headers": [["Cookie", "sessionid=abc"], ["Accept", "text/html"]],
            "data": {"shipping": {"line1": "1 Main St"}, "quantity": 3},
        },
        "extra": {"note": "call bob@example.org", "to": "carol@example.net"},
    }
    cleaned = error_reports.scrub(event)
    assert "user" not in cleaned
    assert cleaned["request"]["headers"] == [["Cookie", "[redacted]"], ["Accept", "text/html"]]
    assert cleaned["request"]["data"] == {"shipping": "[redacted]", "quantity": 3}
    assert cleaned["extra"] == {"note": "call [redacted]", "to": "[redacted]"}


def test_tracing_is_not_imported_while_off():
    # (redis-py imports opentelemetry's API itself when it is installed; nothing of ours or of
    # the SDK and instrumentations is loaded.)
    code = (
        "import sys, django; django.setup(); "
        "from django.test import Client; Client().get('/healthz'); "
        "names = ('opentelemetry.instrumentation', 'opentelemetry.sdk.trace', "
        "'production.plumbing.tracing'); "
        "print(sorted(m for m in sys.modules if m.startswith(names)))"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "x",
        "DATABASE_URL": "sqlite://:memory:",
        "OTEL_ENABLED": "false",
        "PATH": "",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_tracing_on_without_its_packages_says_what_to_install(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    tracing = importlib.import_module("production.plumbing.tracing")
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # not installed
    monkeypatch.setattr(tracing, "_configured", False)
    with pytest.raises(ImproperlyConfigured, match=r"\.\[otel\]"):
        tracing.configure()


def test_tracing_when_on_traces_a_request_its_queries_and_a_task(tmp_path):
    pytest.importorskip("opentelemetry.instrumentation.django")
    code = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
from production.accounts.password_reset import send_password_reset
from production.plumbing import request_context
Client().get("/readyz")
with request_context.bound("req-otel"):
    send_password_reset.enqueue("nobody@example.com")
call_command("db_worker", batch=True, reload=False, startup_delay=False, interval=0, verbosity=0)
from opentelemetry import trace
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
trace.get_tracer_provider().force_flush()
print("instrumented:", PsycopgInstrumentor().is_instrumented_by_opentelemetry,
      RedisInstrumentor().is_instrumented_by_opentelemetry)
"""
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "x",
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "OTEL_ENABLED": "true",
        "OTEL_TRACES_EXPORTER": "console",
        "PATH": "",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert '"name": "GET readyz"' in out  # the request
    assert "instrumented: True True" in out  # psycopg (PostgreSQL) and Redis
    assert "task production.accounts.password_reset.send_password_reset" in out
    assert '"request.id": "req-otel"' in out

"""OpenTelemetry traces, for shops that run a collector: off unless OTEL_ENABLED.

Imported only when it is on (production.plumbing.observability), so a shop without it imports and
pays for nothing. Needs the `otel` extra (`pip install -e '.[otel]'`). Spans go to the OTLP/HTTP
exporter, configured by OpenTelemetry's own variables (OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, ...). Instrumented: Django requests, psycopg queries,
Redis commands, and each task the worker runs (one span per task, with its request id).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

_configured = False


def configure() -> None:
    global _configured
    if _configured:
        return
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.django import DjangoInstrumentor
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError as error:
        raise ImproperlyConfigured(
            f"OTEL_ENABLED is on but OpenTelemetry is not installed ({error}): "
            "pip install -e '.[otel]'"
        ) from error

    provider = TracerProvider(resource=Resource.create({"service.name": "printshop"}))
    # OTLP/HTTP to the collector; OpenTelemetry's OTEL_TRACES_EXPORTER=console prints the spans
    # instead (trying it out, tests).
    console = os.environ.get("OTEL_TRACES_EXPORTER", "") == "console"
    exporter = ConsoleSpanExporter() if console else OTLPSpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()
    PsycopgInstrumentor().instrument(enable_commenter=False)
    RedisInstrumentor().instrument()
    _trace_tasks(trace.get_tracer("printshop.tasks"))
    _configured = True
    logger.info("OpenTelemetry tracing on")


def _trace_tasks(tracer: Any) -> None:
    """One span per task the worker runs, from `task_started` to `task_finished` (same thread)."""
    from contextvars import ContextVar

    from django_tasks_db.compat import task_finished, task_started
    from opentelemetry import context, trace

    from production.plumbing import request_context

    current: ContextVar[tuple[Any, Any] | None] = ContextVar("task_span", default=None)

    def started(sender: type, task_result: Any, **kwargs: Any) -> None:
        span = tracer.start_span(
            f"task {task_result.task.module_path}",
            attributes={
                "task.id": str(task_result.id),
                "task.path": task_result.task.module_path,
                "request.id": request_context.current() or "",
            },
        )
        token = context.attach(trace.set_span_in_context(span))
        current.set((span, token))

    def finished(sender: type, task_result: Any, **kwargs: Any) -> None:
        held = current.get()
        if held is None:
            return
        span, token = held
        span.set_attribute("task.status", str(task_result.status))
        span.end()
        context.detach(token)
        current.set(None)

    # After production.plumbing.tasks' receivers: the request id is bound when `started` runs.
    task_started.connect(started, weak=False, dispatch_uid="printshop-otel-task-started")
    task_finished.connect(finished, weak=False, dispatch_uid="printshop-otel-task-finished")

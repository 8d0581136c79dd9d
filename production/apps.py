from django.apps import AppConfig


class ProductionConfig(AppConfig):
    name = "production"
    verbose_name = "Production"

    def ready(self) -> None:
        from production import (  # noqa: F401
            checks,  # registers the deploy checks
            signals,  # connects the receivers
        )
        from production.plumbing import observability

        observability.configure()  # request ids in log lines; tracing when OTEL_ENABLED

"""WSGI entry point: production serves HTTP with gunicorn workers (see README)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

from production.plumbing.startup_heap import freeze_startup_heap  # noqa: E402

freeze_startup_heap()

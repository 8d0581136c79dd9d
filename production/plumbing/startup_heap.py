"""What a server process builds at start-up lives as long as the process: it is taken out of the
garbage collector's full passes (docs/decisions/0076)."""

import gc

from django.urls import get_resolver


def freeze_startup_heap() -> None:
    """Import every view module (the URLconf, as the first request would), collect what start-up
    left behind, then move every object left to the collector's permanent generation: a full
    pass no longer walks the ~190,000 objects of Django and this project's modules (on the
    2-core bench machine one cost a request ~100 ms), only what requests made since."""
    get_resolver().url_patterns  # noqa: B018 (imports the views)
    gc.collect()
    gc.freeze()

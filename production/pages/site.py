"""The site's own pages: home and the favicon."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from production.models import Garment
from production.pages.pictures import garment_picture


def home(request: HttpRequest) -> HttpResponse:
    garments = list(Garment.objects.filter(is_active=True).order_by("name"))
    for garment in garments:
        garment.picture = garment_picture(garment.image_url)
    return render(request, "home.html", {"garments": garments})


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages that name no icon (the admin's, the API docs')."""
    return redirect(static("favicon.svg"))  # temporary: the hashed name changes per deploy

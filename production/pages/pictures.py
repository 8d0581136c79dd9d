"""Which pictures a customer page may put in an <img>: this site's own static files (the demo's
designs and garment pictures), read by the browser from this site by path, whatever host the
stored URL names."""

from __future__ import annotations

from urllib.parse import urlsplit

from artwork.fetch import Refused, local_static_path


def own_static_path(url: str) -> str | None:
    """The path of the static file on this site that `url` names; None for anything else (another
    site's URL, or one on this site that is not one of its files)."""
    url = url.strip()
    if not url:
        return None
    try:
        if local_static_path(url) is None:
            return None
    except Refused:
        return None
    return urlsplit(url).path


def garment_picture(image_url: str) -> str | None:
    """A garment's picture: ours by path, or the catalogue's (the shop's own Shopify product image,
    not a customer's text) when it is https; None shows the placeholder."""
    own = own_static_path(image_url)
    if own is not None:
        return own
    return image_url if image_url.startswith("https://") else None

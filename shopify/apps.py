from django.apps import AppConfig


class ShopifyConfig(AppConfig):
    name = "shopify"
    verbose_name = "Shopify store"

    def ready(self) -> None:
        from shopify import checks  # noqa: F401  (registers the checks)

from django.apps import AppConfig


class ShopifyConfig(AppConfig):
    name = "shopify"
    verbose_name = "Shopify store"

from django.urls import re_path

from production.api import views

# The spec's paths have no trailing slash; a trailing slash is accepted too.
urlpatterns = [
    re_path(r"^production/?$", views.OrderCollectionView.as_view(), name="api-orders"),
    re_path(
        r"^production/(?P<order_id>[^/]+)/?$",
        views.OrderDetailView.as_view(),
        name="api-order-detail",
    ),
]

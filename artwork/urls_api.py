from django.urls import path

from artwork import views

urlpatterns = [
    path("artwork/check", views.PreflightCheckView.as_view(), name="api-artwork-check"),
]

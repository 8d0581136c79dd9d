from django.urls import path

from artwork import views

app_name = "artwork"

urlpatterns = [
    path("preview", views.form_preview, name="form-preview"),
    path("preview.jpg", views.form_mockup, name="form-mockup"),
    path("orders/<uuid:order_id>/preflight/", views.order_report, name="report"),
    path(
        "orders/<uuid:order_id>/mockups/<str:placement>/<int:color_id>.jpg",
        views.order_mockup,
        name="mockup",
    ),
    path(
        "orders/<uuid:order_id>/preflight/<str:placement>/highlight.png",
        views.order_highlight,
        name="highlight",
    ),
    path("orders/<uuid:order_id>/preflight/acknowledge", views.acknowledge, name="acknowledge"),
    path(
        "orders/<uuid:order_id>/preflight/<str:placement>/design",
        views.new_design,
        name="new-design",
    ),
    path(
        "orders/<uuid:order_id>/preflight/<str:placement>/override", views.override, name="override"
    ),
]

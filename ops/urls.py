from django.urls import path, re_path

from ops import floor_views, proof_views, shipping_views, ticket_views, views

app_name = "ops"

# The spec's /ops/orders has no trailing slash; one is accepted too.
urlpatterns = [
    re_path(r"^orders/?$", views.OrderListView.as_view(), name="order-list"),
    re_path(r"^orders/counts$", views.OrderCountsView.as_view(), name="order-counts"),
    re_path(r"^orders/bulk/?$", views.BulkUpdateView.as_view(), name="order-bulk"),
    re_path(r"^orders/export\.csv$", views.OrderExportView.as_view(), name="order-export"),
    path("orders/<uuid:order_id>/", views.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<uuid:order_id>/actions", views.OrderActionView.as_view(), name="order-action"),
    path(
        "orders/<uuid:order_id>/refunds", views.RefundRequestView.as_view(), name="refund-request"
    ),
    path(
        "orders/<uuid:order_id>/ticket.pdf",
        ticket_views.OrderTicketView.as_view(),
        name="order-ticket",
    ),
    re_path(r"^orders/tickets/?$", ticket_views.TicketPrintView.as_view(), name="ticket-print"),
    path("tickets/<uuid:batch_id>/", ticket_views.TicketBatchView.as_view(), name="ticket-batch"),
    path(
        "tickets/<uuid:batch_id>/download",
        ticket_views.TicketBatchDownloadView.as_view(),
        name="ticket-batch-download",
    ),
    path("orders/<uuid:order_id>/proofs", proof_views.ProofSendView.as_view(), name="proof-send"),
    path(
        "orders/<uuid:order_id>/shipments",
        shipping_views.ShipmentCreateView.as_view(),
        name="shipment-create",
    ),
    path(
        "orders/<uuid:order_id>/shipments/<int:shipment_id>/correction",
        shipping_views.ShipmentCorrectView.as_view(),
        name="shipment-correct",
    ),
    path("orders/<uuid:order_id>/pickup", shipping_views.PickupView.as_view(), name="pickup"),
    path(
        "orders/<uuid:order_id>/proofs/<int:revision>/phone-decision",
        proof_views.ProofPhoneDecisionView.as_view(),
        name="proof-phone-decision",
    ),
    # The shop floor: scan stations and the production board.
    path("scan/", floor_views.ScanStationsView.as_view(), name="scan"),
    path("scan/<slug:station>/", floor_views.ScanStationView.as_view(), name="scan-station"),
    path("scan/<slug:station>/scans", floor_views.ScanJsonView.as_view(), name="scan-json"),
    path("board/", floor_views.BoardView.as_view(), name="board"),
    path("board/move", floor_views.BoardMoveView.as_view(), name="board-move"),
]

from django.urls import path, re_path

from ops.views import designs, floor, orders, proofs, shipping, tickets

app_name = "ops"

# The spec's /ops/orders has no trailing slash; one is accepted too.
urlpatterns = [
    re_path(r"^orders/?$", orders.OrderListView.as_view(), name="order-list"),
    re_path(r"^orders/counts$", orders.OrderCountsView.as_view(), name="order-counts"),
    re_path(r"^orders/bulk/?$", orders.BulkUpdateView.as_view(), name="order-bulk"),
    re_path(r"^orders/export\.csv$", orders.OrderExportView.as_view(), name="order-export"),
    path("orders/<uuid:order_id>/", orders.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<uuid:order_id>/design", designs.OrderDesignView.as_view(), name="order-design"),
    path(
        "orders/<uuid:order_id>/design/<slug:placement>",
        designs.OrderDesignView.as_view(),
        name="order-placement-design",
    ),
    path("orders/<uuid:order_id>/actions", orders.OrderActionView.as_view(), name="order-action"),
    path(
        "orders/<uuid:order_id>/refunds", orders.RefundRequestView.as_view(), name="refund-request"
    ),
    path(
        "orders/<uuid:order_id>/ticket.pdf",
        tickets.OrderTicketView.as_view(),
        name="order-ticket",
    ),
    re_path(r"^orders/tickets/?$", tickets.TicketPrintView.as_view(), name="ticket-print"),
    path("tickets/<uuid:batch_id>/", tickets.TicketBatchView.as_view(), name="ticket-batch"),
    path(
        "tickets/<uuid:batch_id>/download",
        tickets.TicketBatchDownloadView.as_view(),
        name="ticket-batch-download",
    ),
    path("orders/<uuid:order_id>/proofs", proofs.ProofSendView.as_view(), name="proof-send"),
    path(
        "orders/<uuid:order_id>/shipments",
        shipping.ShipmentCreateView.as_view(),
        name="shipment-create",
    ),
    path(
        "orders/<uuid:order_id>/shipments/<int:shipment_id>/correction",
        shipping.ShipmentCorrectView.as_view(),
        name="shipment-correct",
    ),
    path("orders/<uuid:order_id>/pickup", shipping.PickupView.as_view(), name="pickup"),
    path(
        "orders/<uuid:order_id>/shipments/<int:shipment_id>/packing-slip.pdf",
        shipping.PackingSlipView.as_view(),
        name="packing-slip",
    ),
    path(
        "orders/<uuid:order_id>/shipping-address",
        shipping.AddressCorrectView.as_view(),
        name="address-correct",
    ),
    path(
        "orders/<uuid:order_id>/proofs/<int:revision>/phone-decision",
        proofs.ProofPhoneDecisionView.as_view(),
        name="proof-phone-decision",
    ),
    # The shop floor: scan stations and the production board.
    path("scan/", floor.ScanStationsView.as_view(), name="scan"),
    path("scan/<slug:station>/", floor.ScanStationView.as_view(), name="scan-station"),
    path("scan/<slug:station>/scans", floor.ScanJsonView.as_view(), name="scan-json"),
    path("board/", floor.BoardView.as_view(), name="board"),
    path("board/move", floor.BoardMoveView.as_view(), name="board-move"),
]

import pytest

from production.lifecycle import OrderState
from production.models import OrderNote
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def change_url(order) -> str:
    return f"/admin/production/productionorder/{order.pk}/change/"


def service_url(order) -> str:
    return f"/admin/production/productionorder/{order.pk}/change-through-service/"


def form_data(**changes) -> dict:
    fields = ("move_to", "set_production_status", "set_priority", "change_note", "internal_note")
    return {**dict.fromkeys(fields, ""), **changes}


def test_support_moves_an_order_through_the_service(staff_client):
    order = make_order(state=OrderState.SUBMITTED)
    assert service_url(order) in staff_client.get(change_url(order)).content.decode()
    response = staff_client.post(
        service_url(order), form_data(move_to="approved", change_note="OK'd")
    )
    assert response.status_code == 302
    assert response["Location"] == change_url(order)
    order.refresh_from_db()
    assert (order.status, order.production_status) == ("approved", "Queued")
    event = order.events.last()
    assert (event.source, event.actor, event.message) == ("admin", staff_client.user, "OK'd")
    assert event.metadata["from"] == "submitted"


def test_only_allowed_moves_are_offered(staff_client):
    order = make_order(state=OrderState.FULFILLED)
    page = staff_client.get(service_url(order)).content.decode()
    assert 'value="approved"' not in page
    response = staff_client.post(service_url(order), form_data(move_to="approved"))
    assert response.status_code == 200  # form error, nothing saved
    order.refresh_from_db()
    assert order.status == "fulfilled"


def test_a_draft_cannot_be_submitted_from_admin(staff_client):
    order = make_order()
    staff_client.post(service_url(order), form_data(move_to="submitted"))
    order.refresh_from_db()
    assert order.status == "draft"


def test_order_fields_cannot_be_edited_directly(staff_client):
    order = make_order()
    page = staff_client.get(change_url(order)).content.decode()
    assert 'name="total_amount"' not in page and 'name="_save"' not in page
    staff_client.post(
        change_url(order), {"total_amount": "1", "status": "fulfilled", "design_url": "https://x"}
    )
    order.refresh_from_db()
    assert (order.total_amount, order.status) == (9000, "draft")


def test_internal_note_from_admin(staff_client):
    order = make_order()
    response = staff_client.post(service_url(order), form_data(internal_note="Call the customer"))
    assert response.status_code == 302
    note = OrderNote.objects.get(order=order)
    assert (note.body, note.author) == ("Call the customer", staff_client.user)
    assert order.events.count() == 1  # internal: nothing on the customer's timeline


def test_an_empty_change_is_refused(staff_client):
    order = make_order()
    response = staff_client.post(service_url(order), form_data())
    assert response.status_code == 200
    assert "Nothing to change." in response.content.decode()


def test_staff_without_the_change_permission_cannot_change_orders(client, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer@example.com", password="pw")
    viewer.is_staff = True
    viewer.save()
    viewer.user_permissions.add(Permission.objects.get(codename="view_productionorder"))
    client.force_login(viewer)
    order = make_order(state=OrderState.SUBMITTED)
    assert client.get(change_url(order)).status_code == 200
    assert client.post(service_url(order), form_data(move_to="approved")).status_code == 403
    order.refresh_from_db()
    assert order.status == "submitted"


def test_search_by_reference_and_email(staff_client):
    order = make_order()
    other = make_order()
    page = staff_client.get("/admin/production/productionorder/", {"q": order.reference})
    assert order.reference in page.content.decode()
    assert other.reference not in page.content.decode()
    page = staff_client.get("/admin/production/productionorder/", {"q": order.owner.email})
    assert order.reference in page.content.decode()


def test_events_are_read_only_in_admin(staff_client):
    order = make_order()
    page = staff_client.get(change_url(order)).content.decode()
    assert "Order created, awaiting payment" in page
    assert 'name="events-0-message"' not in page


def test_proof_revisions_and_decisions_are_listed_read_only(staff_client):
    from production.services.proofs import decide_proof
    from tests.factories import make_proof

    order = make_order(state=OrderState.SUBMITTED)
    make_proof(order, notes="Sleeve print")
    decide_proof(
        order=order.pk, revision=1, decision="request_changes", comment="Too small", actor=None
    )
    html = staff_client.get(change_url(order)).content.decode()
    assert "Artwork proofs" in html
    assert "Sleeve print" in html and "Too small" in html and "Changes requested" in html
    assert f'href="/orders/{order.pk}/proofs/1/file"' in html
    assert 'name="proofs-0-notes"' not in html  # read-only


def test_shipments_are_listed_read_only(staff_client):
    from production.lifecycle import ProductionStatus
    from production.services.shipping import record_shipment

    order = make_order(state=OrderState.IN_PRODUCTION, step=ProductionStatus.READY)
    record_shipment(order=order.pk, carrier="ups", tracking_number="1Z999AA10123456784", actor=None)
    html = staff_client.get(change_url(order)).content.decode()
    assert "Shipments" in html
    assert 'href="https://www.ups.com/track?tracknum=1Z999AA10123456784"' in html
    assert "2 × M, 3 × L" in html
    assert 'name="shipments-0-tracking_number"' not in html  # read-only

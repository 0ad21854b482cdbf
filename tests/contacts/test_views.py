"""The contacts page and its actions, as plain forms and as background requests."""

import pytest
from django.test import Client
from django.urls import reverse

from contacts.models import Block, Contact, ContactRequest
from tests.factories import UserFactory, make_contacts

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def ann(client: Client):
    user = UserFactory(username="ann", display_name="Ann")
    client.force_login(user)
    return user


def test_the_page_needs_a_login(client: Client) -> None:
    response = client.get(reverse("contacts:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_page_lists_contacts_requests_and_blocks(client: Client, ann) -> None:
    friend = UserFactory(display_name="Friend <b>")
    make_contacts(ann, friend)
    asker = UserFactory(display_name="Asker")
    ContactRequest.objects.create(from_user=asker, to_user=ann, message="<script>x</script>")
    asked = UserFactory(display_name="Asked")
    ContactRequest.objects.create(from_user=ann, to_user=asked)
    pest = UserFactory(display_name="Pest")
    Block.objects.create(blocker=ann, blocked=pest)
    response = client.get(reverse("contacts:index"))
    assert response.status_code == 200
    assert [c.pk for c, _online in response.context["contacts"]] == [friend.pk]
    assert [r.from_user for r in response.context["incoming"]] == [asker]
    assert [r.to_user for r in response.context["outgoing"]] == [asked]
    assert list(response.context["blocked"]) == [pest]
    body = response.content.decode()
    assert "Friend &lt;b&gt;" in body
    assert "&lt;script&gt;x&lt;/script&gt;" in body
    assert "<script>x" not in body


def test_searching_shows_people_with_an_add_button(client: Client, ann) -> None:
    UserFactory(username="bert")
    response = client.get(reverse("contacts:index"), {"q": "BE"})
    assert [u.username for u in response.context["results"]] == ["bert"]


def test_a_plain_form_post_sends_a_request_and_redirects_with_a_message(
    client: Client, ann
) -> None:
    ben = UserFactory(username="ben", display_name="Ben")
    response = client.post(
        reverse("contacts:request_send"), {"username": "ben", "message": "hey"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("contacts:index")
    assert [str(m) for m in response.context["messages"]] == ["Request sent to Ben."]
    assert ContactRequest.objects.get().to_user == ben


def test_a_background_post_answers_json(client: Client, ann) -> None:
    UserFactory(username="ben", display_name="Ben")
    response = client.post(reverse("contacts:request_send"), {"username": "ben"}, **JSON)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "message": "Request sent to Ben."}
    again = client.post(reverse("contacts:request_send"), {"username": "ben"}, **JSON)
    assert again.status_code == 400
    assert again.json()["code"] == "duplicate"


@pytest.mark.parametrize("username", ["nobody", "", "ann"])
def test_a_request_to_nobody_or_yourself_is_a_clear_error(client: Client, ann, username) -> None:
    response = client.post(reverse("contacts:request_send"), {"username": username}, **JSON)
    assert response.status_code == 400
    assert response.json()["message"]
    assert not ContactRequest.objects.exists()


def test_accept_decline_and_cancel_through_the_views(client: Client, ann) -> None:
    ben, cat, dan = UserFactory(), UserFactory(), UserFactory()
    from_ben = ContactRequest.objects.create(from_user=ben, to_user=ann)
    from_cat = ContactRequest.objects.create(from_user=cat, to_user=ann)
    to_dan = ContactRequest.objects.create(from_user=ann, to_user=dan)
    assert (
        client.post(reverse("contacts:request_accept", args=[from_ben.pk]), **JSON).status_code
        == 200
    )
    assert (
        client.post(reverse("contacts:request_decline", args=[from_cat.pk]), **JSON).status_code
        == 200
    )
    assert (
        client.post(reverse("contacts:request_cancel", args=[to_dan.pk]), **JSON).status_code == 200
    )
    statuses = dict(ContactRequest.objects.values_list("pk", "status"))
    assert statuses == {from_ben.pk: "accepted", from_cat.pk: "declined", to_dan.pk: "cancelled"}
    assert Contact.objects.filter(owner=ann, contact=ben).exists()


def test_a_forged_post_for_someone_elses_request_changes_nothing(client: Client, ann) -> None:
    ben, cat = UserFactory(), UserFactory()
    theirs = ContactRequest.objects.create(from_user=ben, to_user=cat)
    for name in ("contacts:request_accept", "contacts:request_decline", "contacts:request_cancel"):
        response = client.post(reverse(name, args=[theirs.pk]), **JSON)
        assert response.status_code == 400
        assert response.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.status == ContactRequest.Status.PENDING
    assert not Contact.objects.exists()


def test_remove_block_and_unblock_through_the_views(client: Client, ann) -> None:
    ben = UserFactory(username="ben")
    make_contacts(ann, ben)
    assert client.post(reverse("contacts:remove", args=["ben"]), **JSON).status_code == 200
    assert not Contact.objects.exists()
    assert client.post(reverse("contacts:block", args=["ben"]), **JSON).status_code == 200
    assert Block.objects.filter(blocker=ann, blocked=ben).exists()
    assert client.post(reverse("contacts:unblock", args=["ben"]), **JSON).status_code == 200
    assert not Block.objects.exists()
    assert client.post(reverse("contacts:block", args=["nobody"]), **JSON).status_code == 400


def test_actions_need_post_and_csrf(ann) -> None:
    ben = UserFactory(username="ben")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(ann)
    assert strict.get(reverse("contacts:block", args=["ben"])).status_code == 405
    assert strict.post(reverse("contacts:block", args=["ben"])).status_code == 403
    assert not Block.objects.filter(blocked=ben).exists()

"""The Django admin: every page of our models loads, and deactivation acts at once."""

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.urls import reverse

from accounts.models import AccessToken, User
from accounts.services import token_create
from contacts.models import Block, Contact, ContactRequest
from conversations.consumers import CLOSE_SESSION_ENDED
from tests.conftest import socket_connect
from tests.factories import DirectConversationFactory, UserFactory, make_contacts


@pytest.fixture
def staff_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw-for-admin"))
    return client


@pytest.mark.django_db
def test_every_admin_list_and_change_page_loads(staff_client: Client) -> None:
    ann, ben = UserFactory(), UserFactory()
    make_contacts(ann, ben)
    ContactRequest.objects.create(from_user=ann, to_user=UserFactory())
    Block.objects.create(blocker=ben, blocked=UserFactory())
    DirectConversationFactory(members=[ann, ben])
    for model in (
        "accounts/user",
        "contacts/contact",
        "contacts/contactrequest",
        "contacts/block",
        "conversations/conversation",
        "conversations/message",
    ):
        app, name = model.split("/")
        listing = staff_client.get(reverse(f"admin:{app}_{name}_changelist"), {"q": "person"})
        assert listing.status_code == 200, model
    for obj in (
        ann,
        Contact.objects.first(),
        ContactRequest.objects.first(),
        Block.objects.first(),
    ):
        url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
        assert staff_client.get(url).status_code == 200


@pytest.mark.django_db
def test_the_admin_is_staff_only(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.django_db(transaction=True)
async def test_deactivating_closes_the_users_sockets_and_stops_their_logins(kafka_topics) -> None:
    victim = await database_sync_to_async(UserFactory)(username="victim")
    staff = await database_sync_to_async(Client)()
    admin = await database_sync_to_async(User.objects.create_superuser)(
        "root", "r@example.com", "pw"
    )
    await database_sync_to_async(staff.force_login)(admin)
    socket, connected, _ = await socket_connect(victim)
    assert connected
    response = await database_sync_to_async(staff.post)(
        reverse("admin:accounts_user_changelist"),
        {"action": "deactivate", "_selected_action": [victim.pk]},
    )
    assert response.status_code == 302
    closed = await socket.receive_output(timeout=10)
    assert closed == {"type": "websocket.close", "code": CLOSE_SESSION_ENDED}
    _, connected_again, _ = await socket_connect(victim)
    assert not connected_again
    login = Client()
    ok = await database_sync_to_async(login.login)(
        username="victim", password="correct horse battery staple"
    )
    assert not ok


@pytest.mark.django_db
def test_staff_see_tokens_by_prefix_and_revoke_them(staff_client: Client) -> None:
    owner = UserFactory()
    created = token_create(user=owner, name="leaked", scopes=["read"])
    listing = staff_client.get(reverse("admin:accounts_accesstoken_changelist"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert created.token.prefix in html
    assert created.plaintext not in html
    assert created.token.secret_hash not in html
    detail = staff_client.get(reverse("admin:accounts_accesstoken_change", args=[created.token.pk]))
    assert detail.status_code == 200
    assert created.token.secret_hash not in detail.content.decode()
    assert staff_client.get(reverse("admin:accounts_accesstoken_add")).status_code == 403
    staff_client.post(
        reverse("admin:accounts_accesstoken_changelist"),
        {"action": "revoke", "_selected_action": [created.token.pk]},
    )
    assert AccessToken.objects.get(pk=created.token.pk).status == "revoked"

"""Profile pages, the edit page and avatars as people see them."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from contacts.models import Block
from tests.factories import UserFactory, make_contacts

pytestmark = pytest.mark.django_db


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (100, 60), (0, 120, 0)).save(buffer, format="PNG")
    return SimpleUploadedFile("me.png", buffer.getvalue(), content_type="image/png")


def test_editing_the_profile_with_an_avatar(client: Client) -> None:
    user = UserFactory(username="ann")
    client.force_login(user)
    response = client.post(
        reverse("accounts:profile_edit"),
        {"display_name": "Ann A.", "status_text": "On holiday", "avatar": png()},
    )
    assert response["Location"] == reverse("accounts:profile", args=["ann"])
    user.refresh_from_db()
    assert (user.display_name, user.status_text) == ("Ann A.", "On holiday")
    avatar = client.get(user.avatar_url)
    assert avatar.status_code == 200
    assert avatar["Content-Type"] == "image/webp"
    page = client.get(reverse("accounts:profile", args=["ann"])).content.decode()
    assert user.avatar_url.replace("&", "&amp;") in page


def test_a_broken_upload_is_a_form_error_not_a_500(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("accounts:profile_edit"),
        {"display_name": "New", "avatar": SimpleUploadedFile("x.png", b"garbage")},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["avatar"] == ["That file is not an image we can read."]
    user.refresh_from_db()
    assert user.display_name != "New"  # Nothing of a refused form is kept.


def test_avatars_need_a_login_and_exist(client: Client) -> None:
    user = UserFactory(username="ann")
    assert client.get(reverse("accounts:avatar", args=["ann"])).status_code == 302
    client.force_login(user)
    assert client.get(reverse("accounts:avatar", args=["ann"])).status_code == 404


def test_someone_who_blocked_you_looks_like_nobody(client: Client) -> None:
    me, blocker = UserFactory(), UserFactory(username="blocker")
    Block.objects.create(blocker=blocker, blocked=me)
    client.force_login(me)
    assert client.get(reverse("accounts:profile", args=["blocker"])).status_code == 404


def test_presence_is_shown_to_contacts_only(client: Client) -> None:
    me, friend, _stranger = (
        UserFactory(),
        UserFactory(username="friend"),
        UserFactory(username="stranger"),
    )
    make_contacts(me, friend)
    client.force_login(me)
    assert client.get(reverse("accounts:profile", args=["friend"])).context["is_contact"] is True
    assert b"offline" in client.get(reverse("accounts:profile", args=["friend"])).content
    stranger_page = client.get(reverse("accounts:profile", args=["stranger"]))
    assert stranger_page.context["online"] is False
    assert b"offline" not in stranger_page.content

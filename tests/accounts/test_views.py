"""Sign-up, log-in, log-out, password change and reset, and profile pages."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_a_person_signs_up_and_is_logged_in(client: Client) -> None:
    response = client.post(
        reverse("account_signup"),
        {
            "username": "newcomer",
            "email": "newcomer@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newcomer")
    assert user.check_password(PASSWORD)
    assert client.get(reverse("conversations:index")).context["user"] == user


def test_sign_up_refuses_a_taken_username_with_a_form_error(client: Client) -> None:
    UserFactory(username="taken")
    response = client.post(
        reverse("account_signup"),
        {
            "username": "taken",
            "email": "x@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    assert User.objects.filter(username="taken").count() == 1


def test_log_in_and_log_out(client: Client) -> None:
    user = UserFactory()
    response = client.post(reverse("account_login"), {"login": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("conversations:index")).status_code == 200
    client.post(reverse("account_logout"))
    response = client.get(reverse("conversations:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_wrong_password_does_not_log_in(client: Client) -> None:
    user = UserFactory()
    response = client.post(reverse("account_login"), {"login": user.username, "password": "nope"})
    assert response.status_code == 200
    assert response.context["form"].errors


def test_password_change(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "a new long passphrase",
            "password2": "a new long passphrase",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a new long passphrase")


def test_password_reset_by_email(client: Client) -> None:
    user = UserFactory(email="forgetful@example.com")
    client.post(reverse("account_reset_password"), {"email": "forgetful@example.com"})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/password/reset/key/\S+)", mail.outbox[0].body)
    assert link is not None
    response = client.get(link.group(1), follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link.group(1)
    response = client.post(
        form_url, {"password1": "brand new passphrase", "password2": "brand new passphrase"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("brand new passphrase")


def test_a_profile_page_shows_the_person_escaped(client: Client) -> None:
    viewer = UserFactory()
    person = UserFactory(username="mallory", display_name="<script>alert(1)</script>")
    client.force_login(viewer)
    response = client.get(reverse("accounts:profile", args=[person.username]))
    assert response.status_code == 200
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content
    assert b"<script>alert(1)</script>" not in response.content


def test_profiles_need_a_login_and_an_existing_person(client: Client) -> None:
    person = UserFactory()
    response = client.get(reverse("accounts:profile", args=[person.username]))
    assert response.status_code == 302
    client.force_login(person)
    assert client.get(reverse("accounts:profile", args=["nobody-here"])).status_code == 404

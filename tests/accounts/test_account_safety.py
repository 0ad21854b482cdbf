"""Account safety: rate limits on the shared cache, the same answer for known
and unknown addresses, and the admin's login through allauth's."""

import uuid

import pytest
import redis
from django.conf import settings
from django.core import mail
from django.test import Client

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def fresh_ip() -> str:
    """An address of its own per test: rate-limit counters outlive a test in Redis."""
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2]}"


def login(client: Client, login: str, password: str, ip: str, next_url: str = "") -> str:
    """Post allauth's login form; return where it sent us, or the page's text."""
    url = "/accounts/login/" + (f"?next={next_url}" if next_url else "")
    response = client.post(url, {"login": login, "password": password}, REMOTE_ADDR=ip)
    if response.status_code == 302:
        return response["Location"]
    return response.content.decode()


@pytest.fixture
def rate_limits(settings) -> None:
    """Turn allauth's rate limits on (the suite runs with them off), tighter."""
    settings.ACCOUNT_RATE_LIMITS = {
        "login_failed": "10/m/ip,3/5m/key",
        "reset_password": "20/m/ip,2/m/key",
    }


def test_failed_logins_are_throttled_in_redis_and_block_even_the_right_password(
    rate_limits,
) -> None:
    user = UserFactory(username=f"victim{uuid.uuid4().hex[:6]}")
    ip = fresh_ip()
    client = Client()
    for _ in range(3):
        page = login(client, user.username, "wrong password", ip)
        assert "not correct" in page
    page = login(client, user.username, PASSWORD, ip)
    assert "Too many failed login attempts" in page
    assert "_auth_user_id" not in client.session
    # Counted in Redis under the cache's prefix, so every web process sees it.
    raw = redis.Redis.from_url(settings.REDIS_URL)
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    assert raw.keys(f"{prefix}:*allauth:rl:allauth.account:login_failed:*")
    # Another person, from another address, is not affected.
    other = UserFactory(username=f"other{uuid.uuid4().hex[:6]}")
    assert login(Client(), other.username, PASSWORD, fresh_ip()) == "/conversations/"


def test_a_wrong_password_and_an_unknown_person_get_the_same_answer() -> None:
    user = UserFactory(username=f"known{uuid.uuid4().hex[:6]}")
    known = login(Client(), user.username, "wrong password", fresh_ip())
    unknown = login(Client(), "nobody-at-all", "wrong password", fresh_ip())
    message = "The username and/or password you specified are not correct."
    assert message in known
    assert message in unknown


def test_password_reset_answers_the_same_for_known_and_unknown_addresses() -> None:
    UserFactory(username=f"reset{uuid.uuid4().hex[:6]}", email="known@example.com")
    answers = []
    for email in ("known@example.com", "unknown@example.com"):
        response = Client().post(
            "/accounts/password/reset/", {"email": email}, REMOTE_ADDR=fresh_ip()
        )
        answers.append((response.status_code, response["Location"]))
    assert answers[0] == answers[1] == (302, "/accounts/password/reset/done/")
    # Each address gets a mail; only the account's has a reset link.
    by_address = {message.to[0]: message.body for message in mail.outbox}
    assert set(by_address) == {"known@example.com", "unknown@example.com"}
    assert "/accounts/password/reset/key/" in by_address["known@example.com"]
    assert "/accounts/password/reset/key/" not in by_address["unknown@example.com"]


def test_password_reset_is_rate_limited_per_address(rate_limits) -> None:
    UserFactory(username=f"flood{uuid.uuid4().hex[:6]}", email="flooded@example.com")
    statuses = [
        Client()
        .post("/accounts/password/reset/", {"email": "flooded@example.com"}, REMOTE_ADDR=ip)
        .status_code
        for ip in (fresh_ip(), fresh_ip(), fresh_ip())
    ]
    assert statuses == [302, 302, 429]
    assert len(mail.outbox) == 2


def test_signup_does_not_reveal_a_taken_address_when_verification_is_mandatory(
    settings,
) -> None:
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    UserFactory(username=f"taken{uuid.uuid4().hex[:6]}", email="taken@example.com")
    answers = []
    for n, email in enumerate(("taken@example.com", "free@example.com")):
        response = Client().post(
            "/accounts/signup/",
            {
                "email": email,
                "username": f"newcomer{n}{uuid.uuid4().hex[:6]}",
                "password1": "a long enough passphrase",
                "password2": "a long enough passphrase",
            },
            REMOTE_ADDR=fresh_ip(),
        )
        answers.append((response.status_code, response.get("Location")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 302


def test_the_admin_login_goes_through_allauths_login() -> None:
    client = Client()
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    # The admin's own form no longer logs anyone in.
    staff = UserFactory(username=f"staff{uuid.uuid4().hex[:6]}", is_staff=True)
    posted = client.post(
        "/admin/login/?next=/admin/", {"username": staff.username, "password": PASSWORD}
    )
    assert posted.status_code == 302
    assert posted["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    # allauth's login takes staff to the admin.
    assert login(client, staff.username, PASSWORD, fresh_ip(), next_url="/admin/") == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_admin_login_refuses_people_who_are_not_staff() -> None:
    client = Client()
    client.force_login(UserFactory())
    assert client.get("/admin/login/").status_code == 403
    assert client.get("/admin/").status_code == 302


def test_brute_force_on_the_admin_is_throttled(rate_limits) -> None:
    staff = UserFactory(username=f"admin{uuid.uuid4().hex[:6]}", is_staff=True)
    ip = fresh_ip()
    client = Client()
    for _ in range(3):
        assert "not correct" in login(client, staff.username, "guess", ip, next_url="/admin/")
    page = login(client, staff.username, PASSWORD, ip, next_url="/admin/")
    assert "Too many failed login attempts" in page
    assert client.get("/admin/").status_code == 302

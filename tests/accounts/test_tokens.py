"""Personal access tokens: the services, the API endpoints and the browser page."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AccessToken
from accounts.services import (
    TokenError,
    TokenRejected,
    token_authenticate,
    token_create,
    token_hash,
    token_revoke,
)
from tests.factories import UserFactory, access_token

pytestmark = pytest.mark.django_db


def logged_in(user: object, **kwargs: object) -> Client:
    client = Client(**kwargs)  # type: ignore[arg-type]
    client.force_login(user)  # type: ignore[arg-type]
    return client


def bearer(plaintext: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}


# Services


def test_create_stores_only_a_hash_and_returns_the_plaintext_once() -> None:
    user = UserFactory()
    created = token_create(user=user, name=" CI bot ", scopes=["write", "read", "read"])
    token = AccessToken.objects.get(pk=created.token.pk)
    assert created.plaintext.startswith("msgr_")
    assert len(created.plaintext) == 48
    assert token.name == "CI bot"
    assert token.scopes == ["read", "write"]
    assert token.prefix == created.plaintext[:12]
    assert token.secret_hash == token_hash(created.plaintext)
    stored = [str(v) for v in AccessToken.objects.filter(pk=token.pk).values().first().values()]
    assert created.plaintext not in stored
    assert token_create(user=user, name="other", scopes=["read"]).plaintext != created.plaintext


@pytest.mark.parametrize(
    ("name", "scopes", "expires_in", "code"),
    [
        ("", ["read"], None, "bad_name"),
        ("   ", ["read"], None, "bad_name"),
        ("x" * 101, ["read"], None, "bad_name"),
        ("ok", [], None, "bad_scopes"),
        ("ok", ["admin"], None, "bad_scopes"),
        ("ok", ["read"], timedelta(seconds=-1), "bad_expiry"),
    ],
)
def test_create_refuses_bad_input(
    name: str, scopes: list[str], expires_in: timedelta | None, code: str
) -> None:
    expires_at = timezone.now() + expires_in if expires_in is not None else None
    with pytest.raises(TokenError) as caught:
        token_create(user=UserFactory(), name=name, scopes=scopes, expires_at=expires_at)
    assert caught.value.code == code
    assert not AccessToken.objects.exists()


def test_a_person_may_hold_a_limited_number_of_usable_tokens(settings) -> None:
    settings.ACCESS_TOKEN_MAX_PER_USER = 2
    user = UserFactory()
    first = token_create(user=user, name="one", scopes=["read"])
    token_create(user=user, name="two", scopes=["read"])
    with pytest.raises(TokenError) as caught:
        token_create(user=user, name="three", scopes=["read"])
    assert caught.value.code == "too_many_tokens"
    token_revoke(user=user, token_id=first.token.pk)
    token_create(user=user, name="three", scopes=["read"])
    assert token_create(user=UserFactory(), name="theirs", scopes=["read"])


def test_authenticate_accepts_a_usable_token_and_records_its_use() -> None:
    user = UserFactory()
    plaintext = access_token(user, scopes=("read",))
    token = token_authenticate(plaintext=plaintext)
    assert token.user == user
    assert token.allows("read")
    assert not token.allows("write")
    first_use = AccessToken.objects.get(pk=token.pk).last_used_at
    assert first_use is not None
    # Within the minute: no second write.
    token_authenticate(plaintext=plaintext)
    assert AccessToken.objects.get(pk=token.pk).last_used_at == first_use
    AccessToken.objects.filter(pk=token.pk).update(last_used_at=first_use - timedelta(minutes=2))
    token_authenticate(plaintext=plaintext)
    assert AccessToken.objects.get(pk=token.pk).last_used_at > first_use


def test_authenticate_says_why_a_token_is_refused() -> None:
    user = UserFactory()
    revoked = token_create(user=user, name="revoked", scopes=["read"])
    token_revoke(user=user, token_id=revoked.token.pk)
    expired = token_create(user=user, name="expired", scopes=["read"])
    AccessToken.objects.filter(pk=expired.token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    inactive_user = UserFactory(is_active=False)
    inactive = access_token(inactive_user)
    cases = {
        "nonsense": "token_malformed",
        "msgr_" + "a" * 42: "token_malformed",
        "msgr_" + "a" * 42 + "!": "token_malformed",
        "msgr_" + "a" * 43: "token_invalid",
        revoked.plaintext: "token_revoked",
        expired.plaintext: "token_expired",
        inactive: "account_inactive",
    }
    for plaintext, code in cases.items():
        with pytest.raises(TokenRejected) as caught:
            token_authenticate(plaintext=plaintext)
        assert caught.value.code == code, plaintext


def test_revoke_is_for_the_owner_only_and_idempotent() -> None:
    owner, other = UserFactory(), UserFactory()
    created = token_create(user=owner, name="mine", scopes=["read"])
    with pytest.raises(TokenError):
        token_revoke(user=other, token_id=created.token.pk)
    assert AccessToken.objects.get(pk=created.token.pk).revoked_at is None
    first = token_revoke(user=owner, token_id=created.token.pk).revoked_at
    assert first is not None
    assert token_revoke(user=owner, token_id=created.token.pk).revoked_at == first
    assert AccessToken.objects.get(pk=created.token.pk).status == "revoked"


# API endpoints


def test_api_create_answers_the_token_once_and_lists_it_without_secret() -> None:
    user = UserFactory()
    client = logged_in(user)
    response = client.post(
        "/api/v1/tokens/",
        {"name": "deploy script", "scopes": ["read", "write"]},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    plaintext = body["token"]
    assert body["name"] == "deploy script"
    assert body["scopes"] == ["read", "write"]
    assert body["prefix"] == plaintext[:12]
    assert body["status"] == "active"
    assert body["expires_at"] is None

    listing = client.get("/api/v1/tokens/")
    assert listing.status_code == 200
    assert plaintext not in listing.content.decode()
    detail = client.get(f"/api/v1/tokens/{body['id']}/").json()
    assert "token" not in detail
    assert detail["prefix"] == body["prefix"]

    # The new token works at once.
    assert client.get("/api/v1/tokens/", **bearer(plaintext)).status_code == 200


def test_api_create_with_an_expiry_and_bad_input() -> None:
    client = logged_in(UserFactory())
    later = (timezone.now() + timedelta(days=7)).isoformat()
    response = client.post(
        "/api/v1/tokens/",
        {"name": "week", "scopes": ["read"], "expires_at": later},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["expires_at"] is not None
    for bad in (
        {"name": "", "scopes": ["read"]},
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["root"]},
        {"name": "x", "scopes": "read"},
        {"name": "x", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"},
        {"name": "x", "scopes": ["read"], "expires_at": "tomorrow"},
    ):
        answer = client.post("/api/v1/tokens/", bad, content_type="application/json")
        assert answer.status_code == 400, bad
    assert AccessToken.objects.count() == 1


def test_a_token_cannot_create_tokens() -> None:
    user = UserFactory()
    plaintext = access_token(user, scopes=("read", "write"))
    response = Client().post(
        "/api/v1/tokens/",
        {"name": "child", "scopes": ["read"]},
        content_type="application/json",
        **bearer(plaintext),
    )
    assert response.status_code == 403
    assert "session" in response.content.decode()
    assert AccessToken.objects.count() == 1


def test_creating_from_a_session_needs_the_csrf_token() -> None:
    client = logged_in(UserFactory(), enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/tokens/", {"name": "x", "scopes": ["read"]}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.content.decode()
    assert not AccessToken.objects.exists()


def test_api_lists_and_revokes_only_ones_own_tokens() -> None:
    owner, other = UserFactory(), UserFactory()
    mine = token_create(user=owner, name="mine", scopes=["read"]).token
    theirs = token_create(user=other, name="theirs", scopes=["read"]).token
    client = logged_in(owner)
    listing = client.get("/api/v1/tokens/").json()
    items = listing["results"] if isinstance(listing, dict) else listing
    assert [item["name"] for item in items] == ["mine"]
    assert client.get(f"/api/v1/tokens/{theirs.pk}/").status_code == 404
    assert client.delete(f"/api/v1/tokens/{theirs.pk}/").status_code == 404
    assert AccessToken.objects.get(pk=theirs.pk).revoked_at is None
    assert client.delete(f"/api/v1/tokens/{mine.pk}/").status_code == 204
    assert client.get(f"/api/v1/tokens/{mine.pk}/").json()["status"] == "revoked"


def test_a_write_token_revokes_itself_and_then_stops_working() -> None:
    user = UserFactory()
    created = token_create(user=user, name="script", scopes=["read", "write"])
    client = Client()
    url = f"/api/v1/tokens/{created.token.pk}/"
    assert client.delete(url, **bearer(created.plaintext)).status_code == 204
    response = client.get("/api/v1/tokens/", **bearer(created.plaintext))
    assert response.status_code == 401
    assert "revoked" in response.content.decode()


# The browser page


def test_the_page_creates_a_token_shows_it_once_and_escapes_the_name() -> None:
    user = UserFactory()
    client = logged_in(user)
    response = client.post(
        "/people/me/tokens/",
        {"name": "<script>alert(1)</script>", "scopes": ["read"], "expires_in_days": "30"},
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    token = AccessToken.objects.get(user=user)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    plaintext = html.split('id="new-token" class="token-value" value="')[1].split('"')[0]
    assert token.secret_hash == token_hash(plaintext)
    assert token.expires_at is not None
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    # Listed afterwards by prefix only.
    again = client.get("/people/me/tokens/").content.decode()
    assert plaintext not in again
    assert f"{token.prefix}…" in again


def test_the_page_shows_form_errors_and_creates_nothing() -> None:
    client = logged_in(UserFactory())
    response = client.post("/people/me/tokens/", {"name": "", "scopes": []})
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    assert not AccessToken.objects.exists()


def test_the_page_revokes_ones_own_tokens_only() -> None:
    owner, other = UserFactory(), UserFactory()
    mine = token_create(user=owner, name="mine", scopes=["read"]).token
    theirs = token_create(user=other, name="theirs", scopes=["read"]).token
    client = logged_in(owner)
    page = client.get("/people/me/tokens/").content.decode()
    assert "mine" in page
    assert "theirs" not in page
    assert client.post(f"/people/me/tokens/{theirs.pk}/revoke/").status_code == 404
    assert client.get(f"/people/me/tokens/{mine.pk}/revoke/").status_code == 405
    response = client.post(f"/people/me/tokens/{mine.pk}/revoke/", follow=True)
    assert "was revoked" in response.content.decode()
    assert AccessToken.objects.get(pk=mine.pk).revoked_at is not None
    assert AccessToken.objects.get(pk=theirs.pk).revoked_at is None


def test_the_page_needs_a_login() -> None:
    response = Client().get("/people/me/tokens/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")

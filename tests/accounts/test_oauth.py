"""Social sign-in through allauth: GitHub, Google and a generic OpenID Connect
provider, with the providers' HTTP answers stood in (they are on the internet).

Each flow runs as a browser would: start (POST), the redirect to the
provider, the provider's redirect back with a code, then allauth's token
exchange and user-info calls, answered here by ``responses``.
"""

import importlib
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import responses
from allauth.socialaccount.models import SocialAccount
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse

from accounts.models import User
from messenger.settings import base
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GITHUB = {
    "github": {
        "APPS": [{"client_id": "gh-client", "secret": "gh-secret"}],
        "SCOPE": ["read:user", "user:email"],
    }
}
GOOGLE = {
    "google": {
        "APPS": [{"client_id": "google-client", "secret": "google-secret"}],
        "SCOPE": ["openid", "profile", "email"],
        "OAUTH_PKCE_ENABLED": True,
    }
}
ISSUER = "https://id.example.com/realms/staff"
OIDC = {
    "openid_connect": {
        "APPS": [
            {
                "provider_id": "staffsso",
                "name": "Staff SSO",
                "client_id": "oidc-client",
                "secret": "oidc-secret",
                "settings": {"server_url": ISSUER, "oauth_pkce_enabled": True},
            }
        ]
    }
}
SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def id_token(*, issuer: str, audience: str, claims: dict[str, Any]) -> str:
    """Return an ID token as a provider signs it (RS256, with a key id)."""
    now = int(time.time())
    payload = {
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    return jwt.encode(payload, SIGNING_KEY, algorithm="RS256", headers={"kid": "key-1"})


def start(client: Client, provider_path: str) -> dict[str, list[str]]:
    """Press the provider's button; return the query of the redirect to the provider."""
    response = client.post(f"/accounts/{provider_path}/login/")
    assert response.status_code == 302
    return parse_qs(urlparse(response["Location"]).query) | {"_location": [response["Location"]]}


def logged_in_user(client: Client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def github_answers(*, uid: int = 4242, login: str = "octocat", email: str = "octo@example.com"):
    responses.post(
        "https://github.com/login/oauth/access_token",
        json={"access_token": "gho_token", "token_type": "bearer", "scope": "read:user"},
    )
    responses.get(
        "https://api.github.com/user",
        json={"id": uid, "login": login, "name": "The Octocat", "email": None},
    )
    responses.get(
        "https://api.github.com/user/emails",
        json=[{"email": email, "primary": True, "verified": True}],
    )


@responses.activate
def test_github_sign_in_creates_the_account_and_logs_in(settings) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = GITHUB
    client = Client()
    query = start(client, "github")
    assert query["_location"][0].startswith("https://github.com/login/oauth/authorize?")
    assert query["client_id"] == ["gh-client"]
    assert query["redirect_uri"] == ["http://testserver/accounts/github/login/callback/"]
    assert set(query["scope"][0].split()) == {"read:user", "user:email"}
    github_answers()

    done = client.get(
        "/accounts/github/login/callback/", {"code": "the-code", "state": query["state"][0]}
    )

    assert done.status_code == 302
    assert done["Location"] == reverse("conversations:index")
    exchange = parse_qs(responses.calls[0].request.body)
    assert exchange["code"] == ["the-code"]
    assert exchange["client_secret"] == ["gh-secret"]
    assert responses.calls[1].request.headers["Authorization"] == "token gho_token"
    user = logged_in_user(client)
    assert user is not None
    assert (user.username, user.email, user.display_name) == (
        "octocat",
        "octo@example.com",
        "The Octocat",
    )
    assert not user.has_usable_password()
    assert SocialAccount.objects.get(provider="github", uid="4242").user == user

    # Signing in again finds the same account.
    again = Client()
    query = start(again, "github")
    again.get("/accounts/github/login/callback/", {"code": "c2", "state": query["state"][0]})
    assert logged_in_user(again) == user
    assert User.objects.filter(email="octo@example.com").count() == 1


@responses.activate
def test_a_provider_email_never_signs_into_an_existing_account(settings) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = GITHUB
    owner = UserFactory(username="owner", email="octo@example.com")
    client = Client()
    query = start(client, "github")
    github_answers(email="octo@example.com")
    response = client.get(
        "/accounts/github/login/callback/", {"code": "x", "state": query["state"][0]}, follow=True
    )
    # Not logged in as the owner, not linked to them: the person is asked to
    # sign up with another address instead.
    assert response.status_code == 200
    assert logged_in_user(client) is None
    assert not SocialAccount.objects.filter(user=owner).exists()
    assert response.redirect_chain[-1][0] == reverse("socialaccount_signup")


@responses.activate
def test_a_forged_state_is_refused(settings) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = GITHUB
    client = Client()
    start(client, "github")
    github_answers()
    response = client.get(
        "/accounts/github/login/callback/", {"code": "x", "state": "forged-state"}
    )
    assert response.status_code == 401
    assert b"Third-Party Login Failure" in response.content
    assert logged_in_user(client) is None
    assert not User.objects.filter(email="octo@example.com").exists()
    assert not SocialAccount.objects.exists()
    assert not responses.calls  # no token exchange was attempted


@responses.activate
def test_a_provider_error_is_a_clear_page_not_a_500(settings) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = GITHUB
    client = Client()
    query = start(client, "github")
    responses.post(
        "https://github.com/login/oauth/access_token",
        status=500,
        json={"error": "server_error"},
    )
    response = client.get(
        "/accounts/github/login/callback/", {"code": "x", "state": query["state"][0]}
    )
    assert response.status_code == 401
    assert b"Third-Party Login Failure" in response.content
    assert not User.objects.filter(email="octo@example.com").exists()
    assert not SocialAccount.objects.exists()
    # The person cancelled at the provider.
    query = start(client, "github")
    cancelled = client.get(
        "/accounts/github/login/callback/",
        {"error": "access_denied", "state": query["state"][0]},
    )
    assert cancelled.status_code == 302
    assert cancelled["Location"] == reverse("socialaccount_login_cancelled")


@responses.activate
def test_google_sign_in_with_pkce_and_an_id_token(settings) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = GOOGLE
    client = Client()
    query = start(client, "google")
    assert query["_location"][0].startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    assert query["client_id"] == ["google-client"]
    assert query["code_challenge_method"] == ["S256"]
    token = id_token(
        issuer="https://accounts.google.com",
        audience="google-client",
        claims={
            "sub": "109876",
            "email": "grace@example.com",
            "email_verified": True,
            "given_name": "Grace",
            "family_name": "Hopper",
        },
    )
    responses.post(
        "https://oauth2.googleapis.com/token",
        json={"access_token": "ya29", "token_type": "Bearer", "id_token": token},
    )

    done = client.get("/accounts/google/login/callback/", {"code": "g", "state": query["state"][0]})

    assert done.status_code == 302
    exchange = parse_qs(responses.calls[0].request.body)
    assert exchange["code_verifier"]  # PKCE: the verifier goes with the code
    user = logged_in_user(client)
    assert user is not None
    assert user.email == "grace@example.com"
    assert user.display_name == "Grace Hopper"
    assert SocialAccount.objects.get(provider="google").uid == "109876"


@responses.activate
def test_openid_connect_sign_in_through_discovery(settings) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = OIDC
    responses.get(
        f"{ISSUER}/.well-known/openid-configuration",
        json={
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/protocol/openid-connect/auth",
            "token_endpoint": f"{ISSUER}/protocol/openid-connect/token",
            "userinfo_endpoint": f"{ISSUER}/protocol/openid-connect/userinfo",
            "jwks_uri": f"{ISSUER}/protocol/openid-connect/certs",
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
        },
    )
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(SIGNING_KEY.public_key()))
    responses.get(
        f"{ISSUER}/protocol/openid-connect/certs",
        json={"keys": [{**public_jwk, "kid": "key-1", "use": "sig", "alg": "RS256"}]},
    )
    client = Client()
    query = start(client, "oidc/staffsso")
    assert query["_location"][0].startswith(f"{ISSUER}/protocol/openid-connect/auth?")
    assert query["redirect_uri"] == ["http://testserver/accounts/oidc/staffsso/login/callback/"]
    assert "openid" in query["scope"][0].split()
    responses.post(
        f"{ISSUER}/protocol/openid-connect/token",
        json={
            "access_token": "oidc-access",
            "token_type": "Bearer",
            "id_token": id_token(issuer=ISSUER, audience="oidc-client", claims={"sub": "u-77"}),
        },
    )
    responses.get(
        f"{ISSUER}/protocol/openid-connect/userinfo",
        json={
            "sub": "u-77",
            "preferred_username": "ada",
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "email_verified": True,
        },
    )

    done = client.get(
        "/accounts/oidc/staffsso/login/callback/", {"code": "o", "state": query["state"][0]}
    )

    assert done.status_code == 302
    assert done["Location"] == reverse("conversations:index")
    token_call = next(c for c in responses.calls if c.request.url.endswith("/token"))
    assert parse_qs(token_call.request.body)["client_secret"] == ["oidc-secret"]
    info_call = next(c for c in responses.calls if c.request.url.endswith("/userinfo"))
    assert info_call.request.headers["Authorization"] == "Bearer oidc-access"
    user = logged_in_user(client)
    assert user is not None
    assert (user.username, user.email, user.display_name) == (
        "ada",
        "ada@example.com",
        "Ada Lovelace",
    )
    assert SocialAccount.objects.get(provider="staffsso").uid == "u-77"


def test_only_configured_providers_are_shown_and_reachable(settings) -> None:
    settings.SOCIALACCOUNT_PROVIDERS = {}
    client = Client()
    for page in ("/accounts/login/", "/accounts/signup/"):
        html = client.get(page).content.decode()
        assert "/accounts/github/login/" not in html
        assert "third-party" not in html.lower()
    for path in ("/accounts/github/login/", "/accounts/google/login/", "/accounts/oidc/x/login/"):
        assert client.get(path).status_code == 404
        assert client.post(path).status_code == 404
    assert client.get("/accounts/github/login/callback/", {"code": "x"}).status_code == 404

    settings.SOCIALACCOUNT_PROVIDERS = {**GITHUB, **OIDC}
    for page in ("/accounts/login/", "/accounts/signup/"):
        html = client.get(page).content.decode()
        assert "/accounts/github/login/" in html
        assert "/accounts/oidc/staffsso/login/" in html
        assert "Staff SSO" in html
        assert "/accounts/google/login/" not in html
    assert client.get("/accounts/google/login/").status_code == 404
    # GET shows a confirmation with a form (no sign-in started by a mere link).
    confirm = client.get("/accounts/github/login/")
    assert confirm.status_code == 200
    assert b'method="post"' in confirm.content


def test_settings_read_providers_from_the_environment(monkeypatch) -> None:
    for name in ("GITHUB", "GOOGLE", "OIDC"):
        monkeypatch.delenv(f"{name}_CLIENT_ID", raising=False)
        monkeypatch.delenv(f"{name}_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("OIDC_SERVER_URL", raising=False)
    try:
        assert importlib.reload(base).SOCIALACCOUNT_PROVIDERS == {}
        monkeypatch.setenv("GITHUB_CLIENT_ID", "id")
        monkeypatch.setenv("GITHUB_CLIENT_SECRET", "secret")
        monkeypatch.setenv("OIDC_CLIENT_ID", "oid")
        monkeypatch.setenv("OIDC_CLIENT_SECRET", "osecret")
        # The OIDC provider also needs its server URL.
        assert set(importlib.reload(base).SOCIALACCOUNT_PROVIDERS) == {"github"}
        monkeypatch.setenv("OIDC_SERVER_URL", "https://sso.example.com")
        providers = importlib.reload(base).SOCIALACCOUNT_PROVIDERS
        assert providers["github"]["APPS"] == [{"client_id": "id", "secret": "secret"}]
        app = providers["openid_connect"]["APPS"][0]
        assert app["settings"]["server_url"] == "https://sso.example.com"
        assert app["provider_id"] == "oidc"
        monkeypatch.delenv("GITHUB_CLIENT_SECRET")
        with pytest.raises(ImproperlyConfigured, match="GITHUB_CLIENT_SECRET"):
            importlib.reload(base)
    finally:
        monkeypatch.undo()
        importlib.reload(base)

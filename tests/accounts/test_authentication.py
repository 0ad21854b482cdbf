"""Token authentication and the scope rule, on any API view; the OpenAPI scheme."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import include, path
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts.models import AccessToken
from accounts.services import token_create, token_revoke
from tests.factories import UserFactory, access_token

pytestmark = pytest.mark.django_db


class Echo(APIView):
    """An API view with the project's default authentication and permissions."""

    def get(self, request: Request) -> Response:
        return Response({"user": request.user.username})

    def post(self, request: Request) -> Response:
        return Response({"user": request.user.username})


def call(method: str, authorization: str | None = None, **extra: Any) -> Response:
    factory = APIRequestFactory()
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    request = getattr(factory, method)("/echo/", **headers, **extra)
    response = Echo.as_view()(request)
    response.render()
    return response


def error(response: Response) -> dict[str, Any]:
    return response.data["error"]


def test_a_read_token_reads_and_a_write_token_writes() -> None:
    user = UserFactory(username="tokenuser")
    both = access_token(user, scopes=("read", "write"))
    for method in ("get", "post"):
        response = call(method, f"Bearer {both}")
        assert response.status_code == 200
        assert response.data == {"user": "tokenuser"}
    # The scheme name is case-insensitive, as RFC 7235 says.
    assert call("get", f"bearer {both}").status_code == 200


def test_a_read_token_cannot_write_and_a_write_token_cannot_read() -> None:
    user = UserFactory()
    read = access_token(user, scopes=("read",))
    write = access_token(user, scopes=("write",))
    refused = call("post", f"Bearer {read}")
    assert refused.status_code == 403
    assert error(refused)["code"] == "token_scope"
    assert "'write' scope" in error(refused)["message"]
    refused = call("get", f"Bearer {write}")
    assert refused.status_code == 403
    assert "'read' scope" in error(refused)["message"]
    assert call("get", f"Bearer {read}").status_code == 200
    assert call("post", f"Bearer {write}").status_code == 200


def test_no_credentials_is_a_401_with_a_bearer_challenge() -> None:
    response = call("get")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert error(response)["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("authorization", "code", "words"),
    [
        ("Bearer", "token_malformed", "Bearer <token>"),
        ("Bearer a b", "token_malformed", "Bearer <token>"),
        ("Bearer not-a-token", "token_malformed", "malformed"),
        ("Bearer msgr_" + "x" * 43, "token_invalid", "not valid"),
    ],
)
def test_a_malformed_or_unknown_token_is_a_401_that_says_so(
    authorization: str, code: str, words: str
) -> None:
    response = call("get", authorization)
    assert response.status_code == 401
    assert error(response)["code"] == code
    assert words in error(response)["message"]
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_non_ascii_token_is_malformed() -> None:
    request = APIRequestFactory().get("/echo/", HTTP_AUTHORIZATION="Bearer msgr_é".encode())
    response = Echo.as_view()(request)
    assert response.status_code == 401
    assert error(response)["code"] == "token_malformed"


def test_expired_revoked_and_deactivated_tokens_are_401s_that_say_why() -> None:
    user = UserFactory()
    expired = token_create(user=user, name="old", scopes=["read"])
    AccessToken.objects.filter(pk=expired.token.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    revoked = token_create(user=user, name="gone", scopes=["read"])
    token_revoke(user=user, token_id=revoked.token.pk)
    someone = UserFactory(is_active=False)
    inactive = access_token(someone)
    for plaintext, code, words in (
        (expired.plaintext, "token_expired", "expired at"),
        (revoked.plaintext, "token_revoked", "revoked"),
        (inactive, "account_inactive", "deactivated"),
    ):
        response = call("get", f"Bearer {plaintext}")
        assert response.status_code == 401
        assert error(response)["code"] == code
        assert words in error(response)["message"]


def test_other_schemes_fall_through_to_the_session() -> None:
    user = UserFactory(username="sessionuser")
    client = Client()
    client.force_login(user)
    # Basic is not ours: the session authenticates the request.
    response = client.get("/api/v1/tokens/", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert response.status_code == 200
    # A session request is not limited by scopes; a bad Bearer token is not
    # rescued by the session either.
    bad = client.get("/api/v1/tokens/", HTTP_AUTHORIZATION="Bearer msgr_" + "y" * 43)
    assert bad.status_code == 401


def test_a_token_request_needs_no_csrf_token() -> None:
    user = UserFactory()
    created = token_create(user=user, name="ci", scopes=["read", "write"])
    client = Client(enforce_csrf_checks=True)
    response = client.delete(
        f"/api/v1/tokens/{created.token.pk}/", HTTP_AUTHORIZATION=f"Bearer {created.plaintext}"
    )
    assert response.status_code == 204


def test_the_schema_has_the_bearer_scheme_and_the_token_endpoints() -> None:
    patterns = [path("api/v1/tokens/", include("accounts.api_urls"))]
    schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    scheme = schema["components"]["securitySchemes"]["accessToken"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    create = schema["paths"]["/api/v1/tokens/"]["post"]
    assert {"accessToken": []} in create["security"]
    created = create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert created.endswith("/AccessTokenCreated")
    assert "token" in schema["components"]["schemas"]["AccessTokenCreated"]["properties"]
    assert "token" not in schema["components"]["schemas"]["AccessToken"]["properties"]
    listing = schema["paths"]["/api/v1/tokens/"]["get"]["responses"]["200"]
    assert listing["content"]["application/json"]["schema"]["$ref"].endswith(
        "/PaginatedAccessTokenList"
    )
    assert "delete" in schema["paths"]["/api/v1/tokens/{token_id}/"]

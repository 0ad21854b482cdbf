"""API endpoints for personal access tokens: create (session only), list, revoke."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import AccessToken
from accounts.selectors import token_of_user, tokens_of_user
from accounts.services import token_create, token_revoke
from api.pagination import Cursor


class AccessTokenSerializer(serializers.ModelSerializer[AccessToken]):
    """A token as listed: never its secret, only the prefix that names it."""

    status = serializers.ChoiceField(choices=["active", "expired", "revoked"], read_only=True)

    class Meta:
        model = AccessToken
        fields = [
            "id",
            "name",
            "scopes",
            "prefix",
            "status",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
        ]
        read_only_fields = fields


class AccessTokenCreatedSerializer(AccessTokenSerializer):
    """A new token, with its plaintext: the only answer that ever holds it."""

    token = serializers.CharField(
        read_only=True, help_text="The token itself. It is shown only in this answer."
    )

    class Meta(AccessTokenSerializer.Meta):
        fields = [*AccessTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class AccessTokenCreateSerializer(serializers.Serializer[Any]):
    """What a new token needs: a name, its scopes and, optionally, an expiry."""

    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=AccessToken.Scope.choices),
        min_length=1,
        max_length=2,
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class SessionOnly(BasePermission):
    """Refuse requests authenticated by a token: a token can't mint tokens."""

    message = "Tokens can only be created from a signed-in session, not with a token."
    code = "session_required"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return not isinstance(request.auth, AccessToken)


def _no_store(response: Response) -> Response:
    response["Cache-Control"] = "no-store"
    return response


class TokenListView(GenericAPIView[AccessToken]):
    """List one's tokens; create one (from a session only)."""

    serializer_class = AccessTokenSerializer
    pagination_class = Cursor
    cursor_ordering = ("-created_at", "-pk")

    def get_permissions(self) -> list[BasePermission]:
        permissions = super().get_permissions()
        if self.request.method == "POST":
            permissions.append(SessionOnly())
        return permissions

    def get_queryset(self) -> Any:
        return tokens_of_user(user=self.request.user)

    @extend_schema(
        operation_id="tokens_list",
        tags=["tokens"],
        responses=AccessTokenSerializer(many=True),
        description="One's tokens, newest first, revoked and expired ones too.",
    )
    def get(self, request: Request) -> Response:
        queryset = self.get_queryset()
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(AccessTokenSerializer(page, many=True).data)

    @extend_schema(
        operation_id="tokens_create",
        tags=["tokens"],
        request=AccessTokenCreateSerializer,
        responses={201: AccessTokenCreatedSerializer},
        description="Create a token. Its plaintext (`token`) is in this answer only; "
        "only a hash is stored. Needs a session: a token can't create tokens.",
    )
    def post(self, request: Request) -> Response:
        incoming = AccessTokenCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        # A TokenError (too many tokens) is answered by the API's error handler.
        created = token_create(
            user=request.user,
            name=incoming.validated_data["name"],
            scopes=incoming.validated_data["scopes"],
            expires_at=incoming.validated_data.get("expires_at"),
        )
        data = {**AccessTokenSerializer(created.token).data, "token": created.plaintext}
        return _no_store(Response(data, status=status.HTTP_201_CREATED))


class TokenDetailView(GenericAPIView[AccessToken]):
    """Show or revoke one of one's tokens."""

    serializer_class = AccessTokenSerializer

    @extend_schema(operation_id="tokens_retrieve", tags=["tokens"])
    def get(self, request: Request, token_id: int) -> Response:
        token = token_of_user(user=request.user, token_id=token_id)
        if token is None:
            raise NotFound("You have no such token.")
        return Response(AccessTokenSerializer(token).data)

    @extend_schema(
        operation_id="tokens_revoke",
        tags=["tokens"],
        responses={204: OpenApiResponse(description="Revoked (or already revoked).")},
        description="Revoke a token: it stops authenticating at once and the sockets "
        "opened with it close. It stays listed, as revoked.",
    )
    def delete(self, request: Request, token_id: int) -> Response:
        token_revoke(user=request.user, token_id=token_id)  # not_found: a 404
        return Response(status=status.HTTP_204_NO_CONTENT)

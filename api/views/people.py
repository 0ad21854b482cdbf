"""One's own profile and avatar; finding and looking at people."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import views as account_pages
from accounts.models import User
from accounts.presence import online_user_ids
from accounts.selectors import user_get_active
from accounts.services import avatar_remove, avatar_set, profile_update
from api.serializers.people import (
    AvatarUploadSerializer,
    PeopleQuerySerializer,
    PersonDetailSerializer,
    PersonSerializer,
    ProfileSerializer,
)
from api.views.lists import CursorListView
from contacts import selectors as contact_selectors


def visible_person(*, viewer: User, username: str) -> User:
    """Return the active person by that name, or 404 (also to someone they blocked)."""
    person = user_get_active(username=username)
    if person is None or contact_selectors.block_made(blocker_id=person.pk, blocked_id=viewer.pk):
        # To someone who blocked you, you look like nobody.
        raise NotFound()
    return person


@extend_schema(tags=["profile"])
class MeView(APIView):
    """The signed-in person's own profile."""

    @extend_schema(responses=ProfileSerializer)
    def get(self, request: Request) -> Response:
        """Return your profile."""
        return Response(ProfileSerializer(request.user).data)

    @extend_schema(request=ProfileSerializer, responses=ProfileSerializer)
    def patch(self, request: Request) -> Response:
        """Change your display name and status."""
        serializer = ProfileSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user: User = request.user
        data: dict[str, Any] = serializer.validated_data
        user = profile_update(
            user=user,
            display_name=data.get("display_name", user.display_name),
            status_text=data.get("status_text", user.status_text),
        )
        return Response(ProfileSerializer(user).data)


@extend_schema(tags=["profile"])
class MeAvatarView(APIView):
    """The signed-in person's avatar."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": AvatarUploadSerializer}, responses=ProfileSerializer
    )
    def put(self, request: Request) -> Response:
        """Upload a new avatar (multipart field ``avatar``)."""
        serializer = AvatarUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = avatar_set(user=request.user, upload=serializer.validated_data["avatar"])
        return Response(ProfileSerializer(user).data)

    @extend_schema(responses={200: ProfileSerializer})
    def delete(self, request: Request) -> Response:
        """Go back to the initials avatar."""
        return Response(ProfileSerializer(avatar_remove(user=request.user)).data)


@extend_schema(tags=["people"])
class PeopleSearchView(CursorListView):
    """Find people by username or display name prefix."""

    cursor_ordering = ("username",)

    @extend_schema(parameters=[PeopleQuerySerializer], responses=PersonSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Find people (not those who blocked you), by username."""
        query = PeopleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        people = contact_selectors.people_search(
            viewer=request.user, query=query.validated_data["q"]
        )
        return self.page_response(people, PersonSerializer)


@extend_schema(tags=["people"])
class PersonView(APIView):
    """One person's profile, with what they are to you."""

    @extend_schema(responses=PersonDetailSerializer)
    def get(self, request: Request, username: str) -> Response:
        """Return a person (404 for nobody, and for someone who blocked you)."""
        viewer: User = request.user
        person = visible_person(viewer=viewer, username=username)
        is_contact = contact_selectors.is_contact(user_id=viewer.pk, other_id=person.pk)
        return Response(
            {
                **PersonSerializer(person).data,
                "is_contact": is_contact,
                "blocked": contact_selectors.block_made(blocker_id=viewer.pk, blocked_id=person.pk),
                # Presence is for contacts only.
                "online": is_contact and bool(online_user_ids(user_ids=[person.pk])),
            }
        )


@extend_schema(tags=["people"])
class PersonAvatarView(APIView):
    """A person's avatar image."""

    @extend_schema(
        responses={
            (200, "image/webp"): OpenApiResponse(OpenApiTypes.BINARY, description="The image.")
        }
    )
    def get(self, request: Request, username: str) -> Any:
        """Return the 256x256 WebP avatar (404 when they have none)."""
        visible_person(viewer=request.user, username=username)
        # The page's view serves the same file with the same headers.
        return account_pages.avatar(request._request, username=username)

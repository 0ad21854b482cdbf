"""Contacts, contact requests and blocks."""

from collections.abc import Callable

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import user_get_active
from api.serializers.contacts import (
    ContactRequestCreateSerializer,
    ContactRequestQuerySerializer,
    ContactRequestSerializer,
    UsernameSerializer,
)
from api.serializers.people import PersonSerializer
from api.views.lists import CursorListView
from api.views.people import visible_person
from contacts import selectors, services
from contacts.models import ContactRequest


@extend_schema(tags=["contacts"])
class ContactListView(CursorListView):
    """Your contacts."""

    cursor_ordering = ("username",)

    @extend_schema(responses=PersonSerializer(many=True))
    def get(self, request: Request) -> Response:
        """List your contacts, by username."""
        return self.page_response(selectors.contact_list(user=request.user), PersonSerializer)


@extend_schema(tags=["contacts"])
class ContactView(APIView):
    """One of your contacts."""

    @extend_schema(responses={204: None})
    def delete(self, request: Request, username: str) -> Response:
        """Remove a contact (both ways)."""
        person = visible_person(viewer=request.user, username=username)
        services.contact_remove(user=request.user, other=person)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["contacts"])
class ContactRequestListView(CursorListView):
    """Pending contact requests; sending one."""

    cursor_ordering = ("-created_at", "-pk")

    @extend_schema(
        parameters=[ContactRequestQuerySerializer], responses=ContactRequestSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        """List pending requests sent to you (incoming) or by you (outgoing), newest first."""
        query = ContactRequestQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if query.validated_data["direction"] == "outgoing":
            requests = selectors.requests_outgoing(user=request.user)
        else:
            requests = selectors.requests_incoming(user=request.user)
        return self.page_response(
            requests.select_related("from_user", "to_user"), ContactRequestSerializer
        )

    @extend_schema(
        request=ContactRequestCreateSerializer, responses={201: ContactRequestSerializer}
    )
    def post(self, request: Request) -> Response:
        """Ask someone to become your contact."""
        serializer = ContactRequestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        recipient = user_get_active(username=serializer.validated_data["username"])
        if recipient is None:
            raise services.ContactError("unavailable", "There is nobody by that name.")
        sent = services.contact_request_send(
            sender=request.user, recipient=recipient, message=serializer.validated_data["message"]
        )
        return Response(ContactRequestSerializer(sent).data, status=status.HTTP_201_CREATED)


class _RequestAnswerView(APIView):
    """Answer a pending request; ``verb`` is the contacts service that does it."""

    verb: Callable[..., ContactRequest]

    def _answer(self, request: Request, request_id: int) -> Response:
        answered = type(self).verb(user=request.user, request_id=request_id)
        return Response(ContactRequestSerializer(answered).data)


@extend_schema(tags=["contacts"], request=None, responses=ContactRequestSerializer)
class ContactRequestAcceptView(_RequestAnswerView):
    verb = services.contact_request_accept

    def post(self, request: Request, request_id: int) -> Response:
        """Accept a request sent to you: you become each other's contacts."""
        return self._answer(request, request_id)


@extend_schema(tags=["contacts"], request=None, responses=ContactRequestSerializer)
class ContactRequestDeclineView(_RequestAnswerView):
    verb = services.contact_request_decline

    def post(self, request: Request, request_id: int) -> Response:
        """Decline a request sent to you."""
        return self._answer(request, request_id)


@extend_schema(tags=["contacts"], request=None, responses=ContactRequestSerializer)
class ContactRequestCancelView(_RequestAnswerView):
    verb = services.contact_request_cancel

    def post(self, request: Request, request_id: int) -> Response:
        """Withdraw a request you sent."""
        return self._answer(request, request_id)


@extend_schema(tags=["contacts"])
class BlockListView(CursorListView):
    """The people you blocked; blocking someone."""

    cursor_ordering = ("username",)

    @extend_schema(responses=PersonSerializer(many=True))
    def get(self, request: Request) -> Response:
        """List the people you blocked."""
        return self.page_response(selectors.blocked_users(user=request.user), PersonSerializer)

    @extend_schema(request=UsernameSerializer, responses={201: PersonSerializer})
    def post(self, request: Request) -> Response:
        """Block someone: no contact, requests, messages or presence either way."""
        serializer = UsernameSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        person = user_get_active(username=serializer.validated_data["username"])
        if person is None:
            raise services.ContactError("not_found", "There is nobody by that name.")
        services.block_create(user=request.user, other=person)
        return Response(PersonSerializer(person).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["contacts"])
class BlockView(APIView):
    """One block of yours."""

    @extend_schema(responses={204: None})
    def delete(self, request: Request, username: str) -> Response:
        """Lift a block (the contact is not restored)."""
        person = user_get_active(username=username)
        if person is None:
            raise services.ContactError("not_found", "There is nobody by that name.")
        services.block_remove(user=request.user, other=person)
        return Response(status=status.HTTP_204_NO_CONTENT)

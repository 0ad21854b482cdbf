"""Routes of the API, mounted at /api/v1/; the schema and docs live at /api/."""

from django.urls import path, re_path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from api.views import attachments, contacts, conversations, messages, notifications, people, search

app_name = "api"


@extend_schema(exclude=True)
class UnknownView(APIView):
    """Answer any other /api/ address with the API's 404, not the site's HTML page."""

    permission_classes = [AllowAny]

    def dispatch_not_found(self, request: Request, *args: object, **kwargs: object) -> None:
        raise NotFound()

    get = post = put = patch = delete = dispatch_not_found


urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("v1/me/", people.MeView.as_view(), name="me"),
    path("v1/me/avatar/", people.MeAvatarView.as_view(), name="me-avatar"),
    path("v1/people/", people.PeopleSearchView.as_view(), name="people"),
    path("v1/people/<str:username>/", people.PersonView.as_view(), name="person"),
    path(
        "v1/people/<str:username>/avatar/",
        people.PersonAvatarView.as_view(),
        name="person-avatar",
    ),
    path("v1/contacts/", contacts.ContactListView.as_view(), name="contacts"),
    path("v1/contacts/<str:username>/", contacts.ContactView.as_view(), name="contact"),
    path(
        "v1/contact-requests/",
        contacts.ContactRequestListView.as_view(),
        name="contact-requests",
    ),
    path(
        "v1/contact-requests/<int:request_id>/accept/",
        contacts.ContactRequestAcceptView.as_view(),
        name="contact-request-accept",
    ),
    path(
        "v1/contact-requests/<int:request_id>/decline/",
        contacts.ContactRequestDeclineView.as_view(),
        name="contact-request-decline",
    ),
    path(
        "v1/contact-requests/<int:request_id>/cancel/",
        contacts.ContactRequestCancelView.as_view(),
        name="contact-request-cancel",
    ),
    path("v1/blocks/", contacts.BlockListView.as_view(), name="blocks"),
    path("v1/blocks/<str:username>/", contacts.BlockView.as_view(), name="block"),
    path("v1/conversations/", conversations.ConversationListView.as_view(), name="conversations"),
    path(
        "v1/conversations/direct/",
        conversations.DirectConversationView.as_view(),
        name="conversation-direct",
    ),
    path(
        "v1/conversations/groups/",
        conversations.GroupCreateView.as_view(),
        name="conversation-groups",
    ),
    path(
        "v1/conversations/<int:conversation_id>/",
        conversations.ConversationView.as_view(),
        name="conversation",
    ),
    path(
        "v1/conversations/<int:conversation_id>/members/",
        conversations.MemberListView.as_view(),
        name="conversation-members",
    ),
    path(
        "v1/conversations/<int:conversation_id>/members/<str:username>/",
        conversations.MemberView.as_view(),
        name="conversation-member",
    ),
    path(
        "v1/conversations/<int:conversation_id>/leave/",
        conversations.LeaveView.as_view(),
        name="conversation-leave",
    ),
    path(
        "v1/conversations/<int:conversation_id>/read/",
        conversations.ReadView.as_view(),
        name="conversation-read",
    ),
    path(
        "v1/conversations/<int:conversation_id>/mute/",
        conversations.MuteView.as_view(),
        name="conversation-mute",
    ),
    path(
        "v1/conversations/<int:conversation_id>/messages/",
        messages.MessageListView.as_view(),
        name="messages",
    ),
    path(
        "v1/conversations/<int:conversation_id>/attachments/",
        attachments.AttachmentUploadView.as_view(),
        name="attachment-upload",
    ),
    path("v1/messages/<int:message_id>/", messages.MessageView.as_view(), name="message"),
    path(
        "v1/messages/<int:message_id>/reactions/",
        messages.ReactionView.as_view(),
        name="message-reactions",
    ),
    path(
        "v1/attachments/<uuid:token>/",
        attachments.AttachmentDownloadView.as_view(),
        name="attachment",
    ),
    path(
        "v1/attachments/<uuid:token>/thumbnail/",
        attachments.AttachmentThumbnailView.as_view(),
        name="attachment-thumbnail",
    ),
    path("v1/search/messages/", search.MessageSearchView.as_view(), name="search-messages"),
    path("v1/notifications/", notifications.NotificationListView.as_view(), name="notifications"),
    path(
        "v1/notifications/unread/", notifications.UnreadView.as_view(), name="notifications-unread"
    ),
    path(
        "v1/notifications/read/",
        notifications.NotificationReadAllView.as_view(),
        name="notifications-read-all",
    ),
    path(
        "v1/notifications/<int:notification_id>/read/",
        notifications.NotificationReadView.as_view(),
        name="notification-read",
    ),
    path(
        "v1/notifications/preferences/",
        notifications.PreferencesView.as_view(),
        name="notification-preferences",
    ),
    re_path(r"^", UnknownView.as_view(), name="unknown"),
]

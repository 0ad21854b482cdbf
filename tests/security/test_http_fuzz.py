"""Fuzz the query parameters of the pages and the API: any text answers a page
or a 4xx, never a 500 (the Django test client raises what would be one).

Derandomized and bounded like the WebSocket fuzzing; prints the case count.
"""

import os
import uuid
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conversations.services import messages_store
from tests.factories import DirectConversationFactory, UserFactory, message_sent_envelope

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_HTTP_EXAMPLES", "300"))

values = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30),
    st.sampled_from(["²", "٣", "9" * 19, "9" * 30, "9" * 5000, "-1", "0", "1e9", " 5", "5 "]),
    st.integers().map(str),
)

# (path, parameters) of every page or API list that reads its query string.
ENDPOINTS = [
    ("/conversations/{chat}/", ["around"]),
    ("/conversations/{chat}/history/", ["before"]),
    ("/conversations/search/", ["q", "person", "conversation"]),
    ("/contacts/", ["q"]),
    ("/notifications/", ["page"]),
    ("/api/v1/conversations/", ["cursor", "page_size"]),
    ("/api/v1/conversations/{chat}/messages/", ["before", "after", "around", "cursor", "limit"]),
    ("/api/v1/search/messages/", ["q", "person", "conversation", "cursor"]),
    ("/api/v1/people/", ["q", "cursor"]),
    ("/api/v1/notifications/", ["cursor", "unread"]),
    ("/api/v1/contact-requests/", ["direction", "cursor"]),
]


def test_query_parameters_never_make_a_500() -> None:
    alice = UserFactory()
    chat = DirectConversationFactory(members=[alice, UserFactory()])
    messages_store(envelopes=[message_sent_envelope(conversation=chat, sender=alice)])
    client = Client()
    client.force_login(alice)
    tried = 0

    @hypothesis_settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(endpoint=st.sampled_from(ENDPOINTS), data=st.data())
    def case(endpoint: tuple[str, list[str]], data: st.DataObject) -> None:
        nonlocal tried
        path, names = endpoint
        params = data.draw(st.fixed_dictionaries({name: values for name in names}))
        answer = client.get(path.format(chat=chat.pk) + "?" + urlencode(params))
        tried += 1
        assert answer.status_code < 500, (path, params, answer.status_code)

    case()
    print(f"\nfuzz http query parameters: {tried} cases tried")
    assert tried >= min(EXAMPLES, 50)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("/conversations/{chat}/?around=", "²"),
        ("/conversations/{chat}/?around=", "9" * 30),
        ("/conversations/{chat}/history/?before=", "²"),
        ("/conversations/{chat}/history/?before=", "9" * 30),
        ("/conversations/search/?q=hello&conversation=", "²"),
    ],
)
def test_the_parameters_that_were_500s_are_answered(path, value) -> None:
    # str.isdigit() let these through to int() or to PostgreSQL.
    alice = UserFactory(username=f"p{uuid.uuid4().hex[:8]}")
    chat = DirectConversationFactory(members=[alice, UserFactory()])
    client = Client()
    client.force_login(alice)
    assert client.get(path.format(chat=chat.pk) + value).status_code in {200, 400}

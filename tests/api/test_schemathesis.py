"""Property-based requests against the OpenAPI schema (schemathesis): no 5xx, and every
answer (status, content type, headers, body) is one the schema documents.

Fixed seed, bounded examples: the run is the same every time and takes well
under a minute.  Requests go through the Django WSGI app in this process,
signed in with a session (and its CSRF token) of a seeded person who has a
contact and a conversation with history.
"""

from collections import Counter
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conversations.services import conversation_direct_get_or_create, messages_store
from tests.factories import UserFactory, make_contacts, message_sent_envelope

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SEED = 20261128
EXAMPLES = 4
CSRF_SECRET = "s" * 32  # Django accepts its unmasked secret in cookie and header


@pytest.fixture(scope="session")
def api_schema(django_db_setup: None, django_db_blocker: Any) -> Any:
    """Load the schema the way a client does: from /api/schema/."""
    with django_db_blocker.unblock():
        return schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture
def session(settings: SettingsWrapper) -> dict[str, Any]:
    """Seed a person with a contact and a conversation; return their session's
    cookies and CSRF header, as ``call_and_validate`` arguments."""
    settings.API_THROTTLE_USER_RATE = "100000/minute"
    settings.API_THROTTLE_ANON_RATE = "100000/minute"
    settings.CONTACT_REQUEST_RATE_LIMIT = 100000
    person, friend = UserFactory(username="fuzzer"), UserFactory(username="friend")
    make_contacts(person, friend)
    conversation = conversation_direct_get_or_create(user=person, other=friend)
    messages_store(
        envelopes=[
            message_sent_envelope(conversation=conversation, sender=friend, body=f"hello {n}")
            for n in range(3)
        ]
    )
    client = Client()
    client.force_login(person)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {
        "cookies": {
            settings.SESSION_COOKIE_NAME: session_key,
            settings.CSRF_COOKIE_NAME: CSRF_SECRET,
        },
        "headers": {"X-CSRFToken": CSRF_SECRET},
    }


# Sending goes through database_sync_to_async, which closes a connection
# inside a test transaction: a transactional database.
@pytest.mark.django_db(transaction=True)
def test_the_api_answers_as_its_schema_says(api_schema: Any, session: dict[str, Any]) -> None:
    failures = []
    statuses: Counter[int] = Counter()
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.seed(SEED)
        @hypothesis.settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        def check(case: Any) -> None:
            response = case.call_and_validate(checks=CHECKS, **session)
            statuses[response.status_code // 100] += 1

        try:
            check()
        except Exception as exc:  # gather every operation's failure, not just the first
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    print(f"schemathesis: answers by class {dict(sorted(statuses.items()))}")
    # The run reached the happy paths as well as the refusals.
    assert statuses[2] >= 20
    assert statuses[4] >= 20


def test_the_schemathesis_run_covers_the_api(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    paths = {operation.path for operation in operations}

    assert len(operations) >= 40
    assert "/api/v1/conversations/{conversation_id}/messages/" in paths
    assert settings.REST_FRAMEWORK["EXCEPTION_HANDLER"] == "api.exceptions.api_exception_handler"

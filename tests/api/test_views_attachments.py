"""Attachments: upload to a conversation, download through the authorising view."""

from io import BytesIO

from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import token_create
from conversations.models import Conversation
from tests.api.conftest import error_of


def _file(content: bytes, name: str) -> BytesIO:
    upload = BytesIO(content)
    upload.name = name
    return upload


def test_upload_then_download_as_the_uploader_only(
    as_alice: APIClient, as_bob: APIClient, as_carol: APIClient, direct: Conversation
) -> None:
    response = as_alice.post(
        f"/api/v1/conversations/{direct.pk}/attachments/",
        {"file": _file(b"notes, plain text\n", "notes.txt")},
        format="multipart",
    )

    assert response.status_code == 201
    token = response.json()["token"]
    assert (response.json()["name"], response.json()["content_type"]) == ("notes.txt", "text/plain")
    download = as_alice.get(f"/api/v1/attachments/{token}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"notes, plain text\n"
    assert download.headers["Content-Disposition"].startswith("attachment")
    # Unsent uploads are the uploader's alone; strangers never see them.
    assert as_bob.get(f"/api/v1/attachments/{token}/").status_code == 404
    assert as_carol.get(f"/api/v1/attachments/{token}/").json() == {
        "error": {"code": "not_found", "message": "Not found.", "fields": {}}
    }
    assert as_alice.get(f"/api/v1/attachments/{token}/thumbnail/").status_code == 404


def test_refused_uploads_say_why(
    as_alice: APIClient, as_carol: APIClient, direct: Conversation, settings: SettingsWrapper
) -> None:
    path = f"/api/v1/conversations/{direct.pk}/attachments/"
    settings.ATTACHMENT_MAX_BYTES = 10

    script = as_alice.post(path, {"file": _file(b"echo hi", "run.sh")}, format="multipart")
    outsider = as_carol.post(path, {"file": _file(b"hello", "a.txt")}, format="multipart")
    too_large = as_alice.post(path, {"file": _file(b"x" * 100, "a.txt")}, format="multipart")
    missing = as_alice.post(path, {}, format="multipart")

    assert (script.status_code, error_of(script)["code"]) == (400, "type_refused")
    assert (outsider.status_code, error_of(outsider)["code"]) == (404, "not_found")
    assert (too_large.status_code, error_of(too_large)["code"]) == (413, "too_large")
    assert list(error_of(missing)["fields"]) == ["file"]


def test_a_token_client_uploads_and_downloads(alice: User, direct: Conversation) -> None:
    client = APIClient()
    token = token_create(user=alice, name="script", scopes=["read", "write"]).plaintext
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    uploaded = client.post(
        f"/api/v1/conversations/{direct.pk}/attachments/",
        {"file": _file(b"from a script\n", "script.txt")},
        format="multipart",
    )
    download = client.get(f"/api/v1/attachments/{uploaded.json()['token']}/")

    assert uploaded.status_code == 201
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"from a script\n"

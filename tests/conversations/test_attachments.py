"""Attachments: upload checks, storage, sending, and the authorising downloads."""

import uuid
from io import BytesIO
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from conversations.attachments import AttachmentError, attachments_check, name_sanitise
from conversations.models import Attachment, Message
from conversations.serializers import message_serialize
from conversations.services import messages_store
from messenger.kafka.events import Envelope, MessageSent
from tests.conftest import receive_until, socket_connect
from tests.factories import DirectConversationFactory, UserFactory


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    """Each test stores its files in a folder of its own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def chat(alice, bob):
    return DirectConversationFactory(members=[alice, bob])


def png_bytes(size: tuple[int, int] = (64, 48), color: str = "red") -> bytes:
    out = BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(size: tuple[int, int] = (1200, 800)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, "blue").save(out, format="JPEG")
    return out.getvalue()


def logged_in(user, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def upload(client: Client, conversation_id: int, name: str, data: bytes, content_type: str = ""):
    file = SimpleUploadedFile(name, data, content_type=content_type or "application/octet-stream")
    return client.post(
        reverse("conversations:attachment_upload", args=[conversation_id]), {"file": file}
    )


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def stored_message(conversation, sender, *, body: str = "", tokens=()) -> Message:
    envelope = Envelope(
        payload=MessageSent(
            conversation_id=conversation.pk,
            sender_id=sender.pk,
            client_id=uuid.uuid4(),
            body=body,
            attachment_tokens=list(tokens),
        )
    )
    (message,) = messages_store(envelopes=[envelope])
    return message


# --------------------------------------------------------------- uploads ---


@pytest.mark.django_db
def test_an_image_is_stored_under_a_random_name_with_a_thumbnail(chat, alice, media) -> None:
    response = upload(logged_in(alice), chat.pk, "holiday.png", png_bytes((1000, 500)), "image/png")

    assert response.status_code == 201
    data = response.json()
    assert data["name"] == "holiday.png"
    assert data["content_type"] == "image/png"
    assert data["is_image"] is True
    assert data["size"] == len(png_bytes((1000, 500)))
    assert (data["width"], data["height"]) == (1000, 500)
    attachment = Attachment.objects.get(token=data["token"])
    assert attachment.message is None
    assert attachment.uploader == alice
    # The storage path is the token, never the uploaded name.
    assert attachment.file.name == f"attachments/{chat.pk}/{attachment.token.hex}"
    assert "holiday" not in attachment.thumbnail.name
    with Image.open(attachment.thumbnail.path) as thumb:
        assert thumb.format == "WEBP"
        assert max(thumb.size) == settings.ATTACHMENT_THUMBNAIL_SIZE


@pytest.mark.django_db
def test_a_text_file_is_a_download_only_file(chat, alice) -> None:
    response = upload(logged_in(alice), chat.pk, "notes.txt", "héllo <b>\n".encode(), "text/plain")

    assert response.status_code == 201
    data = response.json()
    assert (data["content_type"], data["is_image"], data["thumbnail_url"]) == (
        "text/plain",
        False,
        None,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "declared"),
    [
        # HTML pretending to be a picture.
        ("photo.png", b"<html><script>alert(1)</script></html>", "image/png"),
        # A PNG pretending to be text.
        ("notes.txt", png_bytes(), "text/plain"),
        # A ZIP pretending to be a PDF.
        ("report.pdf", b"PK\x03\x04" + b"\x00" * 100, "application/pdf"),
        # Text the browser calls a JPEG, with an honest-looking name.
        ("cat.jpg", b"just some text", "image/jpeg"),
    ],
)
def test_an_upload_that_lies_about_its_type_is_refused_and_nothing_is_stored(
    chat, alice, media, name, data, declared
) -> None:
    response = upload(logged_in(alice), chat.pk, name, data, declared)

    assert response.status_code == 400
    assert response.json()["error"] == "type_mismatch"
    assert "contents are" in response.json()["message"]
    assert Attachment.objects.count() == 0
    assert stored_files(media) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("tool", b"\x7fELF\x02\x01\x01" + b"\x00" * 200),  # a Linux program
        ("setup.dat", b"MZ\x90\x00" + b"\x00" * 200),  # a Windows program
        ("run.exe", b"harmless text"),
        ("page.html", b"<p>hi</p>"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'),
        ("script.js", b"alert(1)"),
    ],
)
def test_programs_scripts_html_and_svg_are_refused(chat, alice, media, name, data) -> None:
    response = upload(logged_in(alice), chat.pk, name, data)

    assert response.status_code == 400
    assert response.json()["error"] == "type_refused"
    assert Attachment.objects.count() == 0
    assert stored_files(media) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("/absolute/path/a.txt", "a.txt"),
        ("..", "file"),
        ("", "file"),
        ("\x00evil\x1b.txt", "_evil_.txt"),
        (".hidden.txt", "hidden.txt"),
        ("na\u202eme.txt", "name.txt"),  # no right-to-left override tricks
        ("a" * 300 + ".txt", "a" * 251 + ".txt"),
    ],
)
def test_names_are_sanitised(raw, clean) -> None:
    assert name_sanitise(raw) == clean


@pytest.mark.django_db
def test_a_path_traversal_name_is_kept_as_data_only(chat, alice, media) -> None:
    response = upload(logged_in(alice), chat.pk, "../../../../tmp/evil.txt", b"text")

    assert response.status_code == 201
    attachment = Attachment.objects.get()
    assert attachment.original_name == "evil.txt"
    (path,) = stored_files(media)
    assert path.is_relative_to(media / "attachments")
    assert path.name == attachment.token.hex
    assert not Path("/tmp/evil.txt").exists()  # noqa: S108


@pytest.mark.django_db
def test_an_oversized_upload_is_refused(chat, alice, settings, media) -> None:
    settings.ATTACHMENT_MAX_BYTES = 1000

    response = upload(logged_in(alice), chat.pk, "big.txt", b"x" * 1001)

    assert response.status_code == 413
    assert response.json() == {
        "error": "too_large",
        "message": "A file may be at most 1,000 bytes.",
    }
    assert Attachment.objects.count() == 0
    assert stored_files(media) == []


@pytest.mark.django_db
def test_a_huge_body_is_refused_before_it_is_parsed(chat, alice, settings) -> None:
    settings.ATTACHMENT_MAX_BYTES = 10
    client = logged_in(alice)
    response = client.post(
        reverse("conversations:attachment_upload", args=[chat.pk]),
        data=b"x" * 200_000,
        content_type="multipart/form-data; boundary=zzz",
    )
    assert response.status_code == 413
    assert Attachment.objects.count() == 0


@pytest.mark.django_db
def test_a_photo_loses_its_camera_metadata_but_keeps_its_orientation(chat, alice, media) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned; show it rotated
    exif[0x010F] = "SpyCam"  # the camera's make
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}  # where it was taken
    out = BytesIO()
    Image.new("RGB", (300, 200), "green").save(out, format="JPEG", exif=exif.tobytes())

    response = upload(logged_in(alice), chat.pk, "photo.jpg", out.getvalue(), "image/jpeg")

    assert response.status_code == 201
    data = response.json()
    assert (data["width"], data["height"]) == (200, 300)
    attachment = Attachment.objects.get(token=data["token"])
    stored = Path(attachment.file.path).read_bytes()
    assert b"SpyCam" not in stored
    assert data["size"] == len(stored)
    with Image.open(attachment.file.path) as photo:
        assert photo.size == (200, 300)
        assert dict(photo.getexif()) == {}


def test_a_picture_without_metadata_is_stored_byte_for_byte(chat, alice, media) -> None:
    original = png_bytes((80, 60))

    response = upload(logged_in(alice), chat.pk, "plain.png", original, "image/png")

    attachment = Attachment.objects.get(token=response.json()["token"])
    assert Path(attachment.file.path).read_bytes() == original


def test_an_image_with_too_many_pixels_is_refused_before_decoding(
    chat, alice, settings, media
) -> None:
    settings.ATTACHMENT_MAX_PIXELS = 100 * 100

    response = upload(logged_in(alice), chat.pk, "wide.png", png_bytes((200, 100)), "image/png")

    assert response.status_code == 400
    assert response.json()["error"] == "too_many_pixels"
    assert stored_files(media) == []


@pytest.mark.django_db
def test_a_corrupt_image_is_refused(chat, alice, media) -> None:
    data = png_bytes()[:40]  # the header, then nothing

    response = upload(logged_in(alice), chat.pk, "broken.png", data, "image/png")

    assert response.status_code == 400
    assert response.json()["error"] == "bad_image"
    assert stored_files(media) == []


@pytest.mark.django_db
def test_outsiders_cannot_upload(chat) -> None:
    stranger = UserFactory()

    response = upload(logged_in(stranger), chat.pk, "a.txt", b"text")

    assert response.status_code == 404
    assert response.json()["error"] == "forbidden"
    assert Attachment.objects.count() == 0


@pytest.mark.django_db
def test_uploads_need_the_csrf_token(chat, alice) -> None:
    response = upload(logged_in(alice, csrf=True), chat.pk, "a.txt", b"text")

    assert response.status_code == 403
    assert Attachment.objects.count() == 0


@pytest.mark.django_db
def test_one_file_per_request(chat, alice) -> None:
    response = logged_in(alice).post(reverse("conversations:attachment_upload", args=[chat.pk]))

    assert response.status_code == 400
    assert response.json()["error"] == "no_file"


# ------------------------------------------------------------- downloads ---


@pytest.mark.django_db
def test_members_download_a_sent_file_with_safe_headers(chat, alice, bob) -> None:
    token = upload(logged_in(alice), chat.pk, "notes.txt", b"<script>x</script>").json()["token"]
    stored_message(chat, alice, body="here", tokens=[uuid.UUID(token)])

    response = logged_in(bob).get(reverse("conversations:attachment", args=[token]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<script>x</script>"
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="notes.txt"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_images_are_served_inline_and_their_thumbnails_as_webp(chat, alice, bob) -> None:
    token = upload(logged_in(alice), chat.pk, "p.jpg", jpeg_bytes(), "image/jpeg").json()["token"]
    stored_message(chat, alice, tokens=[uuid.UUID(token)])
    client = logged_in(bob)

    image = client.get(reverse("conversations:attachment", args=[token]))
    thumb = client.get(reverse("conversations:attachment_thumbnail", args=[token]))

    assert image.status_code == 200
    assert image["Content-Type"] == "image/jpeg"
    assert image["Content-Disposition"].startswith("inline")
    assert thumb.status_code == 200
    assert thumb["Content-Type"] == "image/webp"
    assert thumb["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_outsiders_and_anonymous_visitors_cannot_download(chat, alice) -> None:
    token = upload(logged_in(alice), chat.pk, "a.png", png_bytes(), "image/png").json()["token"]
    stored_message(chat, alice, tokens=[uuid.UUID(token)])
    stranger = logged_in(UserFactory())

    for name in ("conversations:attachment", "conversations:attachment_thumbnail"):
        assert stranger.get(reverse(name, args=[token])).status_code == 404
        anonymous = Client().get(reverse(name, args=[token]))
        assert anonymous.status_code == 302
        assert anonymous["Location"].startswith(reverse("account_login"))
    unknown = reverse("conversations:attachment", args=[uuid.uuid4()])
    assert logged_in(alice).get(unknown).status_code == 404


@pytest.mark.django_db
def test_an_unsent_upload_is_its_uploaders_alone(chat, alice, bob) -> None:
    token = upload(logged_in(alice), chat.pk, "draft.txt", b"draft").json()["token"]
    url = reverse("conversations:attachment", args=[token])

    assert logged_in(bob).get(url).status_code == 404
    assert logged_in(alice).get(url).status_code == 200


@pytest.mark.django_db
def test_leaving_the_conversation_ends_access(chat, alice, bob) -> None:
    token = upload(logged_in(alice), chat.pk, "a.txt", b"text").json()["token"]
    stored_message(chat, alice, tokens=[uuid.UUID(token)])
    url = reverse("conversations:attachment", args=[token])
    client = logged_in(bob)
    assert client.get(url).status_code == 200

    chat.memberships.filter(user=bob).delete()

    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_a_deleted_messages_files_are_gone(chat, alice, bob) -> None:
    token = upload(logged_in(alice), chat.pk, "a.txt", b"text").json()["token"]
    message = stored_message(chat, alice, tokens=[uuid.UUID(token)])
    Message.objects.filter(pk=message.pk).update(deleted_at=message.created_at, body="")

    assert logged_in(bob).get(reverse("conversations:attachment", args=[token])).status_code == 404


# --------------------------------------------------------------- sending ---


@pytest.mark.django_db
def test_storing_a_message_links_its_uploads_once_and_serialises_them(chat, alice) -> None:
    token = uuid.UUID(
        upload(logged_in(alice), chat.pk, "a.png", png_bytes(), "image/png").json()["token"]
    )
    envelope = Envelope(
        payload=MessageSent(
            conversation_id=chat.pk,
            sender_id=alice.pk,
            client_id=uuid.uuid4(),
            body="",
            attachment_tokens=[token],
        )
    )

    (first,) = messages_store(envelopes=[envelope])
    (again,) = messages_store(envelopes=[envelope])  # a replayed event

    assert first.pk == again.pk
    assert Attachment.objects.get(token=token).message_id == first.pk
    message = Message.objects.prefetch_related("attachments", "reactions").get(pk=first.pk)
    (shown,) = message_serialize(message)["attachments"]
    assert shown == {
        "token": str(token),
        "name": "a.png",
        "size": len(png_bytes()),
        "content_type": "image/png",
        "is_image": True,
        "width": 64,
        "height": 48,
        "url": f"/conversations/attachments/{token}/",
        "thumbnail_url": f"/conversations/attachments/{token}/thumbnail/",
    }


@pytest.mark.django_db
def test_only_ones_own_unsent_uploads_to_this_conversation_can_be_attached(
    chat, alice, bob
) -> None:
    mine = uuid.UUID(upload(logged_in(alice), chat.pk, "a.txt", b"a").json()["token"])
    bobs = uuid.UUID(upload(logged_in(bob), chat.pk, "b.txt", b"b").json()["token"])
    other_chat = DirectConversationFactory(members=[alice, UserFactory()])
    elsewhere = uuid.UUID(upload(logged_in(alice), other_chat.pk, "c.txt", b"c").json()["token"])

    assert attachments_check(user_id=alice.pk, conversation_id=chat.pk, tokens=[mine, mine]) == [
        mine
    ]
    for tokens in ([bobs], [elsewhere], [uuid.uuid4()], [mine, bobs]):
        with pytest.raises(AttachmentError) as error:
            attachments_check(user_id=alice.pk, conversation_id=chat.pk, tokens=tokens)
        assert error.value.code == "bad_attachment"
    stored_message(chat, alice, tokens=[mine])
    with pytest.raises(AttachmentError) as error:
        attachments_check(user_id=alice.pk, conversation_id=chat.pk, tokens=[mine])
    assert error.value.code == "bad_attachment"
    with pytest.raises(AttachmentError) as error:
        attachments_check(
            user_id=alice.pk, conversation_id=chat.pk, tokens=[uuid.uuid4() for _ in range(11)]
        )
    assert error.value.code == "too_many_attachments"


def test_an_event_needs_a_body_or_attachments() -> None:
    with pytest.raises(ValueError, match="a body or attachments"):
        MessageSent(conversation_id=1, sender_id=1, client_id=uuid.uuid4(), body="")
    with pytest.raises(ValueError, match="at most 10"):
        MessageSent(
            conversation_id=1,
            sender_id=1,
            client_id=uuid.uuid4(),
            body="x",
            attachment_tokens=[uuid.uuid4() for _ in range(11)],
        )


@pytest.mark.django_db(transaction=True)
async def test_files_travel_with_a_message_through_kafka(
    kafka_topics, consumer, chat, alice, bob
) -> None:
    token = await database_sync_to_async(
        lambda: upload(logged_in(alice), chat.pk, "a.png", png_bytes(), "image/png").json()["token"]
    )()
    sender, _, _ = await socket_connect(alice)
    recipient, _, _ = await socket_connect(bob)

    client_id = str(uuid.uuid4())
    await sender.send_json_to(
        {
            "type": "message.send",
            "conversation": chat.pk,
            "client_id": client_id,
            "body": "  ",
            "attachments": [token],
        }
    )
    await receive_until(sender, "message.ack")
    pushed = (await receive_until(recipient, "message.new"))["message"]

    assert pushed["body"] == ""
    assert [a["token"] for a in pushed["attachments"]] == [token]
    assert pushed["attachments"][0]["thumbnail_url"].endswith("/thumbnail/")

    # The same upload cannot go out twice; an empty message without files is refused.
    for frame in (
        {"body": "again", "attachments": [token]},
        {"body": "", "attachments": []},
        {"body": "x", "attachments": ["not-a-uuid"]},
        {"body": "x", "attachments": "nope"},
    ):
        await sender.send_json_to(
            {"type": "message.send", "conversation": chat.pk, "client_id": str(uuid.uuid4())}
            | frame
        )
        error = await receive_until(sender, "error")
        assert error["code"] in {"bad_attachment", "body_empty", "bad_frame"}
    count = await database_sync_to_async(Message.objects.filter(conversation=chat).count)()
    assert count == 1
    await sender.disconnect()
    await recipient.disconnect()


def test_s3_storage_is_configured_from_the_environment_only_when_asked() -> None:
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json; from messenger.settings import base; "
        "print(json.dumps(base.STORAGES['default']))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("S3_")}
    plain = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(plain.stdout) == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    s3 = subprocess.run(
        [sys.executable, "-c", code],
        env=env | {"S3_BUCKET": "files", "S3_ENDPOINT_URL": "http://minio:9000"},
        capture_output=True,
        text=True,
        check=True,
    )
    configured = json.loads(s3.stdout)
    assert configured["BACKEND"] == "storages.backends.s3.S3Storage"
    assert configured["OPTIONS"]["bucket_name"] == "files"
    assert configured["OPTIONS"]["endpoint_url"] == "http://minio:9000"
    assert configured["OPTIONS"]["default_acl"] == "private"
    assert configured["OPTIONS"]["querystring_auth"] is True


@pytest.mark.django_db
def test_abandoned_uploads_are_purged_with_their_files(chat, alice, media) -> None:
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    old = upload(logged_in(alice), chat.pk, "old.png", png_bytes(), "image/png").json()["token"]
    sent = upload(logged_in(alice), chat.pk, "sent.txt", b"sent").json()["token"]
    fresh = upload(logged_in(alice), chat.pk, "fresh.txt", b"fresh").json()["token"]
    stored_message(chat, alice, tokens=[uuid.UUID(sent)])
    Attachment.objects.filter(token__in=[old, sent]).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    assert len(stored_files(media)) == 4  # three files and one thumbnail

    call_command("purge_unsent_attachments")

    assert set(Attachment.objects.values_list("token", flat=True)) == {
        uuid.UUID(sent),
        uuid.UUID(fresh),
    }
    assert len(stored_files(media)) == 2


@pytest.mark.django_db
def test_uploads_are_rate_limited(chat, alice, settings) -> None:
    settings.ATTACHMENT_RATE_LIMIT = 2
    client = logged_in(alice)

    statuses = [upload(client, chat.pk, f"{i}.txt", b"x").status_code for i in range(3)]

    assert statuses == [201, 201, 429]
    assert Attachment.objects.count() == 2

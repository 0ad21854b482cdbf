"""Profiles and avatars: real images, bad files, bombs; deactivation."""

import io
import os

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.services import ProfileError, avatar_remove, avatar_set, profile_update
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def image_file(
    fmt: str = "PNG", size: tuple[int, int] = (640, 480), name: str = "me.png", exif: bool = False
) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (200, 30, 30))
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        image.save(buffer, format=fmt, exif=data.tobytes())
    else:
        image.save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


def test_an_avatar_is_stored_as_a_square_thumbnail_without_metadata() -> None:
    user = UserFactory()
    avatar_set(user=user, upload=image_file("JPEG", (1200, 800), "me.jpg", exif=True))
    user.refresh_from_db()
    with default_storage.open(user.avatar.name) as stored, Image.open(stored) as thumbnail:
        assert thumbnail.format == "WEBP"
        assert thumbnail.size == (256, 256)
        assert not thumbnail.getexif()
        stored.seek(0)
        assert b"SecretCam" not in stored.read()


def test_a_new_avatar_replaces_and_deletes_the_old_file(django_capture_on_commit_callbacks) -> None:
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        avatar_set(user=user, upload=image_file())
    first = user.avatar.name
    with django_capture_on_commit_callbacks(execute=True):
        avatar_set(user=user, upload=image_file("GIF", (50, 50), "a.gif"))
    assert user.avatar.name != first
    assert not default_storage.exists(first)
    with django_capture_on_commit_callbacks(execute=True):
        avatar_remove(user=user)
    user.refresh_from_db()
    assert not user.avatar


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (
            SimpleUploadedFile("notes.png", b"this is not an image", content_type="image/png"),
            "bad_image",
        ),
        (SimpleUploadedFile("empty.png", b"", content_type="image/png"), "bad_image"),
        # Truncated: a real PNG header, then nothing.
        (
            SimpleUploadedFile("cut.png", image_file().read()[:60], content_type="image/png"),
            "bad_image",
        ),
        (image_file("BMP", (10, 10), "old.bmp"), "bad_type"),
    ],
)
def test_a_file_that_is_not_an_accepted_image_is_refused(upload, code) -> None:
    user = UserFactory()
    with pytest.raises(ProfileError) as error:
        avatar_set(user=user, upload=upload)
    assert error.value.code == code
    user.refresh_from_db()
    assert not user.avatar


def test_an_oversized_file_is_refused(settings) -> None:
    settings.AVATAR_MAX_BYTES = 100_000
    noise = io.BytesIO()
    Image.frombytes("RGB", (300, 300), os.urandom(300 * 300 * 3)).save(noise, format="PNG")
    assert len(noise.getvalue()) > 100_000
    user = UserFactory()
    with pytest.raises(ProfileError) as error:
        avatar_set(user=user, upload=SimpleUploadedFile("noise.png", noise.getvalue()))
    assert error.value.code == "too_large"


@pytest.mark.parametrize("side", [7_000, 30_000])
def test_a_decompression_bomb_is_refused_from_its_header(side: int) -> None:
    # A single-colour PNG: small on disk, 49 or 900 megapixels decoded (the
    # second is past Pillow's own limit too).
    buffer = io.BytesIO()
    Image.new("1", (side, side)).save(buffer, format="PNG")
    assert len(buffer.getvalue()) < 1_000_000
    user = UserFactory()
    with pytest.raises(ProfileError) as error:
        avatar_set(user=user, upload=SimpleUploadedFile("bomb.png", buffer.getvalue()))
    assert error.value.code == "too_many_pixels"
    assert not user.avatar


def test_the_profile_text_is_trimmed_and_bounded() -> None:
    user = UserFactory()
    profile_update(user=user, display_name="  Ann  ", status_text="x" * 500)
    user.refresh_from_db()
    assert user.display_name == "Ann"
    assert len(user.status_text) == 140


def test_initials_come_from_the_shown_name() -> None:
    assert UserFactory(display_name="ada lovelace king").initials == "AL"
    assert UserFactory(username="zoe", display_name="").initials == "Z"

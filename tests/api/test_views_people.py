"""Own profile and avatar, people search, a person's page and avatar."""

from io import BytesIO

from PIL import Image
from rest_framework.test import APIClient

from accounts.models import User
from contacts.services import block_create
from tests.api.conftest import error_of
from tests.factories import UserFactory, make_contacts


def _png(size: tuple[int, int] = (40, 30)) -> BytesIO:
    out = BytesIO()
    Image.new("RGB", size, "red").save(out, format="PNG")
    out.seek(0)
    out.name = "me.png"
    return out


def test_get_and_change_ones_profile(as_alice: APIClient, alice: User) -> None:
    me = as_alice.get("/api/v1/me/").json()
    assert me["username"] == "alice"
    assert me["email"] == alice.email
    assert me["avatar"] is None

    changed = as_alice.patch("/api/v1/me/", {"status_text": "  On holiday "})

    assert changed.status_code == 200
    assert changed.json()["status_text"] == "On holiday"
    assert changed.json()["display_name"] == "Alice"  # untouched by a partial update
    alice.refresh_from_db()
    assert alice.status_text == "On holiday"


def test_a_too_long_status_is_refused(as_alice: APIClient) -> None:
    response = as_alice.patch("/api/v1/me/", {"status_text": "x" * 141})

    assert response.status_code == 400
    assert "status_text" in error_of(response)["fields"]


def test_upload_serve_and_remove_an_avatar(as_alice: APIClient, as_bob: APIClient) -> None:
    uploaded = as_alice.put("/api/v1/me/avatar/", {"avatar": _png()}, format="multipart")

    assert uploaded.status_code == 200
    url = uploaded.json()["avatar"]
    assert url.startswith("/api/v1/people/alice/avatar/?v=")
    image = as_bob.get(url)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/webp"
    assert Image.open(BytesIO(b"".join(image.streaming_content))).size == (256, 256)

    removed = as_alice.delete("/api/v1/me/avatar/")
    assert removed.json()["avatar"] is None
    assert as_bob.get("/api/v1/people/alice/avatar/").status_code == 404


def test_an_avatar_that_is_not_an_image_is_refused(as_alice: APIClient) -> None:
    bogus = BytesIO(b"not an image at all")
    bogus.name = "me.png"

    response = as_alice.put("/api/v1/me/avatar/", {"avatar": bogus}, format="multipart")

    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_image"


def test_search_people_by_prefix_in_cursor_pages(as_alice: APIClient, db: None) -> None:
    for n in range(5):
        UserFactory(username=f"zed{n}")
    UserFactory(username="zebra", is_active=False)

    first = as_alice.get("/api/v1/people/", {"q": "ZED", "limit": 3}).json()
    second = as_alice.get(first["next"]).json()

    assert [p["username"] for p in first["results"]] == ["zed0", "zed1", "zed2"]
    assert [p["username"] for p in second["results"]] == ["zed3", "zed4"]
    assert second["next"] is None


def test_people_who_blocked_you_are_not_found(as_alice: APIClient, alice: User, bob: User) -> None:
    block_create(user=bob, other=alice)

    assert as_alice.get("/api/v1/people/", {"q": "bob"}).json()["results"] == []
    assert as_alice.get("/api/v1/people/bob/").status_code == 404


def test_a_search_needs_a_query(as_alice: APIClient) -> None:
    response = as_alice.get("/api/v1/people/")

    assert response.status_code == 400
    assert "q" in error_of(response)["fields"]


def test_a_persons_page_says_what_they_are_to_you(
    as_alice: APIClient, alice: User, bob: User, carol: User
) -> None:
    make_contacts(alice, bob)
    block_create(user=alice, other=carol)

    bob_seen = as_alice.get("/api/v1/people/bob/").json()
    carol_seen = as_alice.get("/api/v1/people/carol/").json()

    assert (bob_seen["is_contact"], bob_seen["blocked"], bob_seen["online"]) == (
        True,
        False,
        False,
    )
    assert (carol_seen["is_contact"], carol_seen["blocked"]) == (False, True)
    assert as_alice.get("/api/v1/people/nobody/").status_code == 404

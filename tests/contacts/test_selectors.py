"""People search and contact lists."""

import pytest

from contacts import selectors
from contacts.models import Block
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_search_matches_username_or_display_name_prefixes_case_insensitively() -> None:
    viewer = UserFactory(username="viewer")
    UserFactory(username="marta", display_name="Marta Ruiz")
    UserFactory(username="zed", display_name="MARIO")
    UserFactory(username="amar", display_name="Someone")
    found = selectors.user_search(viewer=viewer, query="MAR")
    assert [u.username for u in found] == ["marta", "zed"]
    assert [u.username for u in selectors.user_search(viewer=viewer, query="@am")] == ["amar"]


def test_search_leaves_out_the_viewer_the_inactive_and_those_who_blocked_the_viewer() -> None:
    viewer = UserFactory(username="pat")
    UserFactory(username="pam", is_active=False)
    blocker = UserFactory(username="paul")
    Block.objects.create(blocker=blocker, blocked=viewer)
    blocked_by_viewer = UserFactory(username="pia")
    Block.objects.create(blocker=viewer, blocked=blocked_by_viewer)
    assert [u.username for u in selectors.user_search(viewer=viewer, query="p")] == ["pia"]


def test_search_is_paginated_and_an_empty_query_finds_nobody() -> None:
    viewer = UserFactory(username="v")
    for n in range(25):
        UserFactory(username=f"bulk{n:02d}")
    first = selectors.user_search(viewer=viewer, query="bulk", per_page=20)
    second = selectors.user_search(viewer=viewer, query="bulk", page=2, per_page=20)
    assert (len(first), len(second), first.paginator.num_pages) == (20, 5, 2)
    assert len(selectors.user_search(viewer=viewer, query="   ")) == 0

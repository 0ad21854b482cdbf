"""Cursor pagination for every list of the API (history has its own, by sequence)."""

from typing import Any

from rest_framework.pagination import CursorPagination


class Cursor(CursorPagination):
    """Opaque ``cursor`` links, ``limit`` per page; the view names its ``cursor_ordering``.

    Keyset underneath: a page costs the same however far the list goes, and
    rows added meanwhile neither repeat nor go missing.
    """

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = "-pk"

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        """Return the view's ordering (a unique field last, so ties stay in place)."""
        ordering = getattr(view, "cursor_ordering", self.ordering)
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

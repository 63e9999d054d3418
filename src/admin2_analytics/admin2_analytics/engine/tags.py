"""Who runs a query: the tag written to ClickHouse's ``log_comment``."""

from __future__ import annotations

import json
from dataclasses import dataclass

from admin2_analytics.kinds import Source


@dataclass(frozen=True)
class QueryTag:
    """Who runs a query, written to ClickHouse's ``log_comment`` (see ``system.query_log``)."""

    user: str = ""
    source: Source | str = Source.WEB
    saved_query: str = ""

    @classmethod
    def for_user(cls, user, source: Source | str, saved_query=None) -> QueryTag:
        """The tag of a person's run: their username, the saved query's name, web/task/cli."""
        return cls(
            user=user.get_username() if getattr(user, "pk", None) else "",
            source=source,
            saved_query=saved_query.name if saved_query is not None else "",
        )

    def comment(self, query_id: str = "") -> str:
        payload = {"app": "admin2", "user": self.user, "source": str(self.source)}
        if query_id:  # before the free text, which the length cap may cut
            payload = {"app": "admin2", "query_id": query_id, **payload}
        if self.saved_query:
            payload["saved_query"] = self.saved_query
        return json.dumps(payload, ensure_ascii=False)[:1000]

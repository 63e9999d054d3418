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

    def comment(self, query_id: str = "") -> str:
        payload = {"app": "admin2", "user": self.user, "source": str(self.source)}
        if query_id:  # before the free text, which the length cap may cut
            payload = {"app": "admin2", "query_id": query_id, **payload}
        if self.saved_query:
            payload["saved_query"] = self.saved_query
        return json.dumps(payload, ensure_ascii=False)[:1000]

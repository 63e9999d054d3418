"""The one execution seam to ClickHouse: the only code that calls clickhouse-connect.

Reads (:mod:`.api`), exports (:mod:`.streaming`) and demo-data writes (:mod:`.writes`) open
sessions of the one :mod:`.backend` (embedded or server); user SQL passes :mod:`.checking`.
docs/clickhouse.md describes the limits, the read-only modes and the guard.
"""

from admin2_analytics.engine.api import (
    QueryResult,
    cancel,
    execute,
    new_query_id,
    ping,
    run_trusted,
)
from admin2_analytics.engine.checking import explain_ast, format_sql, lex, prepare
from admin2_analytics.engine.streaming import CHUNK_SIZE, ResultStream, stream
from admin2_analytics.engine.tags import QueryTag
from admin2_analytics.engine.text_rows import execute_text
from admin2_analytics.engine.writes import maintenance_session

__all__ = [
    "CHUNK_SIZE",
    "QueryResult",
    "QueryTag",
    "ResultStream",
    "cancel",
    "execute",
    "execute_text",
    "explain_ast",
    "format_sql",
    "lex",
    "maintenance_session",
    "new_query_id",
    "ping",
    "prepare",
    "run_trusted",
    "stream",
]

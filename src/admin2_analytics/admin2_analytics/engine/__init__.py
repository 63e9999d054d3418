"""The one execution seam to ClickHouse: the only code that calls clickhouse-connect.

Reads (:mod:`.api`), exports (:mod:`.streaming`) and demo-data writes (:mod:`.writes`) all
open a :mod:`.sessions` session; user SQL passes :mod:`.checking` first. docs/clickhouse.md
describes the limits, the read-only modes and the guard.
"""

from admin2_analytics.engine.api import QueryResult, execute, ping, run_trusted
from admin2_analytics.engine.checking import explain_ast, lex, prepare
from admin2_analytics.engine.streaming import CHUNK_SIZE, ResultStream, stream
from admin2_analytics.engine.tags import QueryTag
from admin2_analytics.engine.text_rows import execute_text
from admin2_analytics.engine.writes import maintenance_session

__all__ = [
    "CHUNK_SIZE",
    "QueryResult",
    "QueryTag",
    "ResultStream",
    "execute",
    "execute_text",
    "explain_ast",
    "lex",
    "maintenance_session",
    "ping",
    "prepare",
    "run_trusted",
    "stream",
]

"""What the guard allows must also run in the engine's read-only session."""

import pytest

from admin2_analytics import engine
from admin2_analytics.engine import QueryTag

TAG = QueryTag(user="t", source="cli")


@pytest.mark.parametrize(
    ("sql", "rows"),
    [
        ("SELECT * FROM numbers(3)", 3),
        ("SELECT * FROM numbers_mt(3)", 3),
        ("SELECT * FROM system.zeros LIMIT 2", 2),
        ("SELECT * FROM generate_series(1, 4)", 4),
        ("SELECT * FROM generateRandom('a UInt8, b String', 1) LIMIT 5", 5),
        ("SELECT * FROM values('a UInt8, b String', (1, 'x'), (2, 'y'))", 2),
        ("SELECT * FROM primes() LIMIT 3", 3),
        ("SELECT * FROM system.one", 1),
        ("SELECT name FROM system.functions WHERE name = 'plus'", 1),
    ],
)
def test_allowed_generators_run_read_only(analytics_engine, sql, rows):
    assert engine.execute(sql, tag=TAG).row_count == rows

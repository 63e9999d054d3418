-- The demo `events` table: three months of activity from 50,000 users in ten countries,
-- computed inside the engine from numbers(N) with cityHash64, so the same N gives the same rows.
-- Read by admin2_analytics.demo_data (embedded chDB) and, mounted, by the staging ClickHouse
-- container's initdb/10-demo-data.sh (--param_rows). One source for both.

CREATE TABLE IF NOT EXISTS events (
    event_time DateTime('UTC') COMMENT 'when it happened (UTC)',
    user_id UInt32 COMMENT 'who (1..50000)',
    session_id UInt64 COMMENT 'browser session',
    event_type LowCardinality(String) COMMENT 'page_view, click, add_to_cart, purchase, signup',
    country LowCardinality(String) COMMENT 'ISO 3166 code',
    device LowCardinality(String) COMMENT 'desktop, mobile or tablet',
    browser LowCardinality(String),
    page String COMMENT 'path of the page',
    revenue Decimal(12, 2) COMMENT 'purchase amount, 0 for other events',
    duration_ms UInt32 COMMENT 'time on the page'
) ENGINE = MergeTree
ORDER BY (event_time, user_id)
COMMENT 'admin2 demo data';

INSERT INTO events
SELECT
    toDateTime('2025-01-01 00:00:00', 'UTC') + intDiv(number * 7776000, {rows:UInt64}),
    1 + cityHash64(number, 1) % 50000,
    cityHash64(intDiv(number, 7), 2),
    multiIf(kind < 55, 'page_view', kind < 75, 'click', kind < 87, 'add_to_cart',
            kind < 95, 'purchase', 'signup'),
    ['US', 'DE', 'GB', 'FR', 'IN', 'BR', 'JP', 'CA', 'NL', 'ES'][1 + cityHash64(number, 4) % 10],
    ['desktop', 'mobile', 'tablet'][1 + cityHash64(number, 5) % 3],
    ['chrome', 'firefox', 'safari', 'edge'][1 + cityHash64(number, 6) % 4],
    concat('/', ['home', 'pricing', 'docs', 'blog', 'checkout', 'account']
                [1 + cityHash64(number, 7) % 6]),
    if(kind >= 87 AND kind < 95, toDecimal64(5 + (cityHash64(number, 8) % 50000) / 100, 2), 0),
    cityHash64(number, 9) % 120000
FROM (SELECT number, cityHash64(number, 3) % 100 AS kind FROM numbers({rows:UInt64}));

"""ClickHouse analytics plugin, composed in unless ADMIN2_ANALYTICS_ENABLED=false.

Engine side: where ClickHouse is and the limits every query runs under. With
``CLICKHOUSE_HOST`` unset the plugin uses the embedded chDB engine under ``VAR_DIR``; set it
to reach a ClickHouse server over HTTP(S). docs/clickhouse.md explains each variable.
"""

import importlib.util

from settings.env import EnvError, env_bool, env_float, env_int, env_list, env_path, env_str

ADMIN2_ANALYTICS_ENABLED = env_bool("ADMIN2_ANALYTICS_ENABLED", True)

if ADMIN2_ANALYTICS_ENABLED:
    INSTALLED_APPS += ["admin2_analytics"]  # noqa: F821

# --- where the engine is ----------------------------------------------------------------
# Empty: the embedded chDB engine at CLICKHOUSE_EMBEDDED_PATH. Never a real host by default.
CLICKHOUSE_HOST = env_str("CLICKHOUSE_HOST", "").strip()
CLICKHOUSE_SECURE = env_bool("CLICKHOUSE_SECURE", False)
CLICKHOUSE_PORT = env_int("CLICKHOUSE_PORT", 8443 if CLICKHOUSE_SECURE else 8123, minimum=1)
if CLICKHOUSE_PORT > 65535:
    raise EnvError(f"CLICKHOUSE_PORT: must be at most 65535, got {CLICKHOUSE_PORT}")
CLICKHOUSE_USER = env_str("CLICKHOUSE_USER", "default")
CLICKHOUSE_PASSWORD = env_str("CLICKHOUSE_PASSWORD", "", secret=True)
CLICKHOUSE_DATABASE = env_str("CLICKHOUSE_DATABASE", "default")
# TLS: verify the server certificate (against CLICKHOUSE_CA_CERT when given).
CLICKHOUSE_VERIFY = env_bool("CLICKHOUSE_VERIFY", True)
CLICKHOUSE_CA_CERT = env_str("CLICKHOUSE_CA_CERT", "")
CLICKHOUSE_CONNECT_TIMEOUT = env_float("CLICKHOUSE_CONNECT_TIMEOUT", 5.0, minimum=0.1)
CLICKHOUSE_READ_TIMEOUT = env_float("CLICKHOUSE_READ_TIMEOUT", 60.0, minimum=0.1)

CLICKHOUSE_EMBEDDED_PATH = env_path("CLICKHOUSE_EMBEDDED_PATH", VAR_DIR / "chdb")  # noqa: F821
if ADMIN2_ANALYTICS_ENABLED and not CLICKHOUSE_HOST and importlib.util.find_spec("chdb") is None:
    # The production image leaves the embedded engine out (pyproject: the `embedded` extra).
    raise EnvError(
        "CLICKHOUSE_HOST: unset, so analytics would use the embedded chDB engine, which is not "
        "installed; set CLICKHOUSE_HOST to your ClickHouse server, or install the extra: "
        "pip install 'admin2-analytics[embedded]'"
    )
# chDB admits one process per data directory: others wait this long for their turn.
CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT = env_float("CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT", 10.0, minimum=0)
# An idle process keeps the engine open this long (handing it over at once when another
# process asks): each chDB shutdown leaks ~1 MB. 0: shut it after every use.
CLICKHOUSE_EMBEDDED_KEEP_OPEN = env_float("CLICKHOUSE_EMBEDDED_KEEP_OPEN", 30.0, minimum=0)
# /readyz: the ClickHouse check answers within this many seconds.
CLICKHOUSE_PING_TIMEOUT = env_float("CLICKHOUSE_PING_TIMEOUT", 2.0, minimum=0.1)

# --- limits every user query runs under (engine-enforced) -------------------------------
ANALYTICS_MAX_EXECUTION_TIME = env_float("ANALYTICS_MAX_EXECUTION_TIME", 30.0, minimum=0.1)
ANALYTICS_MAX_RESULT_ROWS = env_int("ANALYTICS_MAX_RESULT_ROWS", 100_000, minimum=1)
ANALYTICS_MAX_MEMORY_USAGE = env_int("ANALYTICS_MAX_MEMORY_USAGE", 2_000_000_000, minimum=1_000_000)
# Rows per block for user queries from pages and the CLI: ClickHouse checks the time limit
# as blocks pass, so smaller blocks stop a query that is costly per row sooner (0: default).
ANALYTICS_MAX_BLOCK_SIZE = env_int("ANALYTICS_MAX_BLOCK_SIZE", 1024, minimum=0)
# chDB cannot interrupt a function mid-block: a user query still running at 1.25x its limit on
# the embedded engine ends the process that runs it (docs/clickhouse.md). False: it runs on.
ANALYTICS_EMBEDDED_END_PROCESS_PAST_DEADLINE = env_bool(
    "ANALYTICS_EMBEDDED_END_PROCESS_PAST_DEADLINE", True
)
# User queries one person may have running at once (pages, CLI, exports); 0: no cap.
ANALYTICS_MAX_CONCURRENT_QUERIES = env_int("ANALYTICS_MAX_CONCURRENT_QUERIES", 2, minimum=0)
# User SQL longer than this (UTF-8 bytes) is refused before anything reads it.
ANALYTICS_MAX_SQL_BYTES = env_int("ANALYTICS_MAX_SQL_BYTES", 65_536, minimum=1024)
# Exports stream to a file or the browser: longer, larger, same memory ceiling by default.
ANALYTICS_EXPORT_MAX_EXECUTION_TIME = env_float(
    "ANALYTICS_EXPORT_MAX_EXECUTION_TIME", 600.0, minimum=0.1
)
ANALYTICS_EXPORT_MAX_ROWS = env_int("ANALYTICS_EXPORT_MAX_ROWS", 20_000_000, minimum=1)
ANALYTICS_EXPORT_MAX_MEMORY_USAGE = env_int(
    "ANALYTICS_EXPORT_MAX_MEMORY_USAGE", 2_000_000_000, minimum=1_000_000
)
if CLICKHOUSE_HOST and CLICKHOUSE_READ_TIMEOUT <= ANALYTICS_MAX_EXECUTION_TIME:
    raise EnvError(
        "CLICKHOUSE_READ_TIMEOUT: must exceed ANALYTICS_MAX_EXECUTION_TIME "
        f"({CLICKHOUSE_READ_TIMEOUT:g} <= {ANALYTICS_MAX_EXECUTION_TIME:g}), "
        "so the server's own timeout answers first"
    )

# --- pages, exports and result cache (pages side) ---
# Saved query pages: rows per table page, and the most rows a page (or dashboard panel, or
# chart) fetches; more is cut with a note, and the export has everything.
ANALYTICS_PAGE_SIZE = env_int("ANALYTICS_PAGE_SIZE", 50, minimum=1)
ANALYTICS_PAGE_MAX_ROWS = env_int("ANALYTICS_PAGE_MAX_ROWS", 10_000, minimum=1)
ANALYTICS_CONSOLE_MAX_ROWS = env_int("ANALYTICS_CONSOLE_MAX_ROWS", 1_000, minimum=1)
ANALYTICS_CHART_MAX_POINTS = env_int("ANALYTICS_CHART_MAX_POINTS", 2_000, minimum=2)
ANALYTICS_DASHBOARD_PREVIEW_ROWS = env_int("ANALYTICS_DASHBOARD_PREVIEW_ROWS", 10, minimum=0)
# Exports: results this large (or cut at ANALYTICS_PAGE_MAX_ROWS) export in the background
# when the tasks plugin runs; finished files live under MEDIA_ROOT/<dir> for the TTL.
ANALYTICS_EXPORT_BACKGROUND_ROWS = env_int("ANALYTICS_EXPORT_BACKGROUND_ROWS", 10_000, minimum=1)
ANALYTICS_EXPORT_TTL_HOURS = env_float("ANALYTICS_EXPORT_TTL_HOURS", 24.0, minimum=0.01)
ANALYTICS_EXPORT_DIR = "exports"
# CSV/TSV exports and reports prefix text cells a spreadsheet would run as a formula (leading
# = + - @, in CSV also tab or CR) with ' (OWASP). true: write the engine's bytes unchanged.
ANALYTICS_EXPORT_RAW_CELLS = env_bool("ANALYTICS_EXPORT_RAW_CELLS", False)
ANALYTICS_REPORTS_DIR = "reports"
# Scheduled reports attach files up to this size; larger ones are only stored and linked.
ANALYTICS_REPORT_MAX_ATTACHMENT_BYTES = env_int(
    "ANALYTICS_REPORT_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024, minimum=0
)
# Scheduled reports mail only to addresses in these domains (comma-separated, matched
# exactly and case-insensitively: "example.com" does not admit "sub.example.com"). Empty: any
# domain, except in production, where empty means none (reports are then only stored).
ANALYTICS_REPORT_ALLOWED_DOMAINS = [
    domain.lower().lstrip("@") for domain in env_list("ANALYTICS_REPORT_ALLOWED_DOMAINS", [])
]
# Alerts post their webhook only to these hosts (comma-separated, exact, any case). Empty:
# alerts send e-mail only.
ANALYTICS_ALERT_WEBHOOK_HOSTS = [
    host.lower() for host in env_list("ANALYTICS_ALERT_WEBHOOK_HOSTS", [])
]
ANALYTICS_REPORT_ANY_DOMAIN = not ANALYTICS_REPORT_ALLOWED_DOMAINS and (
    ENVIRONMENT != "production"  # noqa: F821 (defined by __init__)
)

"""/readyz carries a ClickHouse check contributed by the plugin."""

from admin2.readiness import run_checks
from admin2.registry import registry
from admin2_analytics import readiness
from tests.support.readyz import detailed_readyz


def test_the_plugin_declares_a_clickhouse_check():
    assert registry.health_checks["clickhouse"].check is readiness.check_clickhouse


def test_readyz_reports_the_embedded_engine_up(analytics_engine, client, settings):
    response = detailed_readyz(client, settings)
    report = response.json()
    assert report["checks"]["clickhouse"]["status"] == "up", report
    assert str(analytics_engine.path) in report["checks"]["clickhouse"]["detail"]


def test_a_broken_engine_directory_is_reported_down(settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the engine directory should be")
    settings.CLICKHOUSE_HOST = ""
    settings.CLICKHOUSE_EMBEDDED_PATH = blocker / "chdb"
    _, report = run_checks(timeout=10)
    assert report["clickhouse"]["status"] == "down"
    assert "EngineUnavailable" in report["clickhouse"]["error"]
    assert report["clickhouse"]["required"] is False
    # Reported, not required: a warehouse outage alone never makes admin2 unready.
    failed = [name for name, r in report.items() if r["status"] != "up" and r["required"]]
    assert "clickhouse" not in failed

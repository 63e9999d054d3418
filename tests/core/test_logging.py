import json
import logging

from admin2.logging import JsonFormatter, RequestIdFilter, request_id_var


def test_json_lines_carry_the_request_id_and_extras():
    token = request_id_var.set("req-12345678")
    try:
        record = logging.makeLogRecord(
            {"name": "admin2.x", "levelno": 20, "levelname": "INFO", "msg": "hi %s", "args": ("x",)}
        )
        record.rows = 3
        RequestIdFilter().filter(record)
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    payload = json.loads(line)
    assert payload["message"] == "hi x"
    assert payload["request_id"] == "req-12345678"
    assert payload["rows"] == 3
    assert payload["level"] == "info"


def test_request_id_reaches_log_lines_of_a_request(client, caplog, settings):
    caplog.set_level(logging.WARNING, logger="django.request")
    response = client.get("/no-such-page", headers={"X-Request-ID": "trace-00000001"})
    assert response.status_code == 404
    records = [r for r in caplog.records if r.name == "django.request"]
    assert records and all(r.request_id == "trace-00000001" for r in records)

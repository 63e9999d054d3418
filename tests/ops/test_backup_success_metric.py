"""BACKUP_TEXTFILE_DIR: a successful backup records its time for node-exporter (the
BackupTooOld alert's series); a failed one leaves the previous time alone."""

from __future__ import annotations

import time

from prometheus_client.parser import text_string_to_metric_families

from tests.ops.conftest import run_script, script_env

METRIC = "admin2_backup_last_success_timestamp_seconds"


def recorded(directory) -> float:
    text = (directory / "admin2_backup.prom").read_text()
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    assert [s.name for s in samples] == [METRIC]
    return samples[0].value


def test_a_backup_records_its_success_time_and_a_failure_does_not(tmp_path, new_database):
    textfiles = tmp_path / "textfile collector"
    env = script_env(tmp_path, new_database(), BACKUP_TEXTFILE_DIR=str(textfiles))
    before = time.time()
    result = run_script("backup.sh", "--no-media", env=env)
    assert result.returncode == 0, result.stderr
    first = recorded(textfiles)
    assert before - 1 <= first <= time.time() + 1

    failing = {**env, "PG_DUMP_CMD": "false"}
    assert run_script("backup.sh", "--no-media", env=failing).returncode != 0
    assert recorded(textfiles) == first
    assert sorted(p.name for p in textfiles.iterdir()) == ["admin2_backup.prom"]

"""Retention of deploy/backup.sh (`prune`): daily N, weekly M, labelled K, nothing else."""

from __future__ import annotations

import datetime as dt

from tests.ops.conftest import run_script, script_env


def _make(backups, name: str) -> None:
    directory = backups / name
    directory.mkdir(parents=True)
    (directory / "db.dump").write_bytes(b"PGDMP")


def _expected(names: list[str], daily: int, weekly: int, labelled: int) -> set[str]:
    """The policy, written independently of the script: newest first, per day / ISO week."""
    keep: set[str] = set()
    plain = sorted((n for n in names if n.count("-") == 1), reverse=True)
    tagged = sorted((n for n in names if n.count("-") > 1), reverse=True)
    days: list[str] = []
    weeks: list[tuple[int, int]] = []
    for name in plain:
        stamp = dt.datetime.strptime(name[7:22], "%Y%m%dT%H%M%S")
        day, week = name[7:15], stamp.isocalendar()[:2]
        if day not in days:
            days.append(day)
            if len(days) <= daily:
                keep.add(name)
        if week not in weeks:
            weeks.append(week)
            if len(weeks) <= weekly:
                keep.add(name)
    keep.update(tagged[:labelled])
    return keep


def test_prune_keeps_the_newest_of_each_recent_day_and_week_and_the_last_labelled(tmp_path):
    backups = tmp_path / "backups"
    start = dt.datetime(2026, 9, 1, 3, 15)
    names = []
    for day in range(60):
        moment = start + dt.timedelta(days=day)
        names.append(f"admin2-{moment:%Y%m%dT%H%M%S}Z")
        if day % 9 == 0:  # a second backup by hand that afternoon
            names.append(f"admin2-{moment + dt.timedelta(hours=11):%Y%m%dT%H%M%S}Z")
        if day % 13 == 0:
            names.append(f"admin2-{moment + dt.timedelta(hours=1):%Y%m%dT%H%M%S}Z-pre-restore")
    for name in names:
        _make(backups, name)
    (backups / "unrelated-directory").mkdir()
    env = script_env(
        tmp_path,
        "postgres",
        BACKUP_KEEP_DAILY="7",
        BACKUP_KEEP_WEEKLY="4",
        BACKUP_KEEP_LABELLED="2",
    )

    result = run_script("backup.sh", "prune", env=env)

    assert result.returncode == 0, result.stderr
    left = {p.name for p in backups.iterdir() if p.name.startswith("admin2-")}
    expected = _expected(names, 7, 4, 2)
    assert left == expected
    # the shape of the policy, in plain numbers: 7 days + at most 4 weeks, 2 labelled
    assert 9 <= len(left) <= 13
    # Sunday 2026-10-25 had the nightly backup and one by hand: the day keeps the newer
    assert dt.date(2026, 10, 25).isoweekday() == 7
    assert "admin2-20261025T141500Z" in left and "admin2-20261025T031500Z" not in left
    assert (backups / "unrelated-directory").is_dir(), "only backups are ever removed"


def test_prune_is_idempotent(tmp_path):
    backups = tmp_path / "backups"
    for day in range(1, 21):
        _make(backups, f"admin2-202610{day:02d}T031500Z")
    env = script_env(tmp_path, "postgres", BACKUP_KEEP_DAILY="3", BACKUP_KEEP_WEEKLY="3")

    assert run_script("backup.sh", "prune", env=env).returncode == 0
    first = sorted(p.name for p in backups.iterdir())
    assert run_script("backup.sh", "prune", env=env).returncode == 0

    assert sorted(p.name for p in backups.iterdir()) == first
    assert [n for n in first if n.startswith("admin2-")] == [
        "admin2-20261011T031500Z",  # Sunday of ISO week 41: the newest of the previous week
        "admin2-20261018T031500Z",
        "admin2-20261019T031500Z",
        "admin2-20261020T031500Z",
    ]


def test_bad_retention_settings_are_named(tmp_path):
    env = script_env(tmp_path, "postgres", BACKUP_KEEP_WEEKLY="four")

    result = run_script("backup.sh", "prune", env=env)

    assert result.returncode != 0
    assert "BACKUP_KEEP_WEEKLY must be a number, got 'four'" in result.stderr

#!/bin/sh
# PostgreSQL's archive_command in the db image (admin2-pgbackrest-archive %p).
# With continuous backups configured (PGBACKREST_REPO1_TYPE in the db's env file) the segment
# goes to the bucket through pgBackRest, and a failure makes PostgreSQL keep it and try again.
# Without them it reports success and archives nothing: archive_mode=on must stay in the
# config (changing it needs a restart), and a command that failed or was missing would make
# PostgreSQL keep every WAL segment in pg_wal until the disk is full. The nightly pg_dump is
# then the only copy (docs/operations.md, "Continuous backups").
set -eu
[ -n "${PGBACKREST_REPO1_TYPE:-}" ] || exit 0
exec pgbackrest archive-push "$1"

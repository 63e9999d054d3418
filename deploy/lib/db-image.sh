# shellcheck shell=bash
# The db image's tag: admin2-db:<checksum of what goes into it> (containers/postgres/Dockerfile,
# its archive script, the PostgreSQL pin in containers/image-pins). Content, not the commit:
# a release that leaves these alone keeps the same db image, so a deploy never recreates the
# database for nothing. `just release` builds it only when the registry lacks that tag.
# Sourced by the scripts here and sent in the deploy bundle (deploy/lib/release-bundle.sh).

DB_IMAGE=admin2-db

# db_image_tag [COMMIT]: from the files of the current directory's checkout, or of COMMIT.
db_image_tag() {
  local commit="${1:-}" path
  {
    for path in containers/postgres/Dockerfile containers/postgres/archive-wal.sh containers/image-pins; do
      if [ -n "$commit" ]; then
        git show "$commit:$path" 2>/dev/null || true
      else
        cat "$path" 2>/dev/null || true
      fi | if [ "$path" = containers/image-pins ]; then grep '^postgres:' || true; else cat; fi
    done
  } | sha256sum | cut -c1-16
}

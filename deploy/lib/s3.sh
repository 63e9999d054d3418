# shellcheck shell=bash
# The S3 bucket of the continuous backups (deploy/pitr.sh), with the same settings pgBackRest
# reads: PGBACKREST_REPO1_S3_{ENDPOINT,BUCKET,REGION,KEY,KEY_SECRET},
# PGBACKREST_REPO1_STORAGE_{PORT,CA_FILE,VERIFY_TLS}. curl signs the request (AWS signature v4); the key
# goes to curl on its standard input, never on a command line that `ps` shows.
#   s3_put FILE KEY          upload (the nightly backup.sh)
#   s3_get KEY FILE          download (the restore to a new host)
#   s3_newest PREFIX         the last key under PREFIX in name order (backups are named by time)

# s3_curl PATH_AND_QUERY CURL_ARGS...
s3_curl() {
  local path="$1" name port ca=()
  shift
  for name in PGBACKREST_REPO1_S3_ENDPOINT PGBACKREST_REPO1_S3_BUCKET PGBACKREST_REPO1_S3_REGION \
    PGBACKREST_REPO1_S3_KEY PGBACKREST_REPO1_S3_KEY_SECRET; do
    require_var "$name" "the bucket of the continuous backups (docs/operations.md)"
  done
  port="${PGBACKREST_REPO1_STORAGE_PORT:-443}"
  [ -z "${PGBACKREST_REPO1_STORAGE_CA_FILE:-}" ] || ca=(--cacert "$PGBACKREST_REPO1_STORAGE_CA_FILE")
  # pgBackRest's own switch, for a storage whose certificate no CA signed (a test stand-in)
  [ "${PGBACKREST_REPO1_STORAGE_VERIFY_TLS:-y}" != n ] || ca=(--insecure)
  printf 'user = "%s:%s"\n' "$PGBACKREST_REPO1_S3_KEY" "$PGBACKREST_REPO1_S3_KEY_SECRET" \
    | curl --config - --fail --silent --show-error --max-time "${BACKUP_S3_TIMEOUT:-3600}" \
      "${ca[@]}" --aws-sigv4 "aws:amz:$PGBACKREST_REPO1_S3_REGION:s3" \
      -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@" \
      "https://$PGBACKREST_REPO1_S3_ENDPOINT:$port/$PGBACKREST_REPO1_S3_BUCKET/$path"
}

s3_put() {
  local file="$1" key="$2" md5
  # object-locked buckets take a PUT only with its checksum
  md5="$(openssl dgst -md5 -binary "$file" | base64)"
  s3_curl "$key" -H "Content-MD5: $md5" --upload-file "$file" >/dev/null
}

s3_get() {
  s3_curl "$1" --output "$2"
}

s3_newest() {
  local prefix="$1"
  # ListObjectsV2 returns keys in name order (1000 a page: ample for nightly backups kept weeks)
  s3_curl "?list-type=2&prefix=$prefix" \
    | python3 -c 'import re, sys
keys = re.findall(r"<Key>([^<]+)</Key>", sys.stdin.read())
print(keys[-1] if keys else "")'
}

# shellcheck shell=bash
# PUT into the S3 bucket of the continuous backups (deploy/pitr.sh), with the same settings
# pgBackRest reads: PGBACKREST_REPO1_S3_{ENDPOINT,BUCKET,REGION,KEY,KEY_SECRET},
# PGBACKREST_REPO1_STORAGE_{PORT,CA_FILE}. curl signs the request (AWS signature v4); the key
# goes to curl on its standard input, never on a command line that `ps` shows.

s3_put() {
  local file="$1" key="$2" name port md5 ca=()
  for name in PGBACKREST_REPO1_S3_ENDPOINT PGBACKREST_REPO1_S3_BUCKET PGBACKREST_REPO1_S3_REGION \
    PGBACKREST_REPO1_S3_KEY PGBACKREST_REPO1_S3_KEY_SECRET; do
    require_var "$name" "the bucket of the continuous backups (docs/operations.md)"
  done
  port="${PGBACKREST_REPO1_STORAGE_PORT:-443}"
  [ -z "${PGBACKREST_REPO1_STORAGE_CA_FILE:-}" ] || ca=(--cacert "$PGBACKREST_REPO1_STORAGE_CA_FILE")
  # object-locked buckets take a PUT only with its checksum
  md5="$(openssl dgst -md5 -binary "$file" | base64)"
  printf 'user = "%s:%s"\n' "$PGBACKREST_REPO1_S3_KEY" "$PGBACKREST_REPO1_S3_KEY_SECRET" \
    | curl --config - --fail --silent --show-error --max-time "${BACKUP_S3_TIMEOUT:-3600}" \
      "${ca[@]}" --aws-sigv4 "aws:amz:$PGBACKREST_REPO1_S3_REGION:s3" \
      -H "Content-MD5: $md5" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
      --upload-file "$file" \
      "https://$PGBACKREST_REPO1_S3_ENDPOINT:$port/$PGBACKREST_REPO1_S3_BUCKET/$key" >/dev/null
}

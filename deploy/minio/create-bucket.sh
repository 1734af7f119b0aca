#!/bin/sh
# One-shot bucket set-up for docker-compose.yml, run by the minio/mc image. Idempotent: a second
# run finds the bucket and changes nothing. Kiln would also create the bucket itself
# (kiln.s3.create-bucket), but only once an api or worker starts; creating it here lets the
# console and presigned URLs work from the first minute, and keeps the bucket name in one place.
set -eu
: "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}" "${KILN_BUCKET:?}"
until mc alias set kiln http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null 2>&1; do
  echo "waiting for minio"
  sleep 1
done
mc mb --ignore-existing "kiln/$KILN_BUCKET"
echo "bucket $KILN_BUCKET ready"

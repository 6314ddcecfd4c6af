#!/usr/bin/env bash
# Cost of signing, `verify`, `archive` and `verify s3://` on the sample package, against a
# local moto server (started here on a free 127.0.0.1 port and stopped at the end).
#   bench/archive.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/var/tmp/dora-bench-archive}
. bench/release.sh "$work"
. bench/moto.sh "$work"
bucket() {
  python3 - "$1" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="eu-central-1")
s3.create_bucket(Bucket=sys.argv[1], CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}, ObjectLockEnabledForBucket=True)
PY
}

"$bin" keygen --out "$work/id" >/dev/null 2>&1
"$bin" -v build --input samples/input --period 2026-Q3 --config samples/dora-evidence.toml --out "$work/pkg" \
  --sign-key "$work/id/signer.key" --sign-cert "$work/id/signer.pem" 2>&1 | grep -E "rendered|signed|SHA256SUMS" || true
echo "package: $(du -sh "$work/pkg" | cut -f1), $(find "$work/pkg" -type f | wc -l) files"
for _ in 1 2 3; do t "verify --ca" "$bin" verify "$work/pkg" --ca "$work/id/ca.pem" >/dev/null; done
(cd "$work/pkg" && t "sha256sum -c" sha256sum -c --quiet --strict SHA256SUMS)
for c in 1 8 16; do
  bucket "bench-c$c"
  rm -f "$work/pkg/archive-receipt.json"
  t "archive --concurrency $c" "$bin" archive "$work/pkg" --to "s3://bench-c$c/p" --ca "$work/id/ca.pem" --concurrency "$c" >/dev/null
done
t "archive again (no-op)" "$bin" archive "$work/pkg" --to s3://bench-c16/p --ca "$work/id/ca.pem" --concurrency 16 >/dev/null
id=$(python3 -c "import json; print(json.load(open('$work/pkg/manifest.json'))['package_id'])")
t "verify s3://" "$bin" verify "s3://bench-c16/p/nordhafen-bank-ag/2026-q3/$id/" --ca "$work/id/ca.pem" >/dev/null

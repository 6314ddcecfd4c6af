#!/usr/bin/env bash
# S3 download speed of `build --input s3://…` against `aws s3 sync`, on the same bucket of a
# local moto server (started here, stopped at the end): N small objects (1 KiB) and L large
# ones (16 MiB). Needs awscli (pip install awscli).
#   bench/s3_fetch.sh [N=10000] [L=20] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
small=${1:-10000}
large=${2:-20}
work=${3:-/var/tmp/dora-bench-s3}
. bench/release.sh "$work"
. bench/moto.sh "$work"
python3 - "$small" "$large" <<'PY'
import os, sys, boto3, concurrent.futures as cf
small, large = int(sys.argv[1]), int(sys.argv[2])
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="eu-central-1")
s3.create_bucket(Bucket="bench", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
def put(i):
    s3.put_object(Bucket="bench", Key=f"p/collected/111122223333/eu-central-1/2026-08-01T00:00:00Z/small-{i:05}.txt", Body=os.urandom(512).hex().encode())
def put_large(i):
    s3.put_object(Bucket="bench", Key=f"p/large/console-export-{i:02}.bin", Body=os.urandom(16 * 1024 * 1024))
with cf.ThreadPoolExecutor(8) as ex:
    list(ex.map(put, range(small)))
    list(ex.map(put_large, range(large)))
print(f"uploaded {small} small and {large} large objects")
PY
t "aws s3 sync" aws s3 sync --only-show-errors s3://bench/p "$work/sync"
echo "aws s3 sync fetched $(find "$work/sync" -type f | wc -l) files"
t "dora-evidence build --input s3://" "$bin" -v build --input s3://bench/p --period 2026-Q3 --out "$work/pkg" --allow-partial \
  2>&1 | grep -E "fetched .* from S3|wall" || true

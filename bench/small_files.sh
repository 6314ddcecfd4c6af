#!/usr/bin/env bash
# A small-file-heavy quarter for `bench/run.sh`: what `collect` writes for an organisation,
# many small API snapshots (about 1 KB per job), made by collecting from the replay server
# `bench/org_replay.py` (no AWS account).
#
# Usage: bench/small_files.sh [OUT]     (default /var/tmp/dora-bench/smallfiles)
#   ACCOUNTS (400) × REGIONS (4) scopes, DAYS (30) days of JOBS_PER_DAY (3) backup jobs plus a
#   copy and a restore job a day each. Defaults: 28 800 files, 219 MB, 240 000 jobs.
# Then:
#   INPUT=OUT/store PERIOD=2026-Q4 GENERATED_AT=<after the jobs> bench/run.sh small OUT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-/var/tmp/dora-bench/smallfiles}
ACCOUNTS=${ACCOUNTS:-400} REGIONS=${REGIONS:-4} DAYS=${DAYS:-30} JOBS_PER_DAY=${JOBS_PER_DAY:-3}
bin=${BIN:-${CARGO_TARGET_DIR:-$here/../target}/release/dora-evidence}
[ -x "$bin" ] || { echo "no binary at $bin (cargo build --release)" >&2; exit 2; }
[ -e "$out/store" ] && { echo "$out/store exists; remove it first" >&2; exit 2; }
mkdir -p "$out"
names=(eu-central-1 eu-west-1 eu-south-2 eu-north-1 eu-west-2 eu-west-3 eu-south-1 eu-central-2)
regions=$(IFS=,; echo "${names[*]:0:$REGIONS}")
python3 "$here/org_replay.py" --regions "$REGIONS" --tps 1000000 --burst 1000000 \
  --days "$DAYS" --jobs-per-day "$JOBS_PER_DAY" >"$out/port" 2>"$out/server.err" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$out/port" ] && break; sleep 0.1; done
url=http://127.0.0.1:$(head -1 "$out/port")
seq -f '1%011g' 1 "$ACCOUNTS" >"$out/accounts.txt"
env AWS_ENDPOINT_URL_BACKUP="$url" AWS_ENDPOINT_URL_STS="$url" AWS_ENDPOINT_URL_ACCOUNT="$url" \
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret-not-real AWS_REGION=eu-central-1 \
  AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
  "$bin" collect --out "$out/store" --regions "$regions" --accounts-from "$out/accounts.txt" \
  --assume-role-name R --skip alarms,tags,audit-manager --concurrency 8 >"$out/collect.out" 2>"$out/collect.err"
files=$(find "$out/store" -type f | wc -l)
bytes=$(find "$out/store" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
echo "small-file quarter: $files files, $bytes bytes in $out/store"

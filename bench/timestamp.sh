#!/usr/bin/env bash
# Cost of RFC 3161 timestamping on the sample package: the same signed build without and with
# `--tsa` (the test TSA of scripts/test_tsa.py on 127.0.0.1: `openssl ts -reply`, so the TSA's
# own time is a few milliseconds, not a network round trip), a renewal (`timestamp`) and
# `verify` with and without tokens. Three runs each.
#   bench/timestamp.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/var/tmp/dora-bench-timestamp}
. bench/release.sh "$work"
coproc TSA { exec python3 scripts/test_tsa.py "$work/tsa" --exit-on-stdin-eof; }
read -r tsa <&"${TSA[0]}"
t() { # label, command… (its output discarded): wall seconds, user+sys seconds, peak RSS MiB
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >/dev/null 2>&1
  read -r wall user sys rss <"$work/time"
  printf '%-44s %6.2f s wall %6.2f s CPU %6.1f MiB\n' "$label" "$wall" "$(echo "$user + $sys" | bc)" "$(echo "scale=1; $rss / 1024" | bc)"
}
"$bin" keygen --out "$work/id"
sign=(--sign-key "$work/id/signer.key" --sign-cert "$work/id/signer.pem")
common=(--input samples/input --period 2026-Q3 --config samples/dora-evidence.toml)
for i in 1 2 3; do
  t "build, signed (B-B, no TSA)" "$bin" build "${common[@]}" "${sign[@]}" --out "$work/plain" --force
  t "build, signed + --tsa" "$bin" build "${common[@]}" "${sign[@]}" --tsa "$tsa" --tsa-ca "$work/tsa/ca.pem" \
    --out "$work/stamped" --force
done
"$bin" -v build "${common[@]}" "${sign[@]}" --tsa "$tsa" --tsa-ca "$work/tsa/ca.pem" --out "$work/stamped" --force 2>&1 \
  | grep -E "signed|timestamp|DSS" || true
for i in 1 2 3; do
  t "verify, no tokens" "$bin" verify "$work/plain" --ca "$work/id/ca.pem"
  t "verify, timestamped" "$bin" verify "$work/stamped" --ca "$work/id/ca.pem" --tsa-ca "$work/tsa/ca.pem"
done
for i in 1 2 3; do
  t "timestamp (renewal $i, SHA-256)" "$bin" timestamp "$work/stamped" --tsa "$tsa" --tsa-ca "$work/tsa/ca.pem" \
    --ca "$work/id/ca.pem"
done
t "timestamp (renewal 4, SHA-512)" "$bin" timestamp "$work/stamped" --tsa "$tsa" --tsa-ca "$work/tsa/ca.pem" \
  --ca "$work/id/ca.pem" --hash sha512
t "verify, 4 renewals" "$bin" verify "$work/stamped" --ca "$work/id/ca.pem" --tsa-ca "$work/tsa/ca.pem"
echo "package: $(du -sh "$work/stamped" | cut -f1), $(find "$work/stamped" -type f | wc -l) files"

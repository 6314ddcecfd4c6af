#!/usr/bin/env bash
# Cost of signing and of `verify` on a package: builds the package signed with a keygen
# identity (`-v` prints the signing step), then times `verify --ca` five times and, for
# comparison, `sha256sum -c` over the same files (page cache warm).
#   bench/verify.sh [INPUT_DIR] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
input=${1:-samples/input}
work=${2:-/var/tmp/dora-bench-verify}
cargo build --release --locked -q
bin=${CARGO_TARGET_DIR:-target}/release/dora-evidence
rm -rf "$work"
mkdir -p "$work"
"$bin" keygen --out "$work/id" >/dev/null 2>&1
"$bin" -v build --input "$input" --period 2026-Q3 --config samples/dora-evidence.toml --out "$work/pkg" \
  --sign-key "$work/id/signer.key" --sign-cert "$work/id/signer.pem" 2>&1 | grep -E "rendered|signed|SHA256SUMS" || true
echo "package: $(du -sh "$work/pkg" | cut -f1), $(find "$work/pkg" -type f | wc -l) files"
for _ in 1 2 3 4 5; do
  /usr/bin/time -f "verify --ca: %e s, peak RSS %M KiB" "$bin" verify "$work/pkg" --ca "$work/id/ca.pem" >/dev/null
done
(cd "$work/pkg" && /usr/bin/time -f "sha256sum -c: %e s" sha256sum -c --quiet --strict SHA256SUMS)

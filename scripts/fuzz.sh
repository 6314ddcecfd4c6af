#!/usr/bin/env bash
# Runs one fuzz target for SECONDS (default 600) with a seed corpus from samples/ and
# tests/fixtures/, and prints libFuzzer's final statistics. Needs the nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz`); not part of CI. Built without a sanitizer but with
# debug assertions and overflow checks (-s none -a): the parsers are safe Rust, so what fuzzing
# looks for is panics, overflows, hangs and memory blow-ups. Crashes land in fuzz/artifacts/TARGET/.
#   scripts/fuzz.sh report_csv 600
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: scripts/fuzz.sh TARGET [SECONDS]}"
seconds="${2:-600}"
corpus="fuzz/corpus/$target"
mkdir -p "$corpus"
seed() { # copy up to 400 files matching a find expression into the corpus (content-addressed)
  local n=0 f
  while IFS= read -r -d '' f; do
    [ "$n" -lt 400 ] || continue
    cp "$f" "$corpus/$(sha256sum "$f" | cut -c1-16)"
    n=$((n + 1))
  done < <(find samples tests/fixtures \( "$@" \) -type f -size -1024k -print0 2>/dev/null | sort -z)
}
case "$target" in
  report_csv) seed -name '*.csv' ;;
  report_json) seed -path '*Backup*' -name '*.json' -o -path '*reports*' -name '*.json' ;;
  snapshot_json) seed -path '*collected*' -name '*.json' -o -path '*api*' -name '*.json' ;;
  assessment_zip) seed -name '*.zip' ;;
  config_toml) cp samples/dora-evidence.toml "$corpus/" ;;
  mapping_toml) cp report-templates/dora-mapping.toml "$corpus/" ;;
  schedule) i=0 # the schedule expressions AWS Backup and EventBridge write, with and without a zone
    for e in 'cron(0 5 ? * * *)' 'cron(0 3 L * ? *)' 'cron(0 22 ? * MON-FRI *)' 'cron(0 3 ? * 6L *)' \
      'cron(0 3 ? * 2#1 *)' 'cron(0 0/12 * * ? *)' 'cron(30 1-3 ? * * 2026-2027)' 'rate(12 hours)' 'rate(1 day)'; do
      printf '%s\nEurope/Berlin' "$e" >"$corpus/seed-$i"; printf '%s' "$e" >"$corpus/seed-$((i + 1))"; i=$((i + 2))
    done ;;
  pdf_reader) seed -name '*.pdf'; pdf="${FUZZ_SEED_PDF:-demo-package/report.pdf}" # a signed report, from scripts/demo.sh
    [ -f "$pdf" ] && cp "$pdf" "$corpus/report.pdf" ;;
  cms_verify) p7s="${FUZZ_SEED_P7S:-demo-package/manifest.json.p7s}" # from scripts/demo.sh
    [ -f "$p7s" ] && cp "$p7s" "$corpus/manifest.json.p7s"
    find tests/fixtures -name '*.p7s' -o -name '*.der' | while read -r f; do cp "$f" "$corpus/"; done ;;
  *) echo "unknown target $target (see fuzz/Cargo.toml)" >&2; exit 2 ;;
esac
# Text parsers: inputs up to 64 KiB keep executions fast (large inputs are the malformed
# corpus's job); the PDF reader gets 1 MiB so a whole signed report.pdf fits.
case "$target" in
  pdf_reader) max_len=1048576 ;;
  *) max_len=65536 ;;
esac
max_len="${FUZZ_MAX_LEN:-$max_len}"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-/var/tmp/dora-evidence-fuzz-target}"
cd fuzz
exec cargo +nightly fuzz run -s none -a "$target" "corpus/$target" -- \
  -max_total_time="$seconds" -print_final_stats=1 -max_len="$max_len" -timeout=30 -rss_limit_mb=4096

#!/usr/bin/env bash
# What each stage of `build` costs, measured by leaving stages out (issue 18). A binary built
# with the `ablation` feature runs the same quarter three ways, in turns:
#   full     the whole build;
#   nospill  every input read, hashed, copied and parsed into records, which are then dropped
#            (no spill, no merge, no evidence CSVs of the bulk tables);
#   noparse  every input read, hashed and copied into the package, nothing parsed.
# So noparse is the floor of the copy and the hash, nospill - noparse what parsing costs, and
# full - nospill what the spill, the merge, the evidence CSVs, the assessment and the report
# cost. `openssl dgst -sha256` over the same files (and, unless SKIP_PYTHON=1, the Python
# baseline once) give the aims' yardsticks. Results go to BENCHMARKS.md by hand.
#
# Usage: bench/ablation.sh SCALE [ROUNDS] [WORKDIR]    e.g. bench/ablation.sh 120 3
# As in bench/run.sh, nothing is deleted until every run is over (creating files soon after
# many were deleted is slow on the machine measured); leave about six minutes between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:?usage: bench/ablation.sh SCALE [ROUNDS] [WORKDIR]}
rounds=${2:-3}
work=${3:-/var/tmp/dora-bench}
target=${CARGO_TARGET_DIR:-target}

cargo build --release --quiet --features ablation
mkdir -p "$work"
bin="$work/dora-evidence-ablation"
cp "$target/release/dora-evidence" "$bin"
cargo build --release --quiet # the normal binary back in its place
data="$work/scale-$scale"
[ -d "$data/input" ] || "$target/release/dora-evidence" samples --scale "$scale" --out "$data"
input="$data/input"
echo "input: $(find "$input" -type f | wc -l) files, $(du -sh "$input" | cut -f1) ($input)"
find "$input" -type f -print0 | xargs -0 cat >/dev/null

now() { date +%s.%N; }
outs=()
cleanup() { rm -rf "${outs[@]}"; }
trap cleanup EXIT

t0=$(now); find "$input" -type f -print0 | sort -z | xargs -0 openssl dgst -sha256 >/dev/null; t1=$(now)
t_openssl=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b-a}')
echo "openssl dgst -sha256: $t_openssl s"
# A phase's time from a build's -v log ("-" when the log lacks the line).
phase() { grep -o "$1.* in [0-9.]*m\?s" "$2" | grep -o "[0-9.]*m\?s$" || echo -; }
printf '%-8s %-5s %4s %7s %7s %7s %9s %8s %8s\n' mode round exit wall user system "peak MiB" "read" "merge"
for round in $(seq "$rounds"); do
  for mode in full nospill noparse; do
    out=$(mktemp -d "$work/abl.XXXXXX"); outs+=("$out"); sync
    ablation=$mode; [ "$mode" != full ] || ablation=
    # A left-out stage leaves evidence missing, which may make that build exit non-zero by
    # design; the exit status is shown, and a full build that fails stops the script.
    status=0
    DORA_EVIDENCE_ABLATION=$ablation /usr/bin/time -f "%e %U %S %M" -o "$out/rusage" "$bin" -v build \
      --input "$input" --period 2026-Q3 --out "$out/package" --allow-partial --allow-empty \
      --generated-at 2026-10-05T00:00:00Z >/dev/null 2>"$out/log" || status=$?
    read -r wall user sys peak < <(tail -1 "$out/rusage")
    printf '%-8s %-5s %4s %7s %7s %7s %9s %8s %8s\n' "$mode" "$round" "$status" "$wall" "$user" "$sys" \
      "$((peak / 1024))" "$(phase 'read, hashed and parsed' "$out/log")" "$(phase 'merged observations' "$out/log")"
    if [ "$mode" = full ] && [ "$status" != 0 ]; then
      echo "the full build failed:" >&2; tail -5 "$out/log" >&2; exit 1
    fi
  done
done
if [ "${SKIP_PYTHON:-0}" != 1 ]; then
  py=$(mktemp -d "$work/py.XXXXXX"); outs+=("$py")
  t0=$(now); python3 bench/baseline.py "$py/out" "$input" >/dev/null; t1=$(now)
  echo "python baseline: $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b-a}') s"
fi

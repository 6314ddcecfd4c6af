#!/usr/bin/env bash
# Benchmark of `dora-evidence build` (issue 2), measured in one run against the floor of
# touching every byte once (`openssl dgst -sha256`, SHA-NI) and `sha256sum`, and against a
# straightforward Python script (bench/baseline.py). Results go to BENCHMARKS.md by hand.
#
# Usage: bench/run.sh SCALE [WORKDIR]    e.g. bench/run.sh 120
#   SCALE   sample-generator scale (see crates/dora-evidence-samples/src/lib.rs for jobs per scale)
#   WORKDIR where the generated quarter and outputs go (default /var/tmp/dora-bench)
# Set SKIP_PYTHON=1 to leave out the Python baseline (it is slow at large scales).
# Nothing is deleted until every tool has run: on an ext4 without a journal (as on the machine
# measured) creating files in the minutes after many were deleted is several times slower (the
# inode allocator skips recently deleted inodes), so a deletion before a measurement would
# measure it. For the same reason leave about six minutes between runs.
# INPUT=DIR measures an existing input folder instead of a generated quarter (SCALE is then only
# a label), PERIOD=YYYY-Qn its quarter (default 2026-Q3) and GENERATED_AT its build time; e.g. the small-file quarter that
# bench/small_files.sh collects.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:?usage: bench/run.sh SCALE [WORKDIR]}
work=${2:-/var/tmp/dora-bench}
target=${CARGO_TARGET_DIR:-target}

cargo build --release --quiet
bin="$target/release/dora-evidence"
data="$work/scale-$scale"
if [ -z "${INPUT:-}" ] && [ ! -d "$data/input" ]; then
  "$bin" samples --scale "$scale" --out "$data"
fi
input=${INPUT:-$data/input}
period=${PERIOD:-2026-Q3}
files=$(find "$input" -type f | wc -l)
bytes=$(find "$input" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
mb=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b/1e6}')
echo "input: $files files, $mb MB ($input)"

# Warm the page cache so every tool reads from memory.
find "$input" -type f -print0 | xargs -0 cat >/dev/null

now() { date +%s.%N; }
rate() { awk -v b="$bytes" -v s="$1" 'BEGIN {printf "%.0f", b/1e6/s}'; }

t0=$(now); find "$input" -type f -print0 | sort -z | xargs -0 openssl dgst -sha256 >/dev/null; t1=$(now)
t_openssl=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b-a}')
t0=$(now); find "$input" -type f -print0 | sort -z | xargs -0 sha256sum >/dev/null; t1=$(now)
t_sha=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b-a}')
# The copy floor: what putting the same bytes into new files on this file system costs (the
# package keeps a verbatim copy of every input; `cp` uses copy_file_range or a reflink).
copy=$(mktemp -d "$work/cp.XXXXXX"); sync
t0=$(now); cp -r "$input" "$copy/input"; t1=$(now)
t_cp=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b-a}')

pkg=$(mktemp -d "$work/pkg.XXXXXX"); sync
t0=$(now)
/usr/bin/time -v "$bin" -v build --input "$input" --period "$period" --out "$pkg/package" --allow-partial \
  --generated-at "${GENERATED_AT:-2026-10-05T00:00:00Z}" >"$work/build.out" 2>"$work/build.time"
t1=$(now)
t_build=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b-a}')
rss_build=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/build.time")

echo
printf '%-28s %9s %9s %12s\n' "step" "seconds" "MB/s" "peak RSS KiB"
printf '%-28s %9.2f %9s %12s\n' "openssl dgst -sha256" "$t_openssl" "$(rate "$t_openssl")" "-"
printf '%-28s %9.2f %9s %12s\n' "sha256sum" "$t_sha" "$(rate "$t_sha")" "-"
printf '%-28s %9.2f %9s %12s\n' "cp -r (copy floor)" "$t_cp" "$(rate "$t_cp")" "-"
printf '%-28s %9.2f %9s %12s\n' "dora-evidence build" "$t_build" "$(rate "$t_build")" "$rss_build"
# On a VM whose host backs memory lazily, written bytes can dominate: show them with the CPU split.
awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} /File system outputs/ {o=$2}
  END {printf "%-28s user %.2f s, system %.2f s, %.0f MB written\n", "  (build)", u, s, o*512/1e6}' "$work/build.time"
if [ "${SKIP_PYTHON:-0}" != 1 ]; then
  py=$(mktemp -d "$work/py.XXXXXX"); sync
  t0=$(now)
  /usr/bin/time -v python3 bench/baseline.py "$py/out" "$input" >"$work/py.out" 2>"$work/py.time"
  t1=$(now)
  t_py=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b-a}')
  rss_py=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/py.time")
  printf '%-28s %9.2f %9s %12s\n' "python baseline" "$t_py" "$(rate "$t_py")" "$rss_py"
fi
echo
awk -v o="$t_openssl" -v b="$t_build" 'BEGIN {printf "build throughput / openssl throughput: %.0f %%\n", 100*o/b}'
[ -n "${t_py:-}" ] && awk -v p="$t_py" -v b="$t_build" 'BEGIN {printf "build vs python baseline: %.1fx faster\n", p/b}'
echo
echo "build phases:"; grep -E 'INFO' "$work/build.time" | sed 's/.*INFO[^ ]* *//'
echo
echo "dora-evidence counts:"; grep -E '^  (backup|copy|restore)_jobs' "$work/build.out"
if [ -n "${t_py:-}" ]; then echo "python counts:"; grep -E '_jobs:' "$work/py.out"; fi
rm -rf "$copy" "$pkg" ${py:+"$py"}

#!/usr/bin/env bash
# `collect` at organisation scale against bench/org_replay.py (issue 18, item 4).
#
#   bench/collect_org.sh [BIN]        BIN: the release binary (default: target/release/dora-evidence)
#
# Part A (rate limits): ACCOUNTS x REGIONS scopes, Backup limited to TPS calls a second (bucket
# BURST) per account and Region; one unsharded run, then SHARDS concurrent `--shard i/SHARDS`
# runs into one shared store, all with the same --run-time. Part B (memory): the same
# collection without a binding limit at MEM_SMALL and MEM_LARGE accounts, to compare peak RSS.
# Every run gets a fresh server (fresh buckets and counts) and a fresh store under WORK.
#
# Environment (defaults): ACCOUNTS=80 REGIONS=4 TPS=5 BURST=5 CONCURRENCY=8 SHARDS=4
# LIMIT_KEY=account-region MEM_SMALL=50 MEM_LARGE=400 MEM_REGIONS=4 PARTS="A B"
# WORK=/var/tmp/dora-orgbench; REPORT_ONLY=1 prints the figures of the runs already in WORK.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-$here/../target/release/dora-evidence}
ACCOUNTS=${ACCOUNTS:-80} REGIONS=${REGIONS:-4} TPS=${TPS:-5} BURST=${BURST:-5}
CONCURRENCY=${CONCURRENCY:-8} SHARDS=${SHARDS:-4} LIMIT_KEY=${LIMIT_KEY:-account-region}
MEM_SMALL=${MEM_SMALL:-50} MEM_LARGE=${MEM_LARGE:-400} MEM_REGIONS=${MEM_REGIONS:-4}
PARTS=${PARTS:-A B} WORK=${WORK:-/var/tmp/dora-orgbench}
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install -y time" >&2; exit 2; }
[ -x "$BIN" ] || { echo "no binary at $BIN" >&2; exit 2; }
. "$here/workdir.sh"
[ -n "${REPORT_ONLY:-}" ] || fresh_workdir "$WORK"
REGION_LIST=(eu-central-1 eu-west-1 eu-south-2 eu-north-1 eu-west-2 eu-west-3 eu-south-1
  eu-central-2 us-east-1 us-east-2 us-west-1 us-west-2 ap-southeast-1 ap-southeast-2
  ap-northeast-1 ca-central-1 sa-east-1)
SERVER_PID=
stop_server() { if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi; SERVER_PID=; }
trap stop_server EXIT

# start_server REGIONS TPS BURST [LOG]: a fresh server; sets PORT.
start_server() {
  stop_server
  local log=(); [ -n "${4:-}" ] && log=(--log "$4")
  python3 "$here/org_replay.py" --regions "$1" --tps "$2" --burst "$3" --limit-key "$LIMIT_KEY" "${log[@]}" \
    >"$WORK/port" 2>"$WORK/server.err" &
  SERVER_PID=$!
  for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
  PORT=$(head -1 "$WORK/port")
  local url=http://127.0.0.1:$PORT
  export AWS_ENDPOINT_URL_BACKUP=$url AWS_ENDPOINT_URL_STS=$url AWS_ENDPOINT_URL_ACCOUNT=$url
}
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret-not-real AWS_REGION=eu-central-1 \
  AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 || true

# accounts N FILE: N 12-digit ids, one a line.
accounts() { seq -f '1%011g' 1 "$1" >"$2"; }

# one_run NAME SHARDS ACCOUNTS REGIONS: SHARDS concurrent collect processes (1 = unsharded)
# into one fresh store, each under /usr/bin/time -v; then the server's counts.
one_run() {
  local name=$1 n=$2 accts=$3 regions=$4 dir=$WORK/$1
  mkdir -p "$dir"; accounts "$accts" "$dir/accounts.txt"
  local rl; rl=$(IFS=,; echo "${REGION_LIST[*]:0:$regions}")
  local run_time; run_time=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  local start; start=$(date +%s.%N)
  for i in $(seq "$n"); do
    local shard=(); [ "$n" -gt 1 ] && shard=(--shard "$i/$n")
    /usr/bin/time -v -o "$dir/time.$i" "$BIN" collect --out "$dir/store" --regions "$rl" \
      --accounts-from "$dir/accounts.txt" --assume-role-name R --skip alarms,tags,audit-manager \
      --run-time "$run_time" --concurrency "$CONCURRENCY" "${shard[@]}" \
      >"$dir/out.$i" 2>"$dir/err.$i" &
    echo $! >"$dir/pid.$i"
  done
  local rc=0
  for i in $(seq "$n"); do wait "$(cat "$dir/pid.$i")" || rc=$?; done
  local end; end=$(date +%s.%N)
  curl -s "http://127.0.0.1:$PORT/__stats" >"$dir/stats.json"
  echo "$start $end $rc" >"$dir/wall"
  find "$dir/store" -type f | wc -l >"$dir/files"
}

report() {
  python3 - "$WORK" "$@" <<'EOF'
import json, math, re, sys
work, names = sys.argv[1], sys.argv[2:]
def time_v(path):
    t = open(path).read()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
    el = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1).split(":")
    secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(el)))
    cpu = float(re.search(r"User time \(seconds\): (\S+)", t).group(1)) + float(re.search(r"System time \(seconds\): (\S+)", t).group(1))
    return rss, secs, cpu
for name in names:
    d = f"{work}/{name}"
    cfg = json.load(open(f"{d}/cfg.json"))
    st = json.load(open(f"{d}/stats.json"))
    start, end, rc = open(f"{d}/wall").read().split()
    wall = float(end) - float(start)
    procs = [time_v(f"{d}/time.{i}") for i in range(1, cfg["shards"] + 1)]
    scopes_per = []
    for i in range(1, cfg["shards"] + 1):
        out = open(f"{d}/out.{i}").read()
        scopes_per.append(len(re.findall(r"^  \d{12} \S+: \d+ written", out, re.M)))
    failed = sum(len(re.findall(r"INCOMPLETE", open(f"{d}/out.{i}").read())) for i in range(1, cfg["shards"] + 1))
    fam = st["families"]
    b = fam.get("backup", {"requests": 0, "throttled": 0, "answered": 0})
    scopes = sum(scopes_per)
    k = b["answered"] / scopes if scopes else 0
    tps, burst, conc = cfg["tps"], cfg["burst"], cfg["concurrency"]
    # The binding ceiling: each scope's calls go one after another through its own
    # (account, Region) bucket, and a process has `conc` scopes in flight, so the fastest any
    # client could finish is, per process, ceil(scopes / conc) rounds of (k - burst) / tps
    # seconds (a fresh bucket lends `burst` calls at once); the run ends with its slowest shard.
    t_min = max(math.ceil(s / conc) * max(k - burst, 0) / tps for s in scopes_per) if tps < 1e5 else 0
    rate = b["answered"] / wall
    print(f"== {name}: {cfg['accounts']} accounts x {cfg['regions']} Regions, {cfg['shards']} process(es), "
          f"--concurrency {conc}, limit {tps:g}/s burst {burst:g} per {cfg['limit_key']} (exit {rc})")
    print(f"   scopes {scopes} (per process {scopes_per}), incomplete {failed}, files {open(d + '/files').read().strip()}")
    print(f"   API calls: {st['total']['requests']} requests = {st['total']['answered']} answered + "
          f"{st['total']['throttled']} throttled; Backup {b['answered']} answered ({k:.1f} per scope) + "
          f"{b['throttled']} throttled; STS {fam.get('sts', {}).get('requests', 0)}; Account {fam.get('account', {}).get('requests', 0)}")
    print(f"   wall {wall:.1f} s; Backup calls answered/s {rate:.1f}")
    if t_min and cfg["limit_key"] == "account":
        # One bucket per account, shared by its Regions (and by the shards holding them).
        # At best every account drains at once; one process runs scopes account by account,
        # so only about conc / regions accounts are in flight.
        acc, reg = cfg["accounts"], cfg["regions"]
        inflight = acc if cfg["shards"] > 1 else min(acc, math.ceil(conc / reg))
        t_all = (b["answered"] - acc * burst) / (acc * tps)
        t_in = (b["answered"] - acc * burst) / (inflight * tps)
        print(f"   ceiling: {acc} account buckets x {tps:g}/s = {acc * tps:g} calls/s (fastest wall {t_all:.1f} s) -> achieved "
              f"{100 * t_all / wall:.0f} %; with ~{inflight} account(s) in flight {inflight * tps:g}/s "
              f"(fastest wall {t_in:.1f} s) -> {100 * t_in / wall:.0f} %")
    elif t_min:
        print(f"   ceiling: {cfg['shards']} x {conc} scopes in flight x {tps:g}/s = {cfg['shards'] * conc * tps:g} calls/s sustained;"
              f" fastest possible wall {t_min:.1f} s (with the burst) -> achieved {100 * t_min / wall:.0f} % of the ceiling")
    for i, (rss, secs, cpu) in enumerate(procs, 1):
        print(f"   process {i}: wall {secs:.1f} s, CPU {cpu:.1f} s, peak RSS {rss / 1024:.1f} MiB")
EOF
}

# cfg NAME SHARDS ACCOUNTS REGIONS TPS BURST
cfg() {
  mkdir -p "$WORK/$1"
  printf '{"shards":%s,"accounts":%s,"regions":%s,"tps":%s,"burst":%s,"concurrency":%s,"limit_key":"%s"}\n' \
    "$2" "$3" "$4" "$5" "$6" "$CONCURRENCY" "$LIMIT_KEY" >"$WORK/$1/cfg.json"
}

if [ -n "${REPORT_ONLY:-}" ]; then  # the figures of the runs already in WORK
  report $(cd "$WORK" && ls -d limited-* mem-* 2>/dev/null); exit
fi
echo "binary: $BIN ($("$BIN" --version 2>/dev/null || true)); $(nproc) cores; $(date -u +%FT%TZ)"
names=()
if [[ " $PARTS " == *" A "* ]]; then
  for n in 1 "$SHARDS"; do
    name=limited-$n; cfg "$name" "$n" "$ACCOUNTS" "$REGIONS" "$TPS" "$BURST"
    start_server "$REGIONS" "$TPS" "$BURST" "$WORK/$name/requests.log"; one_run "$name" "$n" "$ACCOUNTS" "$REGIONS"; names+=("$name")
  done
  # The shards together must have written what the single run wrote.
  # (names with the snapshot time, which differs between the two runs, blanked)
  for n in 1 "$SHARDS"; do
    (cd "$WORK/limited-$n/store" && find . -type f | sed -E 's#/[0-9T:-]+Z/#/<time>/#' | sort) >"$WORK/files-$n"
  done
  if cmp -s "$WORK/files-1" "$WORK/files-$SHARDS"; then echo "same $(wc -l <"$WORK/files-1") file names from 1 and $SHARDS shards"
  else echo "file names differ between 1 and $SHARDS shards"; fi
fi
if [[ " $PARTS " == *" B "* ]]; then
  for a in "$MEM_SMALL" "$MEM_LARGE"; do
    name=mem-$a; cfg "$name" 1 "$a" "$MEM_REGIONS" 1e6 1e6
    start_server "$MEM_REGIONS" 1e6 1e6; one_run "$name" 1 "$a" "$MEM_REGIONS"; names+=("$name")
  done
fi
stop_server
report "${names[@]}"

#!/usr/bin/env python3
"""How long `collect` waits after a throttled call, from org_replay.py's `--log`.

    bench/throttle_delays.py /var/tmp/dora-orgbench/limited-1/requests.log

Each scope sends its Backup calls one after another, so the next call of the same account
and Region after a `THROTTLED` line is the retry: the gap is the client's back-off. Prints
the distribution of those gaps, and the time the bucket itself would have asked for (one
token at the configured rate: 1/TPS)."""

import statistics
import sys
from collections import defaultdict


def main(path):
    by_scope = defaultdict(list)
    for line in open(path):
        t, account, region, family, verdict = line.split()
        if family == "backup":
            by_scope[(account, region)].append((float(t), verdict))
    gaps = []
    for calls in by_scope.values():
        for (t, v), (t2, _) in zip(calls, calls[1:]):
            if v == "THROTTLED":
                gaps.append(t2 - t)
    if not gaps:
        print("no throttled call")
        return
    gaps.sort()
    q = lambda p: gaps[min(len(gaps) - 1, int(p * len(gaps)))]
    print(f"{len(gaps)} throttled calls; wait before the retry: median {statistics.median(gaps):.2f} s, "
          f"p90 {q(0.9):.2f} s, max {gaps[-1]:.2f} s, total {sum(gaps):.1f} s; "
          f"waits >= 15 s: {sum(g >= 15 for g in gaps)}")


if __name__ == "__main__":
    main(sys.argv[1])

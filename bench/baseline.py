#!/usr/bin/env python3
"""Straightforward Python baseline for `dora-evidence build` (benchmarks only).

What a competent engineer would write first with the standard library: walk the inputs,
hash every file with hashlib, parse JSON reports / AWS CLI snapshots with `json` and CSV
reports with `csv`, merge jobs by id (terminal state beats non-terminal, later observation
wins, gaps filled), and write one CSV per job kind. It prints the merged counts so the
benchmark can check both programs agree.

Usage: baseline.py OUT_DIR INPUT_DIR [INPUT_DIR ...]
"""
import csv
import hashlib
import json
import os
import re
import sys
from datetime import datetime, timezone

TERMINAL = {
    "backup": {"COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL"},
    "copy": {"COMPLETED", "FAILED", "PARTIAL", "ABORTED"},
    "restore": {"COMPLETED", "FAILED", "ABORTED"},
}
ID_KEYS = {"backupjobid": "backup", "copyjobid": "copy", "restorejobid": "restore"}
FIELDS = {
    "jobstatus": "state", "state": "state", "status": "state", "statusmessage": "status_message",
    "accountid": "account_id", "region": "region", "resourcearn": "resource_arn",
    "sourceresourcearn": "resource_arn", "resourcetype": "resource_type", "creationdate": "creation_date",
    "completiondate": "completion_date", "backupsizeinbytes": "backup_size_bytes",
    "restoretestingplanarn": "restore_testing_plan_arn", "validationstatus": "validation_status",
    "isparentjob": "is_parent", "isparent": "is_parent", "reporttimeperiodend": "observed_at",
}
COLUMNS = ["job_id", "account_id", "region", "state", "resource_type", "resource_arn", "creation_date",
           "completion_date", "backup_size_bytes", "restore_testing_plan_arn", "validation_status",
           "is_parent", "status_message", "observed_at", "sources"]


def norm(key):
    return re.sub(r"[^a-z0-9]", "", key.split("[", 1)[0].lower())


def to_time(v):
    if v is None or v == "":
        return None
    if isinstance(v, (int, float)):
        return datetime.fromtimestamp(v, tz=timezone.utc)
    return datetime.fromisoformat(v.replace("Z", "+00:00"))


def flatten(obj, out):
    for k, v in obj.items():
        if isinstance(v, dict):
            flatten(v, out)
        elif not isinstance(v, list):
            out[norm(k)] = v
    return out


def observe(jobs, flat, source, snapshot_time):
    kind = next((ID_KEYS[k] for k in ID_KEYS if flat.get(k)), None)
    if kind is None:
        return
    job = {"job_id": flat[[k for k in ID_KEYS if flat.get(k)][0]]}
    for k, v in flat.items():
        f = FIELDS.get(k)
        if f and v not in (None, ""):
            job[f] = v
    if "reporttimeperiod" in flat and flat["reporttimeperiod"]:
        job["observed_at"] = flat["reporttimeperiod"].rsplit(" - ", 1)[1]
    for f in ("creation_date", "completion_date", "observed_at"):
        if f in job:
            job[f] = to_time(job[f])
    job.setdefault("observed_at", snapshot_time)
    job["state"] = str(job.get("state", "")).upper()
    job["sources"] = [source]
    jobs[kind].setdefault(job["job_id"], []).append(job)


def rank(kind, job):
    t = job.get("observed_at")
    return (job["state"] in TERMINAL[kind], t.timestamp() if t else float("-inf"))


def main():
    out, inputs = sys.argv[1], sys.argv[2:]
    jobs = {"backup": {}, "copy": {}, "restore": {}}
    artifacts = []
    for root in inputs:
        for dirpath, _, names in sorted(os.walk(root)):
            for name in sorted(names):
                path = os.path.join(dirpath, name)
                with open(path, "rb") as f:
                    data = f.read()
                digest = hashlib.sha256(data).hexdigest()
                artifacts.append((digest, len(data), path))
                m = re.search(r"collected/\d{12}/[^/]+/([^/]+)/", path)
                snap = to_time(m.group(1)) if m else None
                text = data.decode("utf-8-sig", errors="replace")
                first = text.lstrip()[:1]
                try:
                    if first in "{[" and first:
                        doc = json.loads(text)
                        items = doc if isinstance(doc, list) else next(
                            (v for k, v in doc.items() if isinstance(v, list)), [doc])
                        for i, item in enumerate(items):
                            if isinstance(item, dict):
                                observe(jobs, flatten(item, {}), f"{digest[:16]}@{i}", snap)
                    elif "," in text.split("\n", 1)[0]:
                        for i, row in enumerate(csv.DictReader(text.splitlines())):
                            observe(jobs, {norm(k): v for k, v in row.items() if k}, f"{digest[:16]}@line {i + 2}", snap)
                except (ValueError, KeyError, IndexError) as e:
                    print(f"{path}: {e}", file=sys.stderr)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "artifacts.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sha256", "size", "origin"])
        w.writerows(artifacts)
    for kind, by_id in jobs.items():
        with open(os.path.join(out, f"{kind}_jobs.csv"), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            for job_id in sorted(by_id):
                obs = sorted(by_id[job_id], key=lambda j: rank(kind, j), reverse=True)
                merged = dict(obs[0])
                for o in obs[1:]:
                    for k, v in o.items():
                        merged.setdefault(k, v)
                merged["sources"] = ";".join(sorted(s for o in obs for s in o["sources"]))
                w.writerow([merged.get(c, "") for c in COLUMNS])
        print(f"{kind}_jobs: {len(by_id)}")
    print(f"artifacts: {len(artifacts)}")


if __name__ == "__main__":
    main()

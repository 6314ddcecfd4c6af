#!/usr/bin/env python3
"""An organisation of N accounts x M Regions behind one local endpoint, for benchmarking
`dora-evidence collect --skip alarms,tags,audit-manager` (bench/collect_org.sh).

It answers what such a run calls:
  * STS (AWS Query, XML): GetCallerIdentity for the central account, and AssumeRole into
    any account `arn:aws:iam::<12 digits>:role/<name>`, returning credentials whose access
    key is `ASIA<account>` so every later call is attributed to its account;
  * Account (REST-JSON): POST /listRegions with the M Regions;
  * AWS Backup (REST-JSON): one vault (`Default`), one backup plan with one selection, a few
    backup jobs per day over the last `--days` days, one copy and one restore job per day,
    empty listings elsewhere (legal holds, restore testing, report plans and jobs,
    frameworks, scan jobs, recovery points); the vault has neither notifications nor an
    access policy (404 ResourceNotFoundException, as AWS answers). A path it does not know
    gets `{}`, a valid empty output for every Backup operation.

The Region comes from the SigV4 credential scope of the `Authorization` header, the account
from the access key. AWS-like rate limits: a token bucket per (account, Region, API family)
-- or per (account, family) with `--limit-key account` -- refilled at `--tps` tokens a second
up to `--burst`; a call finding it empty gets HTTP 400 `ThrottlingException` in Backup's
REST-JSON error shape (`x-amzn-ErrorType` header and `__type` body), STS and Account their own
protocol's throttling error. API families: `backup`, `sts` (limited per calling account,
`--sts-tps`), `account`.

`GET /__stats` returns the counts as JSON: totals, per family and per account (requests,
throttled, answered), and the time of the first and last request. `POST /__reset` zeroes
them. The port is printed on stdout once the server listens.

Python 3.11 standard library only.
"""

import argparse
import json
import re
import sys
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CENTRAL = "999900000000"
CRED_RE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
ROLE_RE = re.compile(r"arn:[^:]+:iam::(\d{12}):role/")
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
# 17 commercial Regions, as an organisation might enable them (the first M are used).
REGIONS = ["eu-central-1", "eu-west-1", "eu-south-2", "eu-north-1", "eu-west-2", "eu-west-3",
           "eu-south-1", "eu-central-2", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
           "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ca-central-1", "sa-east-1"]


class Bucket:
    """A token bucket: `rate` tokens a second, at most `burst`, starting full."""

    __slots__ = ("rate", "burst", "tokens", "at")

    def __init__(self, rate, burst):
        self.rate, self.burst, self.tokens, self.at = rate, burst, float(burst), time.monotonic()

    def take(self):
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Org:
    """The simulated organisation: answers, limits and counts."""

    def __init__(self, args):
        self.args = args
        self.regions = args.region_names or REGIONS[: args.regions]
        self.lock = threading.Lock()
        self.buckets = {}
        self.reset()
        self.now = int(time.time())
        self.log = open(args.log, "a", buffering=1) if args.log else None

    def reset(self):
        self.stats = defaultdict(lambda: {"requests": 0, "throttled": 0, "answered": 0})
        self.families = defaultdict(lambda: {"requests": 0, "throttled": 0, "answered": 0})
        self.first = self.last = None

    def allow(self, account, region, family):
        if family == "sts":
            key, rate, burst = (CENTRAL, "sts"), self.args.sts_tps, self.args.sts_tps
        else:
            where = region if self.args.limit_key == "account-region" else "*"
            key, rate, burst = (account, where, family), self.args.tps, self.args.burst
        with self.lock:
            b = self.buckets.get(key)
            if b is None:
                b = self.buckets[key] = Bucket(rate, burst)
            ok = b.take()
            now = time.time()
            if self.log:
                self.log.write(f"{now:.3f} {account} {region} {family} {'ok' if ok else 'THROTTLED'}\n")
            self.first = self.first or now
            self.last = now
            for c in (self.stats[account], self.families[family]):
                c["requests"] += 1
                c["throttled" if not ok else "answered"] += 1
        return ok

    def snapshot(self):
        with self.lock:
            total = {"requests": 0, "throttled": 0, "answered": 0}
            for c in self.stats.values():
                for k in total:
                    total[k] += c[k]
            return {
                "total": total,
                "families": dict(self.families),
                "accounts": dict(self.stats),
                "first": self.first,
                "last": self.last,
                "limits": {"tps": self.args.tps, "burst": self.args.burst, "key": self.args.limit_key,
                           "sts_tps": self.args.sts_tps},
            }

    # -- answers ---------------------------------------------------------------------------

    def backup(self, method, path, query, account, region):
        """(status, error type or None, body) for a Backup call."""
        arn = f"arn:aws:backup:{region}:{account}"
        vault_arn = f"{arn}:backup-vault:Default"
        day = 86400
        if path in ("/backup-vaults", "/backup-vaults/"):
            if query.get("ByVaultType", [""])[0] == "LOGICALLY_AIR_GAPPED_BACKUP_VAULT":
                return 200, None, {"BackupVaultList": []}
            return 200, None, {"BackupVaultList": [{
                "BackupVaultName": "Default", "BackupVaultArn": vault_arn, "VaultType": "BACKUP_VAULT",
                "VaultState": "AVAILABLE", "CreationDate": self.now - 400 * day,
                "EncryptionKeyArn": f"arn:aws:kms:{region}:{account}:key/11111111-2222-3333-4444-555555555555",
                "CreatorRequestId": "bench", "NumberOfRecoveryPoints": 3 * self.args.days, "Locked": False}]}
        if path == "/backup-vaults/Default":
            return 200, None, {
                "BackupVaultName": "Default", "BackupVaultArn": vault_arn, "VaultType": "BACKUP_VAULT",
                "VaultState": "AVAILABLE", "CreationDate": self.now - 400 * day,
                "EncryptionKeyArn": f"arn:aws:kms:{region}:{account}:key/11111111-2222-3333-4444-555555555555",
                "NumberOfRecoveryPoints": 3 * self.args.days, "Locked": False}
        if path.endswith("/notification-configuration") or path.endswith("/access-policy"):
            return 404, "ResourceNotFoundException", {
                "__type": "ResourceNotFoundException", "Message": "not found", "Code": "ResourceNotFoundException"}
        if path.endswith("/recovery-points") or path.endswith("/recovery-points/"):
            return 200, None, {"RecoveryPoints": []}
        plan_id = f"plan-{account[-6:]}"
        plan_arn = f"{arn}:backup-plan:{plan_id}"
        if path in ("/backup/plans", "/backup/plans/"):
            return 200, None, {"BackupPlansList": [{
                "BackupPlanArn": plan_arn, "BackupPlanId": plan_id, "BackupPlanName": "daily",
                "VersionId": "v1", "CreationDate": self.now - 400 * day}]}
        if path == f"/backup/plans/{plan_id}" or path == f"/backup/plans/{plan_id}/":
            return 200, None, {
                "BackupPlanArn": plan_arn, "BackupPlanId": plan_id, "VersionId": "v1",
                "CreationDate": self.now - 400 * day,
                "BackupPlan": {"BackupPlanName": "daily", "Rules": [{
                    "RuleName": "daily", "TargetBackupVaultName": "Default",
                    "ScheduleExpression": "cron(0 5 ? * * *)", "StartWindowMinutes": 60,
                    "CompletionWindowMinutes": 180, "Lifecycle": {"DeleteAfterDays": 35},
                    "RuleId": "rule-1"}]}}
        if path in (f"/backup/plans/{plan_id}/selections", f"/backup/plans/{plan_id}/selections/"):
            return 200, None, {"BackupSelectionsList": [{
                "SelectionId": "sel-1", "SelectionName": "tagged", "BackupPlanId": plan_id,
                "IamRoleArn": f"arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole",
                "CreationDate": self.now - 400 * day}]}
        if path == f"/backup/plans/{plan_id}/selections/sel-1":
            return 200, None, {
                "SelectionId": "sel-1", "BackupPlanId": plan_id, "CreationDate": self.now - 400 * day,
                "BackupSelection": {"SelectionName": "tagged", "IamRoleArn":
                                    f"arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole",
                                    "ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "backup",
                                                    "ConditionValue": "daily"}]}}
        if path in ("/backup-jobs", "/backup-jobs/"):
            return 200, None, {"BackupJobs": self.jobs(account, region, "backup", vault_arn, plan_arn)}
        if path in ("/copy-jobs", "/copy-jobs/"):
            return 200, None, {"CopyJobs": self.jobs(account, region, "copy", vault_arn, plan_arn)}
        if path in ("/restore-jobs", "/restore-jobs/"):
            return 200, None, {"RestoreJobs": self.jobs(account, region, "restore", vault_arn, plan_arn)}
        empty = {"/legal-holds": "LegalHolds", "/restore-testing/plans": "RestoreTestingPlans",
                 "/resources": "Results", "/audit/report-plans": "ReportPlans",
                 "/audit/report-jobs": "ReportJobs", "/audit/frameworks": "Frameworks",
                 "/scan/jobs": "ScanJobs"}
        key = empty.get(path.rstrip("/"))
        return 200, None, ({key: []} if key else {})

    def jobs(self, account, region, kind, vault_arn, plan_arn):
        """`--jobs-per-day` backup jobs (one copy and one restore job) a day, all final."""
        out = []
        per_day = self.args.jobs_per_day if kind == "backup" else 1
        for d in range(self.args.days):
            for j in range(per_day):
                start = self.now - (d + 1) * 86400 + j * 600
                jid = f"{kind[0]}{account[-6:]}{region[-2:]}{d:02d}{j:02d}".upper().ljust(36, "0")
                res = f"arn:aws:ec2:{region}:{account}:volume/vol-{account[-8:]}{j:04d}"
                rp = f"arn:aws:ec2:{region}::snapshot/snap-{jid[:17].lower()}"
                if kind == "backup":
                    out.append({
                        "AccountId": account, "BackupJobId": jid, "BackupVaultName": "Default",
                        "BackupVaultArn": vault_arn, "RecoveryPointArn": rp, "ResourceArn": res,
                        "CreationDate": start, "CompletionDate": start + 900, "State": "COMPLETED",
                        "PercentDone": "100.0", "BackupSizeInBytes": 8589934592,
                        "IamRoleArn": f"arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole",
                        "CreatedBy": {"BackupPlanId": plan_arn.rsplit(":", 1)[1], "BackupPlanArn": plan_arn,
                                      "BackupPlanVersion": "v1", "BackupRuleId": "rule-1"},
                        "ResourceType": "EBS", "StartBy": start + 3600, "BackupType": "",
                        "IsParent": False, "ResourceName": f"data-{j}", "InitiationDate": start})
                elif kind == "copy":
                    out.append({
                        "AccountId": account, "CopyJobId": jid, "SourceBackupVaultArn": vault_arn,
                        "SourceRecoveryPointArn": rp, "DestinationBackupVaultArn": vault_arn,
                        "DestinationRecoveryPointArn": rp + "-copy", "ResourceArn": res,
                        "CreationDate": start + 1000, "CompletionDate": start + 1500, "State": "COMPLETED",
                        "BackupSizeInBytes": 8589934592, "ResourceType": "EBS", "IsParent": False})
                else:
                    out.append({
                        "AccountId": account, "RestoreJobId": jid, "RecoveryPointArn": rp,
                        "CreationDate": start + 2000, "CompletionDate": start + 2600, "Status": "COMPLETED",
                        "PercentDone": "100.00%", "BackupSizeInBytes": 8589934592,
                        "CreatedResourceArn": res + "-restored", "ResourceType": "EBS"})
        return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle + delayed ACK add
    # ~40 ms to every answer on keep-alive connections.
    disable_nagle_algorithm = True
    org: Org = None  # set in main

    def log_message(self, *a):  # quiet
        pass

    def send(self, status, body, ctype="application/json", error_type=None):
        data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        url = urlsplit(self.path)
        if url.path == "/__stats":
            return self.send(200, self.org.snapshot())
        if url.path == "/__reset":
            with self.org.lock:
                self.org.reset()
            return self.send(200, {})
        m = CRED_RE.search(self.headers.get("Authorization", ""))
        if not m:
            return self.send(403, {"__type": "MissingAuthenticationTokenException", "message": "unsigned"},
                             error_type="MissingAuthenticationTokenException")
        key, region, service = m.groups()
        account = key[4:] if key.startswith("ASIA") and key[4:].isdigit() else CENTRAL
        if service == "sts":
            return self.sts(body, account, region)
        if service == "account":
            if not self.org.allow(account, region, "account"):
                return self.send(429, {"__type": "TooManyRequestsException", "message": "Rate exceeded"},
                                 error_type="TooManyRequestsException")
            return self.send(200, {"Regions": [{"RegionName": r, "RegionOptStatus": "ENABLED_BY_DEFAULT"}
                                               for r in self.org.regions]})
        if not self.org.allow(account, region, "backup"):
            # AWS Backup's REST-JSON throttling answer.
            return self.send(400, {"__type": "ThrottlingException", "Message": "Rate exceeded",
                                   "Code": "ThrottlingException", "Type": "User"},
                             error_type="ThrottlingException")
        status, err, doc = self.org.backup(method, url.path, parse_qs(url.query), account, region)
        return self.send(status, doc, error_type=err)

    def sts(self, body, account, region):
        form = parse_qs(body)
        action = form.get("Action", [""])[0]
        if not self.org.allow(account, region, "sts"):
            xml = (f'<ErrorResponse xmlns="{STS_NS}"><Error><Type>Sender</Type><Code>Throttling</Code>'
                   f"<Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>")
            return self.send(400, xml.encode(), "text/xml")
        if action == "GetCallerIdentity":
            xml = (f'<GetCallerIdentityResponse xmlns="{STS_NS}"><GetCallerIdentityResult>'
                   f"<Arn>arn:aws:sts::{account}:assumed-role/Runner/bench</Arn><UserId>AROAEXAMPLE:bench</UserId>"
                   f"<Account>{account}</Account></GetCallerIdentityResult>"
                   f"<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>")
            return self.send(200, xml.encode(), "text/xml")
        if action == "AssumeRole":
            arn = form.get("RoleArn", [""])[0]
            m = ROLE_RE.match(arn)
            if not m:
                xml = (f'<ErrorResponse xmlns="{STS_NS}"><Error><Type>Sender</Type><Code>ValidationError</Code>'
                       f"<Message>bad role {arn}</Message></Error><RequestId>1</RequestId></ErrorResponse>")
                return self.send(400, xml.encode(), "text/xml")
            target = m.group(1)
            exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
            xml = (f'<AssumeRoleResponse xmlns="{STS_NS}"><AssumeRoleResult><Credentials>'
                   f"<AccessKeyId>ASIA{target}</AccessKeyId><SecretAccessKey>bench-secret</SecretAccessKey>"
                   f"<SessionToken>bench-token-{target}</SessionToken><Expiration>{exp}</Expiration></Credentials>"
                   f"<AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:dora-evidence-collect</AssumedRoleId>"
                   f"<Arn>arn:aws:sts::{target}:assumed-role/R/dora-evidence-collect</Arn></AssumedRoleUser>"
                   f"</AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
                   f"</AssumeRoleResponse>")
            return self.send(200, xml.encode(), "text/xml")
        xml = (f'<ErrorResponse xmlns="{STS_NS}"><Error><Type>Sender</Type><Code>InvalidAction</Code>'
               f"<Message>{action}</Message></Error><RequestId>1</RequestId></ErrorResponse>")
        return self.send(400, xml.encode(), "text/xml")

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--regions", type=int, default=4, help="M Regions per account (the first M of REGIONS)")
    p.add_argument("--region-names", type=lambda s: s.split(","), default=None)
    p.add_argument("--tps", type=float, default=5.0, help="Backup calls a second per bucket")
    p.add_argument("--burst", type=float, default=5.0, help="bucket size")
    p.add_argument("--limit-key", choices=["account-region", "account"], default="account-region")
    p.add_argument("--sts-tps", type=float, default=100.0, help="STS calls a second of the calling account")
    p.add_argument("--log", help="append one line per limited call: time, account, Region, family, verdict")
    p.add_argument("--days", type=int, default=3, help="days of jobs the listings return")
    p.add_argument("--jobs-per-day", type=int, default=3)
    args = p.parse_args()
    Handler.org = Org(args)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())

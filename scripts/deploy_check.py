#!/usr/bin/env python3
"""Checks the CloudFormation templates in deploy/ (called by tests/integration/deploy.rs).

1. `cfn-lint` on both templates: any finding (error, warning or informational) fails.
2. IAM, statically: no `*` action (nor `service:*`, nor NotAction) in any inline policy;
   every S3 permission is on the store prefix (or, read-only, the run's account list), the
   bucket listing only with an `s3:prefix` condition on the store prefix; `sts:AssumeRole`
   only with `aws:ResourceOrgID`; the member role trusted only by the task role (ARN
   condition) of the organization (`aws:PrincipalOrgID`). The read-only actions of the
   member role and of the task role are exactly README's "Least-privilege IAM policy".
3. Against moto (`DORA_TEST_MOTO_ENDPOINT`, unless --static-only): creates both stacks with
   moto's CloudFormation and reports what it created; the state machine is created directly
   with `stepfunctions.create_state_machine` (the template's definition with its
   DefinitionSubstitutions applied) if moto's CloudFormation did not create it; then reads it
   back and checks the definition: it parses, has a Distributed Map whose item runs
   `ecs:runTask.sync` with `collect … --shard`, and retries ECS throttling.

Prints `ok: …` lines and exits 0, or prints `FAIL: …` lines and exits 1.
Usage: deploy_check.py [--deploy-dir DIR] [--readme FILE] [--static-only]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import uuid

try:
    from cfnlint.decode import decode
except ImportError:
    sys.exit("FAIL: the python3 module cfnlint is missing: run scripts/test.sh or `python3 -m pip install cfn-lint==1.51.0`")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MEMBER = "collector-member-role.yaml"
CENTRAL = "collect-stepfunctions.yaml"

failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL: {msg}")


def ok(msg, since=None):
    """Prints `ok: msg`, unless a failure was recorded after `since` (a len(failures))."""
    if since is None or len(failures) == since:
        print(f"ok: {msg}")


def as_list(v):
    return v if isinstance(v, list) else [v]


def text(v):
    """A policy value as text: `Fn::Sub` strings as written, other intrinsics as JSON."""
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and list(v) == ["Fn::Sub"] and isinstance(v["Fn::Sub"], str):
        return v["Fn::Sub"]
    return json.dumps(v, sort_keys=True)


def load(path):
    template, matches = decode(path)
    if matches:
        fail(f"{path}: cannot be parsed: {matches}")
        sys.exit(1)
    return template


# ---------------------------------------------------------------- 1. cfn-lint


# The console script `cfn-lint` runs this; called through this interpreter, so the cfn-lint
# checked is the one pip installed for it (scripts/test.sh).
CFN_LINT = [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.argv[0] = 'cfn-lint'; sys.exit(main())"]


def run_cfn_lint(paths):
    version = subprocess.run([*CFN_LINT, "--version"], capture_output=True, text=True)
    print(f"cfn-lint: {(version.stdout or version.stderr).strip()}")
    for path in paths:
        r = subprocess.run([*CFN_LINT, "--format", "parseable", path], capture_output=True, text=True)
        findings = (r.stdout + r.stderr).strip()
        if r.returncode != 0 or findings:
            fail(f"cfn-lint {os.path.basename(path)} (exit {r.returncode}):\n{findings}")
        else:
            ok(f"cfn-lint {os.path.basename(path)}: no errors, no warnings")


# ---------------------------------------------------------------- 2. IAM


def readme_actions(readme):
    """The actions of the first JSON policy under "### Least-privilege IAM policy"."""
    with open(readme, encoding="utf-8") as f:
        body = f.read()
    at = body.index("### Least-privilege IAM policy (read-only)")
    block = re.search(r"```json\n(.*?)\n```", body[at:], re.S)
    policy = json.loads(block.group(1))
    return {a for s in policy["Statement"] for a in as_list(s["Action"])}


def policies(template):
    """(resource, policy name, statements) of every inline policy of every IAM role."""
    for name, res in template["Resources"].items():
        if res["Type"] != "AWS::IAM::Role":
            continue
        for p in res["Properties"].get("Policies", []):
            statements = []
            for s in as_list(p["PolicyDocument"]["Statement"]):
                # `!If [cond, statement, AWS::NoValue]`: check the statement.
                if isinstance(s, dict) and "Fn::If" in s:
                    s = s["Fn::If"][1]
                statements.append(s)
            yield name, p["PolicyName"], statements


def check_no_wildcard_actions(label, template):
    for res, pol, statements in policies(template):
        for s in statements:
            if "NotAction" in s:
                fail(f"{label} {res}/{pol}: NotAction grants everything else")
            for a in as_list(s.get("Action", [])):
                a = text(a)
                if a == "*" or a.endswith(":*") or "*" in a:
                    fail(f"{label} {res}/{pol}: wildcard action {a!r}")


def check_s3_and_sts(label, template, store, runs):
    bucket_arn = "arn:${AWS::Partition}:s3:::${StoreBucket}"
    allowed_objects = {
        f"{bucket_arn}/{store}/*": {"s3:GetObject", "s3:PutObject"},
        f"{bucket_arn}/{runs}/*": {"s3:GetObject", "s3:PutObject"},
    }
    since = len(failures)
    for res, pol, statements in policies(template):
        for s in statements:
            actions = {text(a) for a in as_list(s.get("Action", []))}
            resources = [text(r) for r in as_list(s.get("Resource", []))]
            s3 = {a for a in actions if a.startswith("s3:")}
            if s3 == {"s3:ListBucket"}:
                prefixes = s.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
                if resources != [bucket_arn] or [text(p) for p in as_list(prefixes or [])] != [f"{store}/*"]:
                    fail(f"{label} {res}/{pol}: s3:ListBucket not limited to {store}/* ({resources}, {prefixes})")
            elif s3:
                for r in resources:
                    if r not in allowed_objects or not s3 <= allowed_objects[r]:
                        fail(f"{label} {res}/{pol}: {sorted(s3)} on {r}: outside the store prefix")
            if "sts:AssumeRole" in actions:
                org = s.get("Condition", {}).get("StringEquals", {}).get("aws:ResourceOrgID")
                if not org or not all(r.startswith("arn:${AWS::Partition}:iam::*:role/") for r in resources):
                    fail(f"{label} {res}/{pol}: sts:AssumeRole without aws:ResourceOrgID or beyond a role name")
    ok(f"{label}: S3 only on the store prefix; AssumeRole only within the organization", since)


def read_actions(statements):
    return {text(a) for s in statements for a in as_list(s["Action"])}


def check_iam(deploy_dir, readme):
    member = load(os.path.join(deploy_dir, MEMBER))
    central = load(os.path.join(deploy_dir, CENTRAL))
    want = readme_actions(readme)
    for label, template in ((MEMBER, member), (CENTRAL, central)):
        since = len(failures)
        check_no_wildcard_actions(label, template)
        ok(f"{label}: no wildcard action, no NotAction", since)
    store = "${StorePrefix}"
    runs = "${RunsPrefix}"
    check_s3_and_sts(MEMBER, member, store, runs)
    check_s3_and_sts(CENTRAL, central, store, runs)

    since = len(failures)
    role = member["Resources"]["CollectorRole"]["Properties"]
    got = {n: read_actions(st) for r, n, st in policies(member)}
    if got.get("dora-evidence-read") != want:
        fail(f"{MEMBER}: actions differ from README: missing {sorted(want - got.get('dora-evidence-read', set()))}, "
             f"extra {sorted(got.get('dora-evidence-read', set()) - want)}")
    if set(got) != {"dora-evidence-read"}:
        fail(f"{MEMBER}: policies other than dora-evidence-read: {sorted(got)}")
    task = {n: read_actions(st) for r, n, st in policies(central) if r == "TaskRole"}
    if task.get("dora-evidence-read") != want:
        fail(f"{CENTRAL} TaskRole: read actions differ from README: missing {sorted(want - task.get('dora-evidence-read', set()))}, "
             f"extra {sorted(task.get('dora-evidence-read', set()) - want)}")
    ok(f"both templates grant README's {len(want)} read-only actions, no more, no less", since)

    since = len(failures)
    trust = as_list(role["AssumeRolePolicyDocument"]["Statement"])
    for s in trust:
        cond = s.get("Condition", {})
        arn = text(cond.get("ArnEquals", {}).get("aws:PrincipalArn", ""))
        org = cond.get("StringEquals", {}).get("aws:PrincipalOrgID")
        if s.get("Action") != "sts:AssumeRole" or not arn.endswith(":role/${CollectorTaskRoleName}") or not org:
            fail(f"{MEMBER}: trust statement not limited to the task role in the organization: {json.dumps(s)}")
    ok(f"{MEMBER}: trusted only by the central task role (aws:PrincipalArn) within the organization (aws:PrincipalOrgID)", since)
    return member, central


# ---------------------------------------------------------------- 3. moto


def client(service):
    import boto3

    return boto3.client(
        service,
        endpoint_url=os.environ["DORA_TEST_MOTO_ENDPOINT"],
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def create_stack(name, body, params):
    cfn = client("cloudformation")
    cfn.create_stack(
        StackName=name,
        TemplateBody=body,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    # moto lists a resource type it cannot create as a row without type or id: left out.
    created = [r for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"] if r["ResourceType"]]
    kinds = sorted(f"{r['ResourceType']}" for r in created)
    print(f"moto {name}: {stack['StackStatus']}; created {len(created)}: {', '.join(kinds)}")
    if stack["StackStatus"] != "CREATE_COMPLETE":
        fail(f"moto {name}: {stack['StackStatus']} {stack.get('StackStatusReason', '')}")
    return {r["LogicalResourceId"]: r for r in created}


def substitute(definition, subs):
    body = json.dumps(definition)
    for k, v in subs.items():
        body = body.replace("${" + k + "}", v)
    return body


def check_definition(body):
    since = len(failures)
    leftover = re.findall(r"\$\{[A-Za-z]+\}", body)
    if leftover:
        fail(f"state machine: substitutions left over: {sorted(set(leftover))}")
    d = json.loads(body)
    maps = [(n, s) for n, s in d["States"].items() if s["Type"] == "Map"]
    dist = [(n, s) for n, s in maps if s.get("ItemProcessor", {}).get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED"]
    if len(dist) != 1:
        fail(f"state machine: expected one Distributed Map, found {[n for n, _ in maps]}")
        return
    name, m = dist[0]
    if not m.get("MaxConcurrencyPath") and "MaxConcurrency" not in m:
        fail("state machine: the Distributed Map has no MaxConcurrency")
    if "ToleratedFailurePercentagePath" not in m and "ToleratedFailurePercentage" not in m:
        fail("state machine: the Distributed Map has no tolerated-failure setting")
    tasks = [s for s in m["ItemProcessor"]["States"].values() if s.get("Resource") == "arn:aws:states:::ecs:runTask.sync"]
    if len(tasks) != 1:
        fail("state machine: the Distributed Map's item has no single ecs:runTask.sync task")
        return
    task = tasks[0]
    command = task["Arguments"]["Overrides"]["ContainerOverrides"][0]["Command"]
    for flag in ("'collect'", "'--shard'", "'--run-time'", "'--accounts-from'", "'--out'"):
        if flag not in command:
            fail(f"state machine: the task's command lacks {flag}: {command}")
    retried = {e for r in task.get("Retry", []) for e in r["ErrorEquals"]}
    if not {"ECS.AmazonECSException", "ECS.ThrottlingException"} <= retried:
        fail(f"state machine: the task does not retry ECS throttling: {sorted(retried)}")
    if not any(r.get("BackoffRate", 1) > 1 for r in task.get("Retry", [])):
        fail("state machine: the task's retries have no back-off")
    fails = [n for n, s in d["States"].items() if s["Type"] == "Fail"]
    if not fails:
        fail("state machine: no Fail state (the alarm counts failed executions)")
    ok(since=since, msg=f"state machine: definition parses; Distributed Map {name!r} runs ecs:runTask.sync with `collect … --shard`; "
       f"ECS retries with back-off; failure path {fails}")


def create_alarms_and_schedule(central, created, machine_arn, iam):
    """What moto's CloudFormation skips, created from the template's properties with boto3
    (botocore validates their shape; moto stores them)."""
    res = central["Resources"]
    cw = client("cloudwatch")
    for name in ("RunFailedAlarm", "NoRunAlarm"):
        if name in created:
            continue
        props = json.loads(json.dumps(res[name]["Properties"]).replace('{"Ref": "StateMachine"}', json.dumps(machine_arn)))
        props.pop("AlarmActions")
        props["AlarmName"] = f"{name}-{uuid.uuid4().hex[:6]}"
        cw.put_metric_alarm(**props)
        alarm = cw.describe_alarms(AlarmNames=[props["AlarmName"]])["MetricAlarms"][0]
        metrics = [m.get("MetricStat", {}).get("Metric", {}).get("MetricName") for m in alarm.get("Metrics", [])]
        ok(f"moto: alarm {name} created with put_metric_alarm ({alarm.get('MetricName') or ', '.join(filter(None, metrics))})")
    if "Schedule" not in created:
        props = res["Schedule"]["Properties"]
        target = dict(props["Target"])
        target["Arn"] = machine_arn
        target["RoleArn"] = iam.get_role(RoleName=created["SchedulerRole"]["PhysicalResourceId"])["Role"]["Arn"]
        sched = client("scheduler")
        name = f"dora-evidence-collect-{uuid.uuid4().hex[:6]}"
        sched.create_schedule(
            Name=name,
            ScheduleExpression=central["Parameters"]["ScheduleExpression"]["Default"],
            ScheduleExpressionTimezone=central["Parameters"]["ScheduleTimezone"]["Default"],
            FlexibleTimeWindow=props["FlexibleTimeWindow"],
            Target=target,
        )
        got = sched.get_schedule(Name=name)
        ok(f"moto: schedule created with scheduler.create_schedule ({got['ScheduleExpression']} {got.get('ScheduleExpressionTimezone')})")


def check_moto(deploy_dir, central):
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName=f"dora-{uuid.uuid4().hex[:8]}", Description="t", VpcId=vpc)["GroupId"]
    bucket = f"dora-deploy-check-{uuid.uuid4().hex[:8]}"
    client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    suffix = uuid.uuid4().hex[:6]

    with open(os.path.join(deploy_dir, MEMBER), encoding="utf-8") as f:
        create_stack(f"dora-member-{suffix}", f.read(), {
            "CentralAccountId": "123456789012",
            "OrganizationId": "o-abcdefghij",
            "CollectorRoleName": f"DoraEvidenceCollector{suffix}",
        })
    iam = client("iam")
    role = iam.get_role(RoleName=f"DoraEvidenceCollector{suffix}")["Role"]
    ok(f"moto: member role {role['Arn']} exists")

    machine_name = f"dora-evidence-collect-{suffix}"
    params = {
        "ImageUri": "123456789012.dkr.ecr.eu-central-1.amazonaws.com/dora-evidence:test",
        "Subnets": subnet,
        "SecurityGroups": sg,
        "OrganizationId": "o-abcdefghij",
        "StoreBucket": bucket,
        "TaskRoleName": f"dora-evidence-collect-task-{suffix}",
        "StateMachineName": machine_name,
        "Shards": "40",
        "MaxConcurrency": "20",
    }
    with open(os.path.join(deploy_dir, CENTRAL), encoding="utf-8") as f:
        created = create_stack(f"dora-central-{suffix}", f.read(), params)
    declared = {n: r["Type"] for n, r in central["Resources"].items() if "Condition" not in r}
    missing = sorted(f"{n} ({t})" for n, t in declared.items() if n not in created)
    print(f"moto: central resources moto's CloudFormation did not create: {', '.join(missing) or 'none'}")

    sfn = client("stepfunctions")
    arn = created["StateMachine"]["PhysicalResourceId"] if "StateMachine" in created else None
    if arn is not None and not sfn.describe_state_machine(stateMachineArn=arn)["definition"].strip():
        print("moto: its CloudFormation created the state machine with an empty definition (it reads DefinitionString, "
              "not Definition + DefinitionSubstitutions)")
        arn = None
    if arn is None:
        # Created here from the template's own definition, with what CloudFormation would
        # substitute (parameter values, and the ARNs of the resources moto made).
        props = central["Resources"]["StateMachine"]["Properties"]
        subs = {
            "Cluster": created["Cluster"]["PhysicalResourceId"] if "Cluster" in created else "arn:aws:ecs:eu-central-1:123456789012:cluster/x",
            "TaskDefinition": created["TaskDefinition"]["PhysicalResourceId"] if "TaskDefinition" in created else "x",
            "Subnets": subnet,
            "SecurityGroups": sg,
            "AssignPublicIp": "DISABLED",
            "StoreUrl": f"s3://{bucket}/store",
            "StoreBucket": bucket,
            "RunsPrefix": "dora-evidence-runs",
            "Regions": "all",
            "CollectorRoleName": "DoraEvidenceCollector",
            "OrganizationJobs": "true",
            "Shards": params["Shards"],
            "MaxConcurrency": params["MaxConcurrency"],
            "TaskConcurrency": "8",
            "ApiMaxAttempts": "10",
            "TaskAttempts": "3",
            "ToleratedFailurePercentage": "100",
        }
        if set(subs) != set(props["DefinitionSubstitutions"]):
            fail(f"deploy_check.py's substitutions differ from the template's: {sorted(set(subs) ^ set(props['DefinitionSubstitutions']))}")
        role_arn = iam.get_role(RoleName=created["StateMachineRole"]["PhysicalResourceId"])["Role"]["Arn"]
        arn = sfn.create_state_machine(
            name=f"{machine_name}-direct",
            definition=substitute(props["Definition"], subs),
            roleArn=role_arn,
            type="STANDARD",
        )["stateMachineArn"]
        print("moto: state machine created with stepfunctions.create_state_machine from the template's definition")
    create_alarms_and_schedule(central, created, arn, iam)
    described = sfn.describe_state_machine(stateMachineArn=arn)
    ok(f"moto: state machine {described['stateMachineArn']} exists ({described['type']})")
    check_definition(described["definition"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--deploy-dir", default=os.path.join(ROOT, "deploy"))
    ap.add_argument("--readme", default=os.path.join(ROOT, "README.md"))
    ap.add_argument("--static-only", action="store_true", help="cfn-lint and the IAM checks, no moto")
    args = ap.parse_args()
    paths = [os.path.join(args.deploy_dir, n) for n in (MEMBER, CENTRAL)]
    run_cfn_lint(paths)
    _, central = check_iam(args.deploy_dir, args.readme)
    if not args.static_only:
        if not os.environ.get("DORA_TEST_MOTO_ENDPOINT"):
            fail("DORA_TEST_MOTO_ENDPOINT is not set (scripts/test.sh starts moto)")
        else:
            check_moto(args.deploy_dir, central)
    if failures:
        print(f"deploy_check: {len(failures)} failure(s)")
        sys.exit(1)
    print("deploy_check: all checks passed")


if __name__ == "__main__":
    main()

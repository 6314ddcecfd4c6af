//! `collect --shard I/N` against the replay server: four shards run at once, fed their
//! accounts by `--accounts-from`, write together exactly the files one run writes, byte for
//! byte; each says how many of the run's scopes were its own.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use super::collect::{ACCOUNT, aws_env, files_under, handler};
use super::replay::Replay;
use super::util::{bin, stderr, stdout};

/// `collect` of three accounts × two Regions into `store`, stamped `run_time`, with `extra`.
fn collect_cmd(replay: &Replay, store: &Path, accounts: &[&str], run_time: &str, extra: &[&str]) -> Command {
    let mut cmd = bin();
    cmd.args(["collect", "--out", store.to_str().unwrap(), "--regions", "eu-west-1,eu-central-1"]);
    cmd.args(accounts).args(["--assume-role-name", "DoraEvidenceCollector", "--run-time", run_time]);
    // Tags come from moto, which other tests fill at the same time: left out so both runs
    // see the same answers.
    cmd.args(["--skip", "tags"]).args(extra);
    aws_env(&mut cmd, &replay.url);
    cmd.env("AWS_ENDPOINT_URL_EVENTBRIDGE", &replay.url).env("AWS_ENDPOINT_URL_SNS", &replay.url);
    cmd
}

#[test]
fn four_shards_write_exactly_what_one_run_writes() {
    // Accounts entered by sts:AssumeRole on moto (no organization: other tests list its members).
    let members = ["210987654321", "345678901234"];
    let replay = Replay::start(handler(Arc::new(AtomicUsize::new(0))));
    let tmp = tempfile::tempdir().unwrap();
    let run_time = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let ids = format!("{ACCOUNT},{},{}", members[0], members[1]);

    let single = tmp.path().join("single");
    let o = collect_cmd(&replay, &single, &["--accounts", &ids], &run_time, &[]).output().unwrap();
    assert!(o.status.code() == Some(1), "eu-central-1 refuses calls in this replay: {}{}", stdout(&o), stderr(&o));

    // Shards 1 and 3 read the list from a file, 2 and 4 from S3 (moto), as `aws organizations
    // list-accounts` prints it.
    let list = tmp.path().join("accounts.txt");
    std::fs::write(&list, format!("# the organization\n{}\n", ids.replace(',', "\n"))).unwrap();
    let json = format!(
        r#"{{"Accounts":[{}]}}"#,
        ids.split(',').map(|id| format!(r#"{{"Id":"{id}","State":"ACTIVE"}}"#)).collect::<Vec<_>>().join(",")
    );
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let s3 = super::util::moto_s3(&super::util::moto_endpoint());
        super::util::create_bucket(&s3, "shard-accounts").await;
        super::util::put_object(&s3, "shard-accounts", "org/accounts.json", json).await;
    });
    let sharded = tmp.path().join("sharded");
    let children: Vec<_> = (1..=4)
        .map(|i| {
            let shard = format!("{i}/4");
            let from = [
                "--accounts-from",
                if i % 2 == 1 { list.to_str().unwrap() } else { "s3://shard-accounts/org/accounts.json" },
            ];
            let mut cmd = collect_cmd(&replay, &sharded, &from, &run_time, &["--shard", &shard]);
            cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap()
        })
        .collect();
    let mut own = 0;
    for (i, child) in children.into_iter().enumerate() {
        let o = child.wait_with_output().unwrap();
        let so = stdout(&o);
        let line = so.lines().find(|l| l.contains(&format!("shard {}/4: ", i + 1))).unwrap_or_else(|| panic!("{so}"));
        assert!(line.ends_with("of the run's 6 account × Region scopes"), "{line}");
        own += line.split_whitespace().nth(2).unwrap().parse::<usize>().unwrap();
        assert!(matches!(o.status.code(), Some(0 | 1)), "{so}{}", stderr(&o));
    }
    assert_eq!(own, 6, "every scope in exactly one shard");

    let (a, b) = (files_under(&single), files_under(&sharded));
    assert!(a.len() > 20, "{a:?}");
    assert_eq!(a, b, "the same files");
    for f in &a {
        assert_eq!(std::fs::read(single.join(f)).unwrap(), std::fs::read(sharded.join(f)).unwrap(), "{f}");
    }
    assert!(a.iter().any(|f| f.contains(members[1])), "member accounts collected: {a:?}");
}

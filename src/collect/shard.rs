//! Splitting one collection run over many tasks (`collect --shard I/N`), and the account
//! lists that feed them (`--accounts-from`).
//!
//! A scope (account × Region) belongs to the shard its SHA-256 picks (`account/region`, first
//! eight bytes as a big-endian number, modulo N): the split depends on the scope alone, not
//! on its position in a list, so adding an account moves no other scope, and every task of a
//! run agrees on it without talking to the others. Together the N shards collect every scope
//! exactly once; given the same `--run-time` they write exactly the files one run writes (the
//! store needs no coordination: snapshots are never overwritten).

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// Shard `index` of `count` (1-based, as `--shard 2/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, 1 ..= `count`.
    pub index: u32,
    /// How many shards the run is split into.
    pub count: u32,
}

impl Shard {
    /// Whether the scope `account` × `region` is this shard's.
    pub fn holds(&self, account: &str, region: &str) -> bool {
        let digest = Sha256::digest(format!("{account}/{region}").as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("--shard {s:?}: expected I/N with 1 <= I <= N, e.g. 2/8");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The account ids in an `--accounts-from` file: one per line (blank lines and `#` comments
/// ignored), or the JSON `aws organizations list-accounts` prints (active accounts only).
/// Sorted, without duplicates; an entry that is no 12-digit id is an error naming its line.
pub fn parse_account_list(text: &str) -> Result<Vec<String>, String> {
    let mut ids = if text.trim_start().starts_with('{') { from_list_accounts(text)? } else { from_lines(text)? };
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Err("no account id in it".into());
    }
    Ok(ids)
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn from_lines(text: &str) -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let id = line.split('#').next().unwrap_or("").trim();
        if id.is_empty() {
            continue;
        }
        if !is_account_id(id) {
            return Err(format!("line {}: {id:?} is not a 12-digit account id", i + 1));
        }
        ids.push(id.to_owned());
    }
    Ok(ids)
}

fn from_list_accounts(text: &str) -> Result<Vec<String>, String> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("line {}: {e}", e.line()))?;
    let accounts = doc
        .get("Accounts")
        .and_then(|a| a.as_array())
        .ok_or("no \"Accounts\" array (the shape of `aws organizations list-accounts`)")?;
    let mut ids = Vec::new();
    for (i, a) in accounts.iter().enumerate() {
        let state = a.get("State").or_else(|| a.get("Status")).and_then(|s| s.as_str()).unwrap_or("ACTIVE");
        if state != "ACTIVE" {
            continue;
        }
        match a.get("Id").and_then(|v| v.as_str()) {
            Some(id) if is_account_id(id) => ids.push(id.to_owned()),
            other => return Err(format!("/Accounts/{i}/Id: {other:?} is not a 12-digit account id")),
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(accounts: u64) -> Vec<(String, String)> {
        let regions = ["eu-central-1", "eu-west-1", "us-east-1"];
        (0..accounts)
            .flat_map(|a| regions.iter().map(move |r| (format!("{:012}", 100_000_000_000 + a), (*r).to_owned())))
            .collect()
    }

    #[test]
    fn every_scope_is_in_exactly_one_shard_and_the_split_is_balanced() {
        let all = scopes(2_000);
        for count in [1u32, 2, 4, 7, 64] {
            let mut sizes = vec![0usize; count as usize];
            for (a, r) in &all {
                let owners: Vec<u32> = (1..=count).filter(|&index| Shard { index, count }.holds(a, r)).collect();
                assert_eq!(owners.len(), 1, "{a}/{r} in {owners:?} of {count}");
                sizes[owners[0] as usize - 1] += 1;
            }
            let even = all.len() / count as usize;
            assert!(sizes.iter().all(|&s| s.abs_diff(even) <= even / 5 + 20), "{count}: {sizes:?}");
        }
    }

    #[test]
    fn adding_accounts_moves_no_existing_scope() {
        let count = 8;
        let owner = |a: &str, r: &str| (1..=count).find(|&index| Shard { index, count }.holds(a, r));
        let before: Vec<_> = scopes(100).iter().map(|(a, r)| owner(a, r)).collect();
        let after: Vec<_> = scopes(150).iter().take(300).map(|(a, r)| owner(a, r)).collect();
        assert_eq!(before, after);
    }

    #[test]
    fn shard_syntax() {
        assert_eq!("2/8".parse::<Shard>(), Ok(Shard { index: 2, count: 8 }));
        assert_eq!("1/1".parse::<Shard>().map(|s| s.to_string()), Ok("1/1".to_owned()));
        for bad in ["0/4", "5/4", "1/0", "1", "a/b", "1/4/2", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn account_lists_as_lines_or_list_accounts_json() {
        let lines = "# prod\n111122223333\n\n444455556666  # payments\n111122223333\n";
        assert_eq!(parse_account_list(lines).unwrap(), ["111122223333", "444455556666"]);
        assert_eq!(
            parse_account_list("111122223333\n12345\n").unwrap_err(),
            "line 2: \"12345\" is not a 12-digit account id"
        );
        let json = r#"{"Accounts":[{"Id":"444455556666","State":"ACTIVE"},{"Id":"777788889999","Status":"SUSPENDED"},{"Id":"111122223333"}]}"#;
        assert_eq!(parse_account_list(json).unwrap(), ["111122223333", "444455556666"]);
        assert!(parse_account_list(r#"{"Accounts":[{"Id":"x"}]}"#).unwrap_err().contains("/Accounts/0/Id"));
        assert!(parse_account_list("# nothing\n").is_err());
    }
}

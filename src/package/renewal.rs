//! `timestamps/renewal-NNNN.json` as a type: one archive-timestamp renewal.
//!
//! A renewal lists every file of the package at the time it was made — the manifest, its
//! signature, the report, `SHA256SUMS`, every artifact and evidence file, and every earlier
//! renewal's JSON and token — each with its digest under the renewal's hash algorithm. The
//! RFC 3161 token beside it (`renewal-NNNN.tsr`) is over this file's bytes. So each renewal
//! proves that the whole package, and every earlier proof, existed at its time: a chain in
//! the spirit of RFC 4998's archive timestamps, renewed before a TSA certificate expires
//! (timestamp renewal) or before a hash algorithm weakens (hash-tree renewal: a renewal with
//! SHA-512 re-hashes every file, so it does not rest on SHA-256). Receipts (`archive`'s and
//! renewals') are bookkeeping of the bucket and are not covered.

use serde::{Deserialize, Serialize};

/// The format id of a renewal file.
pub const RENEWAL_FORMAT: &str = "dora-evidence-archive-timestamp/1";

/// One renewal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Renewal {
    /// [`RENEWAL_FORMAT`].
    pub format: String,
    /// The package renewed.
    pub package_id: String,
    /// 1, 2, …: renewal N covers renewals 1 … N-1.
    pub sequence: u32,
    /// When it was made, as the renewing machine's clock says (the token proves the time).
    pub created: String,
    /// The TSA asked.
    pub tsa: String,
    /// The hash algorithm of the digests below and of the token's imprint (`SHA-256`, `SHA-512`).
    pub hash: String,
    /// Every covered file, sorted by path.
    pub covers: Vec<Covered>,
}

/// A covered file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Covered {
    /// Package-relative path with `/`.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Digest under [`Renewal::hash`], hex.
    pub digest: String,
}

impl Renewal {
    /// The file's bytes: pretty JSON with a final newline.
    ///
    /// # Errors
    /// Never in practice (plain data).
    pub fn to_bytes(&self) -> serde_json::Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Parses a renewal file.
    ///
    /// # Errors
    /// When it is not a renewal of this format.
    pub fn from_slice(bytes: &[u8]) -> Result<Renewal, String> {
        let r: Renewal = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if r.format != RENEWAL_FORMAT {
            return Err(format!("format {:?}, expected {RENEWAL_FORMAT:?}", r.format));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_formats_and_fields() {
        let r = Renewal {
            format: RENEWAL_FORMAT.into(),
            package_id: "dora-2026-q3-abc".into(),
            sequence: 1,
            created: "2026-12-04T23:00:00Z".into(),
            tsa: "http://tsa.example/".into(),
            hash: "SHA-256".into(),
            covers: vec![Covered { path: "manifest.json".into(), size: 3, digest: "ab".into() }],
        };
        let bytes = r.to_bytes().unwrap();
        assert!(bytes.ends_with(b"}\n"));
        assert_eq!(Renewal::from_slice(&bytes).unwrap(), r);
        let other = String::from_utf8(bytes.clone()).unwrap().replace("archive-timestamp/1", "archive-timestamp/9");
        assert!(Renewal::from_slice(other.as_bytes()).unwrap_err().contains("expected"));
        let extra = String::from_utf8(bytes).unwrap().replacen('{', "{\"x\": 1,", 1);
        assert!(Renewal::from_slice(extra.as_bytes()).is_err());
    }
}

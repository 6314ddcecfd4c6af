//! The PAdES levels of the report's signature (issue 17): the CAdES signature with its
//! `signatureTimeStampToken` (B-T), the document security store (B-LT) and the document
//! timestamp over the whole file (B-LTA), and that nothing after the signed revision changes
//! more than PAdES allows (the `/DSS`, the form's new field, the page's new invisible widget).
//!
//! [`check_pdf`] reads it all; `local.rs` turns the outcome into the report's checks. The
//! CAdES signature itself is checked by [`verify_detached`] (canonical DER, the token its
//! only unsigned attribute), its token and the document timestamp by [`verify_token`].

use std::time::Duration;

use der::Decode as _;
use sha2::Digest as _;
use x509_cert::Certificate;

use super::cades::{self, Verified, verify_detached};
use crate::pdf::{DOC_TIMESTAMP_SUB_FILTER, PadesLevel, Pdf, Signature, Value};
use crate::sign::tsa::{VerifiedToken, verify_token};

/// What the report's timestamps prove; for `verify`'s output.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PdfTimestamps {
    /// The PAdES level reached (every lower level holding too).
    pub level: PadesLevel,
    /// The signature timestamp's time (Unix), when valid.
    #[serde(serialize_with = "rfc3339")]
    pub signature_time: Option<Duration>,
    /// The document timestamp's time (Unix), when valid.
    #[serde(serialize_with = "rfc3339")]
    pub document_timestamp_time: Option<Duration>,
    /// The subject of the TSA of the signature timestamp.
    pub signature_tsa: Option<String>,
    /// The subject of the TSA of the document timestamp.
    pub document_timestamp_tsa: Option<String>,
    /// Certificates of the `/DSS` chains without revocation data there.
    pub revocation_missing: Vec<String>,
    /// What keeps the level from being higher (a bad token, a change after signing).
    pub problems: Vec<String>,
}

impl PdfTimestamps {
    /// One line for the `report-level` check.
    pub fn summary(&self) -> String {
        let mut s = format!("PAdES {}", self.level);
        if let Some(t) = self.signature_time {
            s.push_str(&format!(", signature timestamped {}", time_text(t)));
        }
        if let Some(t) = self.document_timestamp_time {
            s.push_str(&format!(", document timestamp {}", time_text(t)));
        }
        if self.level == PadesLevel::BB {
            s.push_str(" (no timestamp: the signing time is only claimed)");
        }
        if !self.revocation_missing.is_empty() {
            s.push_str(&format!("; {}", self.revocation_missing.join("; ")));
        }
        s
    }
}

fn time_text(t: Duration) -> String {
    i64::try_from(t.as_millis())
        .map_or_else(|_| format!("{}s", t.as_secs()), |m| crate::time::Timestamp(m).to_rfc3339())
}

fn rfc3339<S: serde::Serializer>(t: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&time_text(*t)),
        None => s.serialize_none(),
    }
}

/// The PDF's signatures as read and checked.
pub(super) enum PdfOutcome {
    /// No signature field.
    Unsigned,
    /// Unreadable structure.
    Broken(String),
    /// One CAdES signature (and maybe document timestamps).
    Signed {
        /// The CAdES signature's check.
        signature: Box<Result<Verified, String>>,
        /// What covers the file, or what is outside the signatures.
        coverage: Result<String, String>,
        /// The claimed signing time (`/M`).
        claimed: Option<Duration>,
        /// Timestamps and level.
        timestamps: PdfTimestamps,
    },
}

/// Reads and checks the PDF's signatures; `tsa_anchors` (may be empty: no chain check) are
/// the trust anchors of timestamp tokens.
pub(super) fn check_pdf(bytes: &[u8], tsa_anchors: &[Certificate]) -> PdfOutcome {
    let pdf = match Pdf::parse(bytes) {
        Ok(p) => p,
        Err(e) => return PdfOutcome::Broken(e.to_string()),
    };
    let sigs = match pdf.signatures() {
        Ok(s) => s,
        Err(e) => return PdfOutcome::Broken(e.to_string()),
    };
    let (stamps, cades_sigs): (Vec<&Signature>, Vec<&Signature>) =
        sigs.iter().partition(|s| s.sub_filter == DOC_TIMESTAMP_SUB_FILTER);
    let sig = match cades_sigs.as_slice() {
        [] if stamps.is_empty() => return PdfOutcome::Unsigned,
        [] => return PdfOutcome::Broken("document timestamps but no signature".into()),
        [s] => *s,
        more => return PdfOutcome::Broken(format!("{} signatures; expected one", more.len())),
    };
    let mut problems = Vec::new();
    let checked = cades_signature(bytes, sig);
    let signature_token = match &checked {
        Ok(Verified { timestamp_token: Some(token), signature_value, .. }) => {
            verify_token(token, &[signature_value], tsa_anchors)
                .map_err(|e| problems.push(format!("signature timestamp: {e}")))
                .ok()
        }
        _ => None,
    };
    let document_token = match stamps.last().map(|s| doc_timestamp(bytes, s, tsa_anchors)) {
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            problems.push(format!("document timestamp: {e}"));
            None
        }
        None => None,
    };
    let signature_time = signature_token.as_ref().map(|t| t.gen_time);
    let document_timestamp_time = document_token.as_ref().map(|t| t.gen_time);
    let coverage = coverage(bytes, &pdf, sig, stamps.last().copied());
    let (dss, revocation_missing) = dss_state(&pdf, checked.as_ref().ok(), &mut problems);
    let level = match (&checked, signature_time, dss, document_timestamp_time) {
        (Ok(_), Some(_), true, Some(_)) if coverage.is_ok() => PadesLevel::BLta,
        (Ok(_), Some(_), true, _) => PadesLevel::BLt,
        (Ok(_), Some(_), _, _) => PadesLevel::BT,
        _ => PadesLevel::BB,
    };
    let timestamps = PdfTimestamps {
        level,
        signature_time,
        document_timestamp_time,
        signature_tsa: signature_token.map(|t| t.tsa_subject()),
        document_timestamp_tsa: document_token.map(|t| t.tsa_subject()),
        revocation_missing,
        problems,
    };
    let claimed = sig.signing_time.as_deref().and_then(super::local::parse_pdf_date);
    let signature = Box::new(checked);
    PdfOutcome::Signed { signature, coverage, claimed, timestamps }
}

/// The CAdES signature over its byte ranges, verified (its token not yet).
fn cades_signature(bytes: &[u8], sig: &Signature) -> Result<Verified, String> {
    if sig.sub_filter != crate::sign::PDF_SUB_FILTER && sig.sub_filter != "adbe.pkcs7.detached" {
        return Err(format!("unsupported signature type /{}", sig.sub_filter));
    }
    let digest = range_digest(bytes, sig)?;
    verify_detached(der_contents(sig)?, &digest)
}

/// The signature's two byte ranges.
fn ranges<'a>(bytes: &'a [u8], sig: &Signature) -> Result<[&'a [u8]; 2], String> {
    let len = bytes.len() as i64;
    let [0, a, b, c] = sig.byte_range.as_slice() else { return Err("malformed /ByteRange".to_owned()) };
    let (a, b, c) = (*a, *b, *c);
    if a < 0 || b < a || c < 0 || b.checked_add(c).is_none_or(|e| e > len) {
        return Err("the /ByteRange points outside the file".into());
    }
    Ok([&bytes[..a as usize], &bytes[b as usize..(b + c) as usize]])
}

/// SHA-256 over the signature's two byte ranges.
fn range_digest(bytes: &[u8], sig: &Signature) -> Result<[u8; 32], String> {
    let mut h = sha2::Sha256::new();
    for part in ranges(bytes, sig)? {
        h.update(part);
    }
    Ok(h.finalize().into())
}

/// The DER structure at the start of `/Contents`, the rest being zero padding.
fn der_contents(sig: &Signature) -> Result<&[u8], String> {
    let der_len = cades::der_element_len(&sig.contents).ok_or("the signature is not a DER structure")?;
    if sig.contents[der_len..].iter().any(|&b| b != 0) {
        return Err("bytes after the DER structure in /Contents are not zero padding".into());
    }
    Ok(&sig.contents[..der_len])
}

/// The document timestamp's token, when it covers its byte ranges.
fn doc_timestamp(bytes: &[u8], s: &Signature, anchors: &[Certificate]) -> Result<VerifiedToken, String> {
    verify_token(der_contents(s)?, &ranges(bytes, s)?, anchors)
}

/// Whether the signed ranges cover the file: the signature's revision, then only changes
/// PAdES allows, then the last document timestamp's revision ending the file. Says what
/// covers the file.
fn coverage(bytes: &[u8], pdf: &Pdf<'_>, sig: &Signature, stamp: Option<&Signature>) -> Result<String, String> {
    let len = bytes.len();
    let exact = |s: &Signature| match s.byte_range.as_slice() {
        [0, a, b, _] => {
            usize::try_from(*a).ok() == Some(s.contents_span.start)
                && usize::try_from(*b).ok() == Some(s.contents_span.end)
        }
        _ => false,
    };
    let last = stamp.unwrap_or(sig);
    for s in [sig, last] {
        if !exact(s) {
            return Err(format!("the /ByteRange {:?} does not leave out exactly its own /Contents", s.byte_range));
        }
    }
    match last.revision_end() {
        Some(end) if end == len => {}
        Some(end) if end < len => {
            return Err(format!("{} bytes after the signed range: the file was changed after signing", len - end));
        }
        _ => return Err("the /ByteRange runs past the end of the file".into()),
    }
    let signed_end = sig.revision_end().filter(|&e| e <= len).ok_or("the signature's /ByteRange runs past the file")?;
    if signed_end == len {
        return Ok(format!("the signature covers the whole file ({len} bytes)"));
    }
    allowed_changes(pdf, &bytes[..signed_end])?;
    Ok(format!(
        "the signature covers the file's first {signed_end} bytes; after them only validation data (/DSS) and a \
         document timestamp covering the whole file ({len} bytes)"
    ))
}

/// The changes after the signed revision `signed` are only: new objects, the catalog gaining
/// `/DSS` and form fields, and the first page gaining invisible signature widgets.
fn allowed_changes(pdf: &Pdf<'_>, signed: &[u8]) -> Result<(), String> {
    let old = Pdf::parse(signed).map_err(|e| format!("the signed revision: {e}"))?;
    let old_size = old.size().map_err(|e| e.to_string())?;
    let (old_root, old_catalog) = old.root().map_err(|e| e.to_string())?;
    let (root, _) = pdf.root().map_err(|e| e.to_string())?;
    if root != old_root {
        return Err("the document catalog was replaced after signing".into());
    }
    let (page_num, old_page) = old.first_page(&old_catalog).map_err(|e| e.to_string())?;
    for num in pdf.changed_objects(&old) {
        let changed = || format!("object {num} was changed after signing");
        if num >= old_size {
            continue;
        }
        let (now, _) = pdf.object(num).map_err(|e| e.to_string())?;
        if num == root {
            same_except(&old, &old_catalog, pdf, &now, &["DSS", "AcroForm"]).map_err(|_| changed())?;
            grown_list(&old, old_catalog.get("AcroForm"), pdf, now.get("AcroForm"), "Fields")
                .map_err(|e| format!("{}: {e}", changed()))?;
        } else if num == page_num {
            same_except(&old, &old_page, pdf, &now, &["Annots"]).map_err(|_| changed())?;
            let added = grown_array(&old, old_page.get("Annots"), pdf, now.get("Annots"))
                .map_err(|e| format!("{}: {e}", changed()))?;
            for annot in added {
                invisible_signature_widget(pdf, &annot).map_err(|e| format!("{}: {e}", changed()))?;
            }
        } else {
            return Err(changed());
        }
    }
    Ok(())
}

/// Both dictionaries hold the same entries, written the same, leaving out `skip`.
fn same_except(old: &Pdf<'_>, a: &Value, new: &Pdf<'_>, b: &Value, skip: &[&str]) -> Result<(), ()> {
    let entries = |pdf: &Pdf<'_>, v: &Value| -> Vec<(String, Vec<u8>)> {
        match v {
            Value::Dict(e, _) => e
                .iter()
                .filter(|(k, _)| !skip.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), pdf.bytes[v.span()].to_vec()))
                .collect(),
            _ => Vec::new(),
        }
    };
    if matches!(b, Value::Dict(..)) && entries(old, a) == entries(new, b) { Ok(()) } else { Err(()) }
}

/// The form (inline or referenced) only gained entries at the end of `key`.
fn grown_list(old: &Pdf<'_>, a: Option<&Value>, new: &Pdf<'_>, b: Option<&Value>, key: &str) -> Result<(), String> {
    let (Some(a), Some(b)) = (a, b) else {
        return if a.is_none() { Ok(()) } else { Err("the form was removed".into()) };
    };
    let a = old.resolve(a).map_err(|e| e.to_string())?;
    let b = new.resolve(b).map_err(|e| e.to_string())?;
    same_except(old, &a, new, &b, &[key, "SigFlags"]).map_err(|()| "the form changed".to_owned())?;
    grown_array(old, a.get(key), new, b.get(key)).map(|_| ())
}

/// `b` is `a` with items added at the end; returns the added ones.
fn grown_array(old: &Pdf<'_>, a: Option<&Value>, new: &Pdf<'_>, b: Option<&Value>) -> Result<Vec<Value>, String> {
    let items = |pdf: &Pdf<'_>, v: Option<&Value>| -> Result<Vec<Value>, String> {
        match v.map(|v| pdf.resolve(v)).transpose().map_err(|e| e.to_string())? {
            None => Ok(Vec::new()),
            Some(Value::Array(items, _)) => Ok(items),
            Some(_) => Err("not an array".into()),
        }
    };
    let (a, b) = (items(old, a)?, items(new, b)?);
    let text = |pdf: &Pdf<'_>, v: &Value| pdf.bytes[v.span()].to_vec();
    if b.len() < a.len() || a.iter().zip(&b).any(|(x, y)| text(old, x) != text(new, y)) {
        return Err("items were removed or changed".into());
    }
    Ok(b[a.len()..].to_vec())
}

/// An annotation that is a signature field's widget with an empty rectangle.
fn invisible_signature_widget(pdf: &Pdf<'_>, annot: &Value) -> Result<(), String> {
    let a = pdf.resolve(annot).map_err(|e| e.to_string())?;
    let is_sig = matches!(a.get("FT"), Some(Value::Name(n, _)) if n == "Sig");
    let empty = match a.get("Rect") {
        Some(Value::Array(r, _)) => r.iter().all(|v| matches!(v, Value::Number(n, _) if *n == 0.0)),
        _ => false,
    };
    if is_sig && empty {
        Ok(())
    } else {
        Err("an annotation other than an invisible signature widget was added".into())
    }
}

/// Whether the `/DSS` holds the signer's certificate, and the chain certificates without
/// revocation data there.
fn dss_state(pdf: &Pdf<'_>, signer: Option<&Verified>, problems: &mut Vec<String>) -> (bool, Vec<String>) {
    let dss = match pdf.dss() {
        Ok(Some(d)) => d,
        Ok(None) => return (false, Vec::new()),
        Err(e) => {
            problems.push(format!("/DSS: {e}"));
            return (false, Vec::new());
        }
    };
    let mut certs = Vec::new();
    for (i, der) in dss.certs.iter().enumerate() {
        match Certificate::from_der(der) {
            Ok(c) => certs.push(c),
            Err(e) => problems.push(format!("/DSS certificate {}: {e}", i + 1)),
        }
    }
    let has_signer = signer.is_some_and(|v| certs.contains(&v.signer));
    if !has_signer {
        problems.push("the /DSS does not hold the signer's certificate".into());
    }
    let missing = crate::sign::revocation::uncovered(&certs, &dss.crls, &dss.ocsps);
    (has_signer, missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::{Dss, SignatureFields, add_dss, append_update, prepare_signature};

    /// A one-page PDF with a classic xref (`pdf`'s test fixture).
    fn tiny() -> Vec<u8> {
        crate::pdf::tests::tiny_pdf()
    }

    fn fields() -> SignatureFields {
        SignatureFields {
            sub_filter: crate::sign::PDF_SUB_FILTER,
            signing_time: "D:20261001000000Z".into(),
            name: None,
            reason: None,
            location: None,
            contact_info: None,
            reserve: 16,
        }
    }

    /// Signed, then `between` (updates after the signature), then a document timestamp.
    fn stamped(between: impl FnOnce(Vec<u8>) -> Vec<u8>) -> Vec<u8> {
        let signed = prepare_signature(&tiny(), &fields()).unwrap().finish(&[0x30, 0x00]).unwrap();
        let with_dss = add_dss(&signed, &Dss { certs: vec![b"c".to_vec()], ..Dss::default() }).unwrap();
        let changed = between(with_dss);
        let doc = SignatureFields::doc_timestamp(16);
        prepare_signature(&changed, &doc).unwrap().finish(&[0x30, 0x00]).unwrap()
    }

    fn coverage_of(bytes: &[u8]) -> Result<String, String> {
        let pdf = Pdf::parse(bytes).unwrap();
        let sigs = pdf.signatures().unwrap();
        coverage(bytes, &pdf, &sigs[0], sigs.get(1))
    }

    #[test]
    fn only_the_dss_and_the_document_timestamp_may_follow_the_signature() {
        let ok = stamped(|b| b);
        assert!(coverage_of(&ok).unwrap().contains("document timestamp covering the whole file"));
        // An update that redefines the page tree, hidden under the document timestamp.
        let sneaky = stamped(|b| {
            let pdf = Pdf::parse(&b).unwrap();
            let size = pdf.size().unwrap();
            append_update(&pdf, &[(2, b"<< /Type /Pages /Kids [3 0 R] /Count 2 >>".to_vec())], size).unwrap().0
        });
        let e = coverage_of(&sneaky).unwrap_err();
        assert!(e.contains("object 2 was changed after signing"), "{e}");
        // A visible annotation added to the page.
        let visible = stamped(|b| {
            let pdf = Pdf::parse(&b).unwrap();
            let size = pdf.size().unwrap();
            let page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Annots [4 0 R 99 0 R] >>".to_vec();
            let annot = b"<< /Type /Annot /Subtype /Text /Rect [0 0 100 100] >>".to_vec();
            append_update(&pdf, &[(3, page), (99, annot)], size.max(100)).unwrap().0
        });
        let e = coverage_of(&visible).unwrap_err();
        assert!(e.contains("other than an invisible signature widget"), "{e}");
        // The catalog gaining an entry (an action run on opening).
        let catalog = stamped(|b| {
            let pdf = Pdf::parse(&b).unwrap();
            let size = pdf.size().unwrap();
            let (num, dict) = pdf.root().unwrap();
            let text = String::from_utf8_lossy(&b[dict.span()]).into_owned();
            let opened = format!("{} /OpenAction 3 0 R >>", text.trim_end_matches(">>"));
            append_update(&pdf, &[(num, opened.into_bytes())], size).unwrap().0
        });
        assert!(coverage_of(&catalog).unwrap_err().contains("object 1 was changed"));
    }

    #[test]
    fn damaged_files_are_outcomes_not_panics() {
        let good = stamped(|b| b);
        let mut rng = fastrand::Rng::with_seed(31);
        for _ in 0..3000 {
            let mut b = good.clone();
            for _ in 0..rng.usize(1..4) {
                let i = rng.usize(..b.len());
                b[i] = rng.u8(..);
            }
            if rng.bool() {
                b.truncate(rng.usize(..b.len()));
            }
            let _ = check_pdf(&b, &[]);
        }
    }

    #[test]
    fn a_signature_without_a_document_timestamp_must_end_the_file() {
        let signed = prepare_signature(&tiny(), &fields()).unwrap().finish(&[0x30, 0x00]).unwrap();
        assert!(coverage_of(&signed).is_ok());
        let with_dss = add_dss(&signed, &Dss::default()).unwrap();
        assert!(coverage_of(&with_dss).unwrap_err().contains("after the signed range"));
    }
}

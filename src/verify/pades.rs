//! The PAdES levels of the report's signature (issue 17): the CAdES signature with its
//! `signatureTimeStampToken` (B-T), the document security store (B-LT) and the document
//! timestamp over the whole file (B-LTA), and that nothing after the signed revision changes
//! more than PAdES allows (the `/DSS`, the form's new field, the page's new invisible widget).
//!
//! [`check_pdf`] reads it all; `local.rs` turns the outcome into the report's checks. The
//! CAdES signature itself is checked by [`verify_detached`] on the CMS without its unsigned
//! attributes, after checking the whole CMS is canonical DER (so no byte of the token can
//! change unnoticed besides what the token's own signature covers).

use std::time::Duration;

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfos};
use der::asn1::SetOfVec;
use der::{Decode as _, Encode as _};
use sha2::Digest as _;
use x509_cert::Certificate;

use super::cades::{self, Verified, verify_detached};
use crate::pdf::{DOC_TIMESTAMP_SUB_FILTER, PadesLevel, Pdf, Signature, Value};
use crate::sign::tsa::{SIGNATURE_TIME_STAMP_TOKEN, verify_token};

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
    let signature_time = match &checked {
        Ok(Cades { token: Some(token), value, .. }) => {
            let digest: [u8; 32] = sha2::Sha256::digest(value).into();
            verify_token(token, &digest, tsa_anchors)
                .map_err(|e| problems.push(format!("signature timestamp: {e}")))
                .ok()
                .map(|t| t.gen_time)
        }
        _ => None,
    };
    let stamp = stamps.last().map(|s| doc_timestamp(bytes, s, tsa_anchors));
    let document_timestamp_time = match stamp {
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            problems.push(format!("document timestamp: {e}"));
            None
        }
        None => None,
    };
    let coverage = coverage(bytes, &pdf, sig, stamps.last().copied());
    let (dss, revocation_missing) = dss_state(&pdf, checked.as_ref().ok().map(|c| &c.verified), &mut problems);
    let level = match (&checked, signature_time, dss, document_timestamp_time) {
        (Ok(_), Some(_), true, Some(_)) if coverage.is_ok() => PadesLevel::BLta,
        (Ok(_), Some(_), true, _) => PadesLevel::BLt,
        (Ok(_), Some(_), _, _) => PadesLevel::BT,
        _ => PadesLevel::BB,
    };
    let timestamps = PdfTimestamps { level, signature_time, document_timestamp_time, revocation_missing, problems };
    let claimed = sig.signing_time.as_deref().and_then(super::local::parse_pdf_date);
    let signature = Box::new(checked.map(|c| c.verified));
    PdfOutcome::Signed { signature, coverage, claimed, timestamps }
}

/// A CMS taken apart: the signature (verified, or the CMS without its unsigned attributes),
/// its `signatureTimeStampToken` and the signature value that token should cover.
struct Cades<T> {
    verified: T,
    token: Option<Vec<u8>>,
    value: Vec<u8>,
}

/// The CAdES signature over its byte ranges, verified.
fn cades_signature(bytes: &[u8], sig: &Signature) -> Result<Cades<Verified>, String> {
    if sig.sub_filter != crate::sign::PDF_SUB_FILTER && sig.sub_filter != "adbe.pkcs7.detached" {
        return Err(format!("unsupported signature type /{}", sig.sub_filter));
    }
    let digest = range_digest(bytes, sig)?;
    let cms = der_contents(sig)?;
    let split = split_timestamp(cms)?;
    Ok(Cades { verified: verify_detached(&split.verified, &digest)?, token: split.token, value: split.value })
}

/// SHA-256 over the signature's two byte ranges.
fn range_digest(bytes: &[u8], sig: &Signature) -> Result<[u8; 32], String> {
    let len = bytes.len() as i64;
    let [0, a, b, c] = sig.byte_range.as_slice() else { return Err("malformed /ByteRange".to_owned()) };
    let (a, b, c) = (*a, *b, *c);
    if a < 0 || b < a || c < 0 || b.checked_add(c).is_none_or(|e| e > len) {
        return Err("the /ByteRange points outside the file".into());
    }
    let mut h = sha2::Sha256::new();
    h.update(&bytes[..a as usize]);
    h.update(&bytes[b as usize..(b + c) as usize]);
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

/// Takes the `signatureTimeStampToken` (the only unsigned attribute allowed) off the CMS:
/// the CMS without it is `verified` (still to be checked). The CMS must be canonical DER.
fn split_timestamp(cms_der: &[u8]) -> Result<Cades<Vec<u8>>, String> {
    let e = |e: der::Error| e.to_string();
    let info = ContentInfo::from_der(cms_der).map_err(|e| format!("not a DER CMS ContentInfo: {e}"))?;
    let mut sd: SignedData = info.content.decode_as().map_err(|e| format!("bad SignedData: {e}"))?;
    let again = ContentInfo { content_type: info.content_type, content: der::Any::encode_from(&sd).map_err(e)? };
    if again.to_der().map_err(e)? != cms_der {
        return Err("the CMS is not canonical DER".into());
    }
    let mut signers = sd.signer_infos.0.into_vec();
    let [si] = signers.as_mut_slice() else {
        // verify_detached names the problem.
        return Ok(Cades { verified: cms_der.to_vec(), token: None, value: Vec::new() });
    };
    let value = si.signature.as_bytes().to_vec();
    let Some(attrs) = si.unsigned_attrs.take() else {
        return Ok(Cades { verified: cms_der.to_vec(), token: None, value });
    };
    let [attr] = attrs.as_slice() else { return Err("unsigned attributes besides one signature timestamp".into()) };
    if attr.oid != SIGNATURE_TIME_STAMP_TOKEN {
        return Err(format!("unexpected unsigned attribute {}", attr.oid));
    }
    let [token] = attr.values.as_slice() else {
        return Err("the signature timestamp attribute holds several values".into());
    };
    let token = token.to_der().map_err(e)?;
    sd.signer_infos = SignerInfos(SetOfVec::try_from(signers).map_err(e)?);
    let stripped = ContentInfo { content_type: info.content_type, content: der::Any::encode_from(&sd).map_err(e)? };
    Ok(Cades { verified: stripped.to_der().map_err(e)?, token: Some(token), value })
}

/// The document timestamp's time, when its token covers its byte ranges.
fn doc_timestamp(bytes: &[u8], s: &Signature, anchors: &[Certificate]) -> Result<Duration, String> {
    let digest = range_digest(bytes, s)?;
    let token = der_contents(s)?;
    verify_token(token, &digest, anchors).map(|t| t.gen_time)
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

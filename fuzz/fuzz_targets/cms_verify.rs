//! Fuzz target: the strict CMS verifier `verify` runs on `manifest.json.p7s` (possibly
//! tampered), then the chain check over the certificates it carries.
#![no_main]

use sha2::Digest as _;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let digest: [u8; 32] = sha2::Sha256::digest(b"manifest").into();
    if let Ok(v) = dora_evidence::verify::cades::verify_detached(data, &digest) {
        let at = v.signing_time.unwrap_or_default();
        let _ = dora_evidence::verify::cades::check_chain(&v.signer, &v.certificates, &v.certificates, at);
    }
    let _ = dora_evidence::verify::cades::der_element_len(data);
});

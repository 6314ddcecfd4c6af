//! Fuzz target: the PDF reader `verify` runs on a package's report.pdf (possibly tampered):
//! parse, read every signature, resolve every object the xref names.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(pdf) = dora_evidence::pdf::Pdf::parse(data) {
        let _ = pdf.signatures();
        for num in 0..64 {
            if let Ok((value, _)) = pdf.object(num) {
                let _ = pdf.resolve(&value);
            }
        }
    }
});

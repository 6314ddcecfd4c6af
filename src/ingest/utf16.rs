//! UTF-16 text with a byte-order mark, as Excel saves "Unicode Text" (UTF-16 LE, tab
//! separated) and some Windows tools write JSON: decoded to UTF-8 while streaming, so the CSV
//! and JSON parsers read it like any other file.
//!
//! Nothing is silently repaired: an unpaired surrogate or an odd trailing byte becomes the
//! byte `0xFF`, which is never valid UTF-8, so the parser reports the row (CSV: `line N`, the
//! column) or the place (JSON: line and column) as it does for a bad byte in a UTF-8 file.

use std::io::{self, Read};

/// The byte order a BOM announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endian {
    /// `FF FE`.
    Little,
    /// `FE FF`.
    Big,
}

/// The UTF-16 byte order announced by a BOM at the start of `head`.
pub(crate) fn bom(head: &[u8]) -> Option<Endian> {
    match head {
        // `FF FE 00 00` is the UTF-32 LE BOM, not UTF-16.
        [0xFF, 0xFE, 0, 0, ..] => None,
        [0xFF, 0xFE, ..] => Some(Endian::Little),
        [0xFE, 0xFF, ..] => Some(Endian::Big),
        _ => None,
    }
}

/// The byte that stands in for what is not UTF-16 (never valid in UTF-8).
const BAD: u8 = 0xFF;

/// Reads UTF-16 (BOM already consumed) as UTF-8.
#[derive(Debug)]
pub(crate) struct Utf16Reader<R> {
    inner: R,
    endian: Endian,
    /// Bytes read but not decoded yet: an odd byte, or a high surrogate waiting for its pair.
    raw: Vec<u8>,
    /// Decoded UTF-8 not handed out yet, from `at`.
    out: Vec<u8>,
    at: usize,
    eof: bool,
    chunk: Box<[u8]>,
}

impl<R: Read> Utf16Reader<R> {
    /// Decodes `inner`, which must start after the BOM.
    pub(crate) fn new(inner: R, endian: Endian) -> Self {
        Utf16Reader {
            inner,
            endian,
            raw: Vec::new(),
            out: Vec::new(),
            at: 0,
            eof: false,
            chunk: vec![0; 64 * 1024].into_boxed_slice(),
        }
    }

    fn unit(&self, i: usize) -> u16 {
        let pair = [self.raw[2 * i], self.raw[2 * i + 1]];
        match self.endian {
            Endian::Little => u16::from_le_bytes(pair),
            Endian::Big => u16::from_be_bytes(pair),
        }
    }

    fn push(&mut self, c: char) {
        let mut b = [0u8; 4];
        self.out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
    }

    /// Reads one more chunk and decodes what it completes.
    fn fill(&mut self) -> io::Result<()> {
        let n = loop {
            match self.inner.read(&mut self.chunk) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        self.eof = n == 0;
        self.raw.extend_from_slice(&self.chunk[..n]);
        self.out.clear();
        self.at = 0;
        let units = self.raw.len() / 2;
        let mut i = 0;
        while i < units {
            let u = self.unit(i);
            match u {
                0xD800..=0xDBFF if i + 1 < units => {
                    let low = self.unit(i + 1);
                    if (0xDC00..=0xDFFF).contains(&low) {
                        let c = 0x10000 + ((u32::from(u) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                        self.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                        i += 2;
                    } else {
                        self.out.push(BAD);
                        i += 1;
                    }
                }
                // A high surrogate at the end of what was read: its pair may come next.
                0xD800..=0xDBFF if !self.eof => break,
                0xD800..=0xDFFF => {
                    self.out.push(BAD);
                    i += 1;
                }
                _ => {
                    self.push(char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER));
                    i += 1;
                }
            }
        }
        self.raw.drain(..2 * i);
        if self.eof && !self.raw.is_empty() {
            self.raw.clear();
            self.out.push(BAD);
        }
        Ok(())
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            if self.eof {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Decodes a UTF-16 head (BOM included) for classification: as much as it holds, an
/// incomplete last unit or surrogate pair left out.
pub(crate) fn decode_head(head: &[u8], endian: Endian) -> Vec<u8> {
    let body = &head[2.min(head.len())..];
    let mut even = &body[..body.len() & !1];
    if let [.., a, b] = even {
        let last = match endian {
            Endian::Little => u16::from_le_bytes([*a, *b]),
            Endian::Big => u16::from_be_bytes([*a, *b]),
        };
        if (0xD800..=0xDBFF).contains(&last) {
            even = &even[..even.len() - 2];
        }
    }
    let mut r = Utf16Reader::new(even, endian);
    let mut out = Vec::new();
    // In memory: cannot fail.
    let _ = r.read_to_end(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str, endian: Endian) -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|u| match endian {
                Endian::Little => u.to_le_bytes(),
                Endian::Big => u.to_be_bytes(),
            })
            .collect()
    }

    /// A reader that hands out one byte per call, so every boundary is crossed.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn decodes_both_byte_orders_across_read_boundaries() {
        let text = "Backup Job ID\tJob Status\r\nb-1\tCOMPLETED 😀 Zürich\r\n";
        for endian in [Endian::Little, Endian::Big] {
            let bytes = encode(text, endian);
            let mut out = String::new();
            Utf16Reader::new(bytes.as_slice(), endian).read_to_string(&mut out).unwrap();
            assert_eq!(out, text);
            let mut out = String::new();
            Utf16Reader::new(Trickle(&bytes), endian).read_to_string(&mut out).unwrap();
            assert_eq!(out, text, "{endian:?}, one byte at a time");
        }
    }

    #[test]
    fn bad_utf16_becomes_a_byte_that_is_not_utf8() {
        // A lone low surrogate, a high surrogate followed by a letter, an odd trailing byte.
        let mut bytes = Vec::new();
        for u in [0x41u16, 0xDC00, 0x42, 0xD800, 0x43] {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        bytes.push(0x44);
        let mut out = Vec::new();
        Utf16Reader::new(bytes.as_slice(), Endian::Little).read_to_end(&mut out).unwrap();
        assert_eq!(out, [b'A', BAD, b'B', BAD, b'C', BAD]);
        // A high surrogate at the very end.
        let mut out = Vec::new();
        Utf16Reader::new(&[0x00u8, 0xD8][..], Endian::Little).read_to_end(&mut out).unwrap();
        assert_eq!(out, [BAD]);
    }

    #[test]
    fn boms() {
        assert_eq!(bom(b"\xFF\xFEa\0"), Some(Endian::Little));
        assert_eq!(bom(b"\xFE\xFF\0a"), Some(Endian::Big));
        assert_eq!(bom(b"\xFF\xFE\0\0"), None);
        assert_eq!(bom(b"\xEF\xBB\xBFa"), None);
        let mut head = b"\xFF\xFE".to_vec();
        head.extend(encode("a😀", Endian::Little));
        head.truncate(head.len() - 1);
        assert_eq!(decode_head(&head, Endian::Little), b"a", "a cut surrogate pair is left out");
    }
}

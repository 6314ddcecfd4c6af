//! Just enough PDF to sign and verify our own report: a tolerant object parser over raw
//! bytes, the classic cross-reference table (krilla, behind typst, writes no xref streams or
//! object streams), and the incremental update that adds one invisible signature field.
//!
//! Everything here works on bytes that may be hostile (a tampered package): every read is
//! bounds-checked and every failure is an error with a byte offset, never a panic.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;

/// A PDF structure problem, with the byte offset where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PDF byte {offset}: {message}")]
pub struct PdfError {
    /// Byte offset in the file.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, PdfError> {
    Err(PdfError { offset, message: message.into() })
}

/// A parsed PDF value; every value keeps the byte span it came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<< /Key value … >>`.
    Dict(Vec<(String, Value)>, Range<usize>),
    /// `[ … ]`.
    Array(Vec<Value>, Range<usize>),
    /// `/Name` (without the slash, `#xx` escapes left as written).
    Name(String, Range<usize>),
    /// An integer or real, as written.
    Number(f64, Range<usize>),
    /// `(literal)` or `<hex>`; the span covers the delimiters.
    String(Range<usize>),
    /// `N G R`.
    Ref(u32, u16, Range<usize>),
    /// `true`, `false`, `null` or another bare keyword.
    Keyword(String, Range<usize>),
}

impl Value {
    /// The bytes this value was parsed from.
    pub fn span(&self) -> Range<usize> {
        match self {
            Value::Dict(_, s)
            | Value::Array(_, s)
            | Value::Name(_, s)
            | Value::Number(_, s)
            | Value::String(s)
            | Value::Ref(_, _, s)
            | Value::Keyword(_, s) => s.clone(),
        }
    }

    /// A dictionary entry.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(entries, _) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_ref(&self) -> Option<(u32, u16)> {
        match self {
            Value::Ref(n, g, _) => Some((*n, *g)),
            _ => None,
        }
    }

    fn as_int(&self) -> Option<i64> {
        match self {
            Value::Number(v, _) if v.fract() == 0.0 && v.abs() < 1e15 => Some(*v as i64),
            _ => None,
        }
    }

    fn is_name(&self, name: &str) -> bool {
        matches!(self, Value::Name(n, _) if n == name)
    }
}

fn is_white(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'\0')
}

fn is_delim(b: u8) -> bool {
    matches!(b, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

/// Skips white space and comments.
fn skip_ws(buf: &[u8], mut pos: usize) -> usize {
    while let Some(&b) = buf.get(pos) {
        if is_white(b) {
            pos += 1;
        } else if b == b'%' {
            while buf.get(pos).is_some_and(|&c| c != b'\n' && c != b'\r') {
                pos += 1;
            }
        } else {
            break;
        }
    }
    pos
}

fn token_end(buf: &[u8], mut pos: usize) -> usize {
    while buf.get(pos).is_some_and(|&b| !is_white(b) && !is_delim(b)) {
        pos += 1;
    }
    pos
}

const MAX_DEPTH: usize = 64;

/// Parses one value starting at or after `pos` (white space skipped).
///
/// # Errors
/// On malformed or truncated syntax.
pub fn parse_value(buf: &[u8], pos: usize) -> Result<Value, PdfError> {
    parse_at(buf, pos, 0)
}

fn parse_at(buf: &[u8], pos: usize, depth: usize) -> Result<Value, PdfError> {
    if depth > MAX_DEPTH {
        return err(pos, "objects nested too deeply");
    }
    let start = skip_ws(buf, pos);
    let Some(&b) = buf.get(start) else { return err(start, "unexpected end of file") };
    match b {
        b'<' if buf.get(start + 1) == Some(&b'<') => parse_dict(buf, start, depth),
        b'<' => parse_hex_string(buf, start),
        b'(' => parse_literal_string(buf, start),
        b'[' => parse_array(buf, start, depth),
        b'/' => {
            let end = token_end(buf, start + 1);
            let name = String::from_utf8_lossy(&buf[start + 1..end]).into_owned();
            Ok(Value::Name(name, start..end))
        }
        b'0'..=b'9' | b'+' | b'-' | b'.' => parse_number_or_ref(buf, start),
        _ if is_delim(b) => err(start, format!("unexpected '{}'", b as char)),
        _ => {
            let end = token_end(buf, start);
            Ok(Value::Keyword(String::from_utf8_lossy(&buf[start..end]).into_owned(), start..end))
        }
    }
}

/// `<< /Key value … >>` starting at `start`.
fn parse_dict(buf: &[u8], start: usize, depth: usize) -> Result<Value, PdfError> {
    let (entries, end) = items_until(buf, start + 2, b">>", "dictionary", |p| {
        if buf[p] != b'/' {
            return err(p, "dictionary key is not a name");
        }
        let Value::Name(key, _) = parse_at(buf, p, depth + 1)? else {
            return err(p, "dictionary key is not a name");
        };
        let value = parse_at(buf, token_end(buf, p + 1), depth + 1)?;
        let end = value.span().end;
        Ok(((key, value), end))
    })?;
    Ok(Value::Dict(entries, start..end))
}

/// The items from `p` up to the closing `close`, each read by `item` (which gives the item
/// and where it ends), and the position after `close`. `what` names the container in errors.
fn items_until<T>(
    buf: &[u8],
    mut p: usize,
    close: &[u8],
    what: &str,
    mut item: impl FnMut(usize) -> Result<(T, usize), PdfError>,
) -> Result<(Vec<T>, usize), PdfError> {
    let mut items = Vec::new();
    loop {
        p = skip_ws(buf, p);
        if buf.get(p..p + close.len()) == Some(close) {
            return Ok((items, p + close.len()));
        }
        if p >= buf.len() {
            return err(p, format!("unterminated {what}"));
        }
        let (v, end) = item(p)?;
        items.push(v);
        p = end;
    }
}

/// `<hex digits>` starting at `start`.
fn parse_hex_string(buf: &[u8], start: usize) -> Result<Value, PdfError> {
    let mut p = start + 1;
    while let Some(&c) = buf.get(p) {
        if c == b'>' {
            return Ok(Value::String(start..p + 1));
        }
        if !(c.is_ascii_hexdigit() || is_white(c)) {
            return err(p, "bad character in hex string");
        }
        p += 1;
    }
    err(start, "unterminated hex string")
}

/// `(text)` starting at `start`: balanced parentheses, backslash escapes skipped.
fn parse_literal_string(buf: &[u8], start: usize) -> Result<Value, PdfError> {
    let (mut p, mut open) = (start + 1, 1usize);
    while let Some(&c) = buf.get(p) {
        match c {
            b'\\' => p += 1,
            b'(' => open += 1,
            b')' => {
                open -= 1;
                if open == 0 {
                    return Ok(Value::String(start..p + 1));
                }
            }
            _ => {}
        }
        p += 1;
    }
    err(start, "unterminated string")
}

/// `[ value … ]` starting at `start`.
fn parse_array(buf: &[u8], start: usize, depth: usize) -> Result<Value, PdfError> {
    let (items, end) = items_until(buf, start + 1, b"]", "array", |p| {
        let v = parse_at(buf, p, depth + 1)?;
        let end = v.span().end;
        Ok((v, end))
    })?;
    Ok(Value::Array(items, start..end))
}

/// A number starting at `start`, or the reference `N G R` when one follows.
fn parse_number_or_ref(buf: &[u8], start: usize) -> Result<Value, PdfError> {
    let end = token_end(buf, start);
    let num = parse_number(buf, start, end)?;
    if num.fract() == 0.0 && num >= 0.0 && buf[start].is_ascii_digit() {
        let g_start = skip_ws(buf, end);
        let g_end = token_end(buf, g_start);
        if g_end > g_start && buf[g_start..g_end].iter().all(u8::is_ascii_digit) {
            let r_start = skip_ws(buf, g_end);
            if buf.get(r_start) == Some(&b'R') && token_end(buf, r_start) == r_start + 1 {
                let generation = parse_number(buf, g_start, g_end)?;
                if num > f64::from(u32::MAX) || generation > f64::from(u16::MAX) {
                    return err(start, "object reference out of range");
                }
                return Ok(Value::Ref(num as u32, generation as u16, start..r_start + 1));
            }
        }
    }
    Ok(Value::Number(num, start..end))
}

fn parse_number(buf: &[u8], start: usize, end: usize) -> Result<f64, PdfError> {
    std::str::from_utf8(&buf[start..end])
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .map_or_else(|| err(start, "bad number"), Ok)
}

/// A PDF file with its cross-reference tables read (newest section first).
#[derive(Debug)]
pub struct Pdf<'a> {
    /// The file.
    pub bytes: &'a [u8],
    /// Object number → (generation, offset of `N G obj`), from the newest xref section that has it.
    offsets: HashMap<u32, (u16, usize)>,
    /// The newest trailer dictionary.
    pub trailer: Value,
    /// Offset of the newest `xref` (what the last `startxref` says).
    pub startxref: usize,
}

impl<'a> Pdf<'a> {
    /// Reads the trailer and every classic xref section, following `/Prev`.
    ///
    /// # Errors
    /// When the file has no `startxref`, uses xref streams, or a table is malformed.
    pub fn parse(bytes: &'a [u8]) -> Result<Pdf<'a>, PdfError> {
        let tail_from = bytes.len().saturating_sub(1024);
        let Some(rel) = find_last(&bytes[tail_from..], b"startxref") else {
            return err(bytes.len(), "no startxref near the end of the file");
        };
        let after = tail_from + rel + b"startxref".len();
        let startxref = match parse_value(bytes, after)? {
            v @ Value::Number(..) => v.as_int().and_then(|n| usize::try_from(n).ok()),
            _ => None,
        };
        let Some(startxref) = startxref else { return err(after, "startxref is not a non-negative integer") };
        let mut offsets = HashMap::new();
        let mut trailer = None;
        let mut next = Some(startxref);
        let mut seen = Vec::new();
        while let Some(at) = next {
            if seen.contains(&at) || seen.len() > 64 {
                return err(at, "xref sections form a loop");
            }
            seen.push(at);
            let section_trailer = read_xref_section(bytes, at, &mut offsets)?;
            next = match section_trailer.get("Prev") {
                Some(v) => Some(v.as_int().filter(|&p| p >= 0).map_or_else(|| err(at, "bad /Prev"), Ok)? as usize),
                None => None,
            };
            trailer.get_or_insert(section_trailer);
        }
        let trailer = trailer.map_or_else(|| err(startxref, "no trailer"), Ok)?;
        Ok(Pdf { bytes, offsets, trailer, startxref })
    }

    /// The indirect object `num`: its value and its whole `N G obj … endobj` span.
    ///
    /// # Errors
    /// When the object is missing or malformed.
    pub fn object(&self, num: u32) -> Result<(Value, Range<usize>), PdfError> {
        let (start, body) = self.object_header(num)?;
        let value = parse_value(self.bytes, body)?;
        let end = skip_ws(self.bytes, value.span().end);
        if !self.bytes.get(end..).is_some_and(|b| b.starts_with(b"endobj")) {
            return err(end, format!("object {num}: no endobj"));
        }
        Ok((value, start..end + b"endobj".len()))
    }

    /// Where object `num`'s `N G obj` header starts, and where its value starts after it.
    fn object_header(&self, num: u32) -> Result<(usize, usize), PdfError> {
        let Some(&(generation, at)) = self.offsets.get(&num) else {
            return err(0, format!("object {num} is not in the cross-reference table"));
        };
        let header = format!("{num} {generation} obj");
        let start = skip_ws(self.bytes, at);
        if !self.bytes.get(start..).is_some_and(|b| b.starts_with(header.as_bytes())) {
            return err(at, format!("object {num}: xref offset does not point at '{header}'"));
        }
        Ok((start, start + header.len()))
    }

    /// Follows a reference (or returns a direct value as is).
    ///
    /// # Errors
    /// As [`Pdf::object`].
    pub fn resolve(&self, v: &Value) -> Result<Value, PdfError> {
        match v.as_ref() {
            Some((n, _)) => Ok(self.object(n)?.0),
            None => Ok(v.clone()),
        }
    }

    /// The trailer's `/Size`: the next free object number.
    ///
    /// # Errors
    /// When the trailer has none.
    pub fn size(&self) -> Result<u32, PdfError> {
        let size = self.trailer.get("Size").and_then(Value::as_int).filter(|&s| s > 0);
        size.and_then(|s| u32::try_from(s).ok()).map_or_else(|| err(self.startxref, "trailer has no valid /Size"), Ok)
    }

    /// The stream object `num`: its dictionary and its data (`/Length` must be a direct
    /// integer, as we write it).
    ///
    /// # Errors
    /// When the object is missing, not a stream, or its length runs past the file.
    pub fn stream(&self, num: u32) -> Result<(Value, &'a [u8]), PdfError> {
        let (_, body) = self.object_header(num)?;
        let dict = parse_value(self.bytes, body)?;
        let kw = skip_ws(self.bytes, dict.span().end);
        if !matches!(dict, Value::Dict(..)) || !self.bytes.get(kw..).is_some_and(|b| b.starts_with(b"stream")) {
            return err(kw, format!("object {num} is not a stream"));
        }
        let mut data = kw + b"stream".len();
        if self.bytes.get(data) == Some(&b'\r') {
            data += 1;
        }
        if self.bytes.get(data) != Some(&b'\n') {
            return err(data, format!("object {num}: no end of line after 'stream'"));
        }
        data += 1;
        let len = dict.get("Length").and_then(Value::as_int).and_then(|l| usize::try_from(l).ok());
        let Some(end) = len.and_then(|l| data.checked_add(l)).filter(|&e| e <= self.bytes.len()) else {
            return err(dict.span().start, format!("object {num}: /Length missing or past the end of the file"));
        };
        let close = skip_ws(self.bytes, end);
        if !self.bytes.get(close..).is_some_and(|b| b.starts_with(b"endstream")) {
            return err(close, format!("object {num}: no endstream after /Length bytes"));
        }
        Ok((dict, &self.bytes[data..end]))
    }

    /// The catalog's `/DSS` (document security store): the data of every stream it lists
    /// under `/Certs`, `/CRLs` and `/OCSPs`, or `None` when there is no DSS.
    ///
    /// # Errors
    /// When the DSS or one of its streams is malformed.
    pub fn dss(&self) -> Result<Option<Dss>, PdfError> {
        let (_, catalog) = self.root()?;
        let Some(dss) = catalog.get("DSS") else { return Ok(None) };
        let dss = self.resolve(dss)?;
        if !matches!(dss, Value::Dict(..)) {
            return err(dss.span().start, "/DSS is not a dictionary");
        }
        let list = |key: &str| -> Result<Vec<Vec<u8>>, PdfError> {
            let items = match dss.get(key) {
                None => return Ok(Vec::new()),
                Some(v) => match self.resolve(v)? {
                    Value::Array(items, _) => items,
                    other => return err(other.span().start, format!("/DSS /{key} is not an array")),
                },
            };
            items
                .iter()
                .take(4096)
                .map(|v| match v.as_ref() {
                    Some((n, _)) => Ok(self.stream(n)?.1.to_vec()),
                    None => err(v.span().start, format!("/DSS /{key} holds a non-reference")),
                })
                .collect()
        };
        Ok(Some(Dss { certs: list("Certs")?, crls: list("CRLs")?, ocsps: list("OCSPs")? }))
    }

    /// The objects whose cross-reference entry differs from `earlier`'s (a revision of the
    /// same file: new objects and redefined ones), sorted.
    pub fn changed_objects(&self, earlier: &Pdf<'_>) -> Vec<u32> {
        let mut changed: Vec<u32> =
            self.offsets.iter().filter(|(n, e)| earlier.offsets.get(n) != Some(e)).map(|(n, _)| *n).collect();
        changed.sort_unstable();
        changed
    }

    /// The catalog: its object number and dictionary.
    ///
    /// # Errors
    /// When the trailer has no `/Root` or it is unreadable.
    pub fn root(&self) -> Result<(u32, Value), PdfError> {
        let Some((num, _)) = self.trailer.get("Root").and_then(Value::as_ref) else {
            return err(self.startxref, "trailer has no /Root");
        };
        Ok((num, self.object(num)?.0))
    }

    /// The first page: its object number and dictionary.
    ///
    /// # Errors
    /// When the page tree is malformed.
    pub fn first_page(&self, catalog: &Value) -> Result<(u32, Value), PdfError> {
        let mut node = catalog.get("Pages").and_then(Value::as_ref).map(|r| r.0);
        for _ in 0..32 {
            let Some(num) = node else { break };
            let (dict, span) = self.object(num)?;
            if dict.get("Type").is_some_and(|t| t.is_name("Page")) {
                return Ok((num, dict));
            }
            node = match dict.get("Kids") {
                Some(Value::Array(kids, _)) => kids.first().and_then(Value::as_ref).map(|r| r.0),
                _ => return err(span.start, format!("page tree node {num} has no /Kids")),
            };
        }
        err(0, "no page found")
    }

    /// Every signature field's value dictionary (`/FT /Sig` fields of the AcroForm).
    ///
    /// # Errors
    /// When the form or a field is malformed.
    pub fn signatures(&self) -> Result<Vec<Signature>, PdfError> {
        let (_, catalog) = self.root()?;
        let Some(form) = catalog.get("AcroForm") else { return Ok(Vec::new()) };
        let form = self.resolve(form)?;
        let fields = match form.get("Fields") {
            Some(f) => self.resolve(f)?,
            None => return Ok(Vec::new()),
        };
        let Value::Array(fields, _) = fields else { return err(form.span().start, "/Fields is not an array") };
        let mut out = Vec::new();
        for field in fields.iter().take(1024) {
            let field = self.resolve(field)?;
            if !field.get("FT").is_some_and(|t| t.is_name("Sig")) {
                continue;
            }
            let Some(v) = field.get("V") else { continue };
            let dict = self.resolve(v)?;
            out.push(Signature::from_dict(self.bytes, &dict)?);
        }
        Ok(out)
    }
}

/// A signature dictionary as written: where its `/Contents` sits and what `/ByteRange` says.
#[derive(Debug, Clone)]
pub struct Signature {
    /// `/SubFilter`.
    pub sub_filter: String,
    /// `/ByteRange` as four numbers.
    pub byte_range: Vec<i64>,
    /// The span of the `/Contents` hex string, delimiters included.
    pub contents_span: Range<usize>,
    /// The decoded `/Contents` bytes (the CMS, zero padded).
    pub contents: Vec<u8>,
    /// `/M`, the claimed signing time, as written (`D:…`).
    pub signing_time: Option<String>,
}

impl Signature {
    /// Where the revision this signature signs ends (`/ByteRange` offset + length of its
    /// second part), when the range is well formed.
    pub fn revision_end(&self) -> Option<usize> {
        match self.byte_range.as_slice() {
            [0, _, b, c] => b.checked_add(*c).and_then(|e| usize::try_from(e).ok()),
            _ => None,
        }
    }
}

/// The PAdES baseline level a signed PDF reaches (ETSI EN 319 142-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum PadesLevel {
    /// A CAdES signature (`ETSI.CAdES.detached`) and nothing more.
    #[serde(rename = "B-B")]
    BB,
    /// … with a signature timestamp (`signatureTimeStampToken`).
    #[serde(rename = "B-T")]
    BT,
    /// … and validation data in the document security store (`/DSS`).
    #[serde(rename = "B-LT")]
    BLt,
    /// … and a document timestamp over the whole file.
    #[serde(rename = "B-LTA")]
    BLta,
}

impl PadesLevel {
    /// `B-B`, `B-T`, `B-LT` or `B-LTA`.
    pub fn as_str(self) -> &'static str {
        match self {
            PadesLevel::BB => "B-B",
            PadesLevel::BT => "B-T",
            PadesLevel::BLt => "B-LT",
            PadesLevel::BLta => "B-LTA",
        }
    }
}

impl std::fmt::Display for PadesLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// A document security store (PAdES B-LT): DER certificates, CRLs and OCSP responses, each
/// written as one uncompressed stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dss {
    /// DER certificates.
    pub certs: Vec<Vec<u8>>,
    /// DER CRLs.
    pub crls: Vec<Vec<u8>>,
    /// DER OCSP responses.
    pub ocsps: Vec<Vec<u8>>,
}

impl Dss {
    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty() && self.crls.is_empty() && self.ocsps.is_empty()
    }
}

/// Appends an incremental update that gives the catalog a `/DSS` holding `dss` (replacing
/// any earlier one, whose data should then be included in `dss`). The signatures before it
/// stay valid: PAdES allows exactly this change after a signature.
///
/// # Errors
/// When the PDF has no classic xref or no catalog, or runs out of object numbers.
pub fn add_dss(original: &[u8], dss: &Dss) -> Result<Vec<u8>, PdfError> {
    let pdf = Pdf::parse(original)?;
    let (catalog_num, catalog) = pdf.root()?;
    let mut next = pdf.size()?;
    let mut objects: Vec<(u32, Vec<u8>)> = Vec::new();
    let mut dict = String::from("<<");
    for (key, items) in [("Certs", &dss.certs), ("CRLs", &dss.crls), ("OCSPs", &dss.ocsps)] {
        if items.is_empty() {
            continue;
        }
        let mut refs = Vec::new();
        for data in items {
            let mut body = format!("<< /Length {} >>\nstream\n", data.len()).into_bytes();
            body.extend_from_slice(data);
            body.extend_from_slice(b"\nendstream");
            refs.push(format!("{next} 0 R"));
            objects.push((next, body));
            next = next.checked_add(1).map_or_else(|| err(pdf.startxref, "no object numbers left"), Ok)?;
        }
        write!(dict, " /{key} [{}]", refs.join(" ")).ok();
    }
    dict.push_str(" >>");
    let dss_num = next;
    let size = next.checked_add(1).map_or_else(|| err(pdf.startxref, "no object numbers left"), Ok)?;
    objects.push((dss_num, dict.into_bytes()));
    let mut cat = dict_text(original, &catalog, &["DSS"]);
    write!(cat, " /DSS {dss_num} 0 R").ok();
    objects.push((catalog_num, close_dict(cat)));
    Ok(append_update(&pdf, &objects, size)?.0)
}

impl Signature {
    fn from_dict(bytes: &[u8], dict: &Value) -> Result<Signature, PdfError> {
        let at = dict.span().start;
        let sub_filter = match dict.get("SubFilter") {
            Some(Value::Name(n, _)) => n.clone(),
            _ => return err(at, "signature has no /SubFilter"),
        };
        let byte_range = match dict.get("ByteRange") {
            Some(Value::Array(items, _)) => items
                .iter()
                .map(|v| v.as_int().map_or_else(|| err(at, "/ByteRange holds a non-integer"), Ok))
                .collect::<Result<Vec<_>, _>>()?,
            _ => return err(at, "signature has no /ByteRange"),
        };
        let contents_span = match dict.get("Contents") {
            Some(Value::String(span)) if bytes.get(span.start) == Some(&b'<') => span.clone(),
            _ => return err(at, "signature /Contents is not a hex string"),
        };
        let contents = decode_hex(&bytes[contents_span.start + 1..contents_span.end - 1])
            .map_or_else(|| err(contents_span.start, "signature /Contents is not valid hex"), Ok)?;
        let signing_time = match dict.get("M") {
            Some(Value::String(span)) => {
                Some(String::from_utf8_lossy(&bytes[span.start + 1..span.end - 1]).into_owned())
            }
            _ => None,
        };
        Ok(Signature { sub_filter, byte_range, contents_span, contents, signing_time })
    }
}

fn decode_hex(text: &[u8]) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.iter().copied().filter(|b| !is_white(*b)).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    hex::decode(digits).ok()
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// Reads one classic `xref` section at `at` into `offsets` (entries already known are newer
/// and kept) and returns its trailer.
fn read_xref_section(buf: &[u8], at: usize, offsets: &mut HashMap<u32, (u16, usize)>) -> Result<Value, PdfError> {
    let mut p = skip_ws(buf, at);
    if !buf.get(p..).is_some_and(|b| b.starts_with(b"xref")) {
        return err(at, "startxref does not point at a classic 'xref' table (xref streams are not supported)");
    }
    p += 4;
    loop {
        p = skip_ws(buf, p);
        if buf.get(p..).is_some_and(|b| b.starts_with(b"trailer")) {
            return parse_value(buf, p + b"trailer".len());
        }
        let (Value::Number(first, _), Value::Number(count, s)) = (parse_value(buf, p)?, {
            let end = token_end(buf, skip_ws(buf, p));
            parse_value(buf, end)?
        }) else {
            return err(p, "bad xref subsection header");
        };
        // Object numbers are u32: the subsection `first count` must be whole numbers and its
        // last object `first + count - 1` must fit (a crafted `4294967295 2` would overflow).
        let whole = first.fract() == 0.0 && count.fract() == 0.0;
        let in_range = (0.0..=f64::from(u32::MAX)).contains(&first) && (0.0..=10_000_000.0).contains(&count);
        let fits = whole && in_range && (first as u32).checked_add((count as u32).saturating_sub(1)).is_some();
        let Some(first) = fits.then_some(first as u32) else {
            return err(p, format!("bad xref subsection header '{first} {count}' (object numbers out of range)"));
        };
        p = s.end;
        // Entries are 20 bytes: 10-digit offset, space, 5-digit generation, space, n|f, EOL.
        p = skip_ws_one_line(buf, p);
        for i in 0..count as u32 {
            let Some(entry) = p.checked_add(20).and_then(|end| buf.get(p..end)) else {
                return err(p, "truncated xref table");
            };
            let (Some(off), Some(generation)) = (ascii_num(&entry[0..10]), ascii_num(&entry[11..16])) else {
                return err(p, "bad xref entry");
            };
            let (Ok(off), Ok(generation)) = (usize::try_from(off), u16::try_from(generation)) else {
                return err(p, "xref entry offset or generation out of range");
            };
            if entry[17] == b'n' {
                // Cannot overflow: checked against the subsection header above.
                let Some(num) = first.checked_add(i) else { return err(p, "object number out of range") };
                offsets.entry(num).or_insert((generation, off));
            } else if entry[17] != b'f' {
                return err(p, "bad xref entry type");
            }
            p += 20;
        }
    }
}

fn skip_ws_one_line(buf: &[u8], mut p: usize) -> usize {
    while buf.get(p).is_some_and(|&b| b == b' ' || b == b'\r' || b == b'\n') {
        p += 1;
    }
    p
}

fn ascii_num(b: &[u8]) -> Option<u64> {
    b.iter().all(u8::is_ascii_digit).then(|| b.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}

/// What the signature dictionary should say besides the signature itself.
#[derive(Debug, Clone)]
pub struct SignatureFields {
    /// `/SubFilter`, e.g. `ETSI.CAdES.detached`.
    pub sub_filter: &'static str,
    /// `/M`, as a PDF date (`D:YYYYMMDDHHmmSSZ`).
    pub signing_time: String,
    /// `/Name`: the signer's name.
    pub name: Option<String>,
    /// `/Reason`.
    pub reason: Option<String>,
    /// `/Location`.
    pub location: Option<String>,
    /// `/ContactInfo`.
    pub contact_info: Option<String>,
    /// Bytes reserved for the CMS in `/Contents`.
    pub reserve: usize,
}

/// The `/SubFilter` of a document timestamp (PAdES B-LTA): `/Contents` is an RFC 3161 token.
pub const DOC_TIMESTAMP_SUB_FILTER: &str = "ETSI.RFC3161";

impl SignatureFields {
    /// A document timestamp (`/Type /DocTimeStamp`) with `reserve` bytes for the token.
    pub fn doc_timestamp(reserve: usize) -> SignatureFields {
        SignatureFields {
            sub_filter: DOC_TIMESTAMP_SUB_FILTER,
            signing_time: String::new(),
            name: None,
            reason: None,
            location: None,
            contact_info: None,
            reserve,
        }
    }
}

/// A PDF with an incremental update appended whose signature `/Contents` is still zeros.
#[derive(Debug)]
pub struct Prepared {
    /// The whole new file.
    pub bytes: Vec<u8>,
    /// Span of the `/Contents` hex string, delimiters included.
    contents: Range<usize>,
}

impl Prepared {
    /// The bytes the signature covers: everything but the `/Contents` hex string.
    pub fn signed_ranges(&self) -> [&[u8]; 2] {
        [&self.bytes[..self.contents.start], &self.bytes[self.contents.end..]]
    }

    /// Writes the CMS (DER) into the placeholder.
    ///
    /// # Errors
    /// When the CMS is larger than the space reserved.
    pub fn finish(mut self, cms: &[u8]) -> Result<Vec<u8>, PdfError> {
        let room = (self.contents.len() - 2) / 2;
        if cms.len() > room {
            return err(self.contents.start, format!("signature of {} bytes exceeds the {room} reserved", cms.len()));
        }
        let hex = hex::encode_upper(cms);
        self.bytes[self.contents.start + 1..self.contents.start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(self.bytes)
    }
}

/// Appends an incremental update that adds an invisible signature field on the first page
/// and a signature dictionary with a zero-filled `/Contents` and a final `/ByteRange`. The
/// original bytes are kept unchanged, so what was PDF/A stays PDF/A. A PDF that already has
/// signature fields (ours: the PAdES signature before its document timestamp) keeps them:
/// the new field is added to the form's `/Fields`.
///
/// # Errors
/// When the PDF has no classic xref, no catalog or page, or a malformed form.
pub fn prepare_signature(original: &[u8], fields: &SignatureFields) -> Result<Prepared, PdfError> {
    let pdf = Pdf::parse(original)?;
    let (catalog_num, catalog) = pdf.root()?;
    let (page_num, page) = pdf.first_page(&catalog)?;
    let size = pdf.size()?;
    let Some(after) = size.checked_add(2) else {
        return err(pdf.startxref, "trailer /Size leaves no room for two more objects");
    };
    let (widget, sig) = (size, after - 1);
    let existing = pdf.signatures()?.len();
    let mut objects: Vec<(u32, Vec<u8>)> = form_with_field(&pdf, catalog_num, &catalog, widget)?;
    let page_update = page_with_widget(&pdf, page_num, &page, widget)?;
    // Crafted files can make the catalog (or the form) its own first page: refused, as the
    // object would be written twice.
    if objects.iter().any(|(n, _)| *n == page_update.0) {
        return err(page.span().start, "the catalog is also a page (or the form's object is)");
    }
    objects.push(page_update);
    objects.push((
        widget,
        format!(
            "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature{}) /V {sig} 0 R /P {page_num} 0 R /Rect [0 0 0 0] /F 132 >>",
            existing + 1
        )
        .into_bytes(),
    ));
    let (sig_dict, br_at, contents_at) = signature_dict(fields);
    objects.push((sig, sig_dict.into_bytes()));

    let (mut out, at) = append_update(&pdf, &objects, after)?;
    let sig_body_at = at[objects.len() - 1];
    let contents = sig_body_at + contents_at..sig_body_at + contents_at + fields.reserve * 2 + 2;
    let range = format!("[0 {} {} {}]", contents.start, contents.end, out.len() - contents.end);
    if range.len() > BYTE_RANGE_SLOT {
        return err(sig_body_at, "file too large for the /ByteRange slot");
    }
    out[sig_body_at + br_at..sig_body_at + br_at + range.len()].copy_from_slice(range.as_bytes());
    Ok(Prepared { bytes: out, contents })
}

/// The objects to rewrite so the form lists `widget`: the catalog with a new or extended
/// inline `/AcroForm`, or the form object (or its `/Fields` array object) when indirect.
fn form_with_field(
    pdf: &Pdf<'_>,
    catalog_num: u32,
    catalog: &Value,
    widget: u32,
) -> Result<Vec<(u32, Vec<u8>)>, PdfError> {
    let bytes = pdf.bytes;
    let Some(form_value) = catalog.get("AcroForm") else {
        let mut cat = dict_text(bytes, catalog, &[]);
        write!(cat, " /AcroForm << /Fields [{widget} 0 R] /SigFlags 3 >>").ok();
        return Ok(vec![(catalog_num, close_dict(cat))]);
    };
    let form = pdf.resolve(form_value)?;
    if !matches!(form, Value::Dict(..)) {
        return err(form.span().start, "/AcroForm is not a dictionary");
    }
    let (fields_obj, list) = match form.get("Fields") {
        Some(Value::Ref(n, _, _)) => match pdf.object(*n)?.0 {
            Value::Array(items, _) => (Some(*n), items),
            other => return err(other.span().start, "/Fields is not an array"),
        },
        Some(Value::Array(items, _)) => (None, items.clone()),
        Some(other) => return err(other.span().start, "/Fields is not an array"),
        None => (None, Vec::new()),
    };
    let mut refs: Vec<String> = list.iter().map(|v| String::from_utf8_lossy(&bytes[v.span()]).into_owned()).collect();
    refs.push(format!("{widget} 0 R"));
    let array = format!("[{}]", refs.join(" "));
    // /SigFlags 3: signatures exist, and the file is to be changed by incremental updates only.
    let mut new_form = dict_text(bytes, &form, &["Fields", "SigFlags"]);
    match fields_obj {
        Some(n) => write!(new_form, " /Fields {n} 0 R /SigFlags 3").ok(),
        None => write!(new_form, " /Fields {array} /SigFlags 3").ok(),
    };
    let new_form = close_dict(new_form);
    let mut out = Vec::new();
    if let Some(n) = fields_obj {
        out.push((n, array.into_bytes()));
    }
    match form_value {
        Value::Ref(n, _, _) => out.push((*n, new_form)),
        _ => {
            let mut cat = dict_text(bytes, catalog, &["AcroForm"]);
            write!(cat, " /AcroForm {}", String::from_utf8_lossy(&new_form)).ok();
            out.push((catalog_num, close_dict(cat)));
        }
    }
    if let (Some(f), Value::Ref(n, _, _)) = (fields_obj, form_value)
        && f == *n
    {
        return err(form.span().start, "the form and its /Fields are the same object");
    }
    Ok(out)
}

/// Appends `objects` (number, body) to the file as one incremental update with a classic
/// xref table and a trailer of `/Size size` pointing back at the previous one. Returns the
/// new file and, per object, the offset where its body starts.
pub(crate) fn append_update(
    pdf: &Pdf<'_>,
    objects: &[(u32, Vec<u8>)],
    size: u32,
) -> Result<(Vec<u8>, Vec<usize>), PdfError> {
    let bytes = pdf.bytes;
    let Some((root, _)) = pdf.trailer.get("Root").and_then(Value::as_ref) else {
        return err(pdf.startxref, "trailer has no /Root");
    };
    let mut out = bytes.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut xref: Vec<(u32, usize)> = Vec::new();
    let mut body_at = Vec::new();
    for (num, body) in objects {
        if xref.iter().any(|(n, _)| n == num) {
            return err(pdf.startxref, format!("object {num} written twice in one update"));
        }
        xref.push((*num, out.len()));
        out.extend_from_slice(format!("{num} 0 obj\n").as_bytes());
        body_at.push(out.len());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    xref.sort();
    let xref_at = out.len();
    let mut trailer = format!("trailer\n<< /Size {size} /Root {root} 0 R");
    for key in ["Info", "ID"] {
        if let Some(v) = pdf.trailer.get(key) {
            write!(trailer, " /{key} {}", String::from_utf8_lossy(&bytes[v.span()])).ok();
        }
    }
    write!(trailer, " /Prev {} >>\nstartxref\n{xref_at}\n%%EOF\n", pdf.startxref).ok();
    out.extend_from_slice(xref_table(&xref).as_bytes());
    out.extend_from_slice(trailer.as_bytes());
    Ok((out, body_at))
}

/// The first page (or its `/Annots` array object) with the widget added to `/Annots`.
fn page_with_widget(pdf: &Pdf<'_>, page_num: u32, page: &Value, widget: u32) -> Result<(u32, Vec<u8>), PdfError> {
    let bytes = pdf.bytes;
    let text = |v: &Value| String::from_utf8_lossy(&bytes[v.span()]).into_owned();
    match page.get("Annots") {
        Some(Value::Ref(n, _, _)) => {
            let (annots, _) = pdf.object(*n)?;
            let Value::Array(items, _) = &annots else { return err(annots.span().start, "/Annots is not an array") };
            let list: Vec<String> = items.iter().map(text).collect();
            Ok((*n, format!("[{} {widget} 0 R]", list.join(" ")).into_bytes()))
        }
        Some(Value::Array(items, _)) => {
            let list: Vec<String> = items.iter().map(text).collect();
            let mut p = dict_text(bytes, page, &["Annots"]);
            write!(p, " /Annots [{} {widget} 0 R]", list.join(" ")).ok();
            Ok((page_num, close_dict(p)))
        }
        Some(other) => err(other.span().start, "/Annots is not an array"),
        None => {
            let mut p = dict_text(bytes, page, &[]);
            write!(p, " /Annots [{widget} 0 R]").ok();
            Ok((page_num, close_dict(p)))
        }
    }
}

/// The signature dictionary with a zero-filled `/Contents` and a blank, fixed-width
/// `/ByteRange` slot; returns it with the offsets of that slot and of `/Contents`.
fn signature_dict(fields: &SignatureFields) -> (String, usize, usize) {
    let doc_timestamp = fields.sub_filter == DOC_TIMESTAMP_SUB_FILTER;
    let kind = if doc_timestamp { "DocTimeStamp" } else { "Sig" };
    let mut s = format!("<< /Type /{kind} /Filter /Adobe.PPKLite /SubFilter /{} /ByteRange ", fields.sub_filter);
    let br_at = s.len();
    s.push_str(&" ".repeat(BYTE_RANGE_SLOT));
    s.push_str(" /Contents ");
    let contents_at = s.len();
    s.push('<');
    s.push_str(&"0".repeat(fields.reserve * 2));
    s.push('>');
    if doc_timestamp {
        // The time is the token's; a document timestamp has no signer to describe.
        s.push_str(" >>");
        return (s, br_at, contents_at);
    }
    write!(s, " /M {}", pdf_string(&fields.signing_time)).ok();
    for (key, value) in [
        ("Name", &fields.name),
        ("Reason", &fields.reason),
        ("Location", &fields.location),
        ("ContactInfo", &fields.contact_info),
    ] {
        if let Some(v) = value {
            write!(s, " /{key} {}", pdf_string(v)).ok();
        }
    }
    s.push_str(" >>");
    (s, br_at, contents_at)
}

/// A classic xref table over sorted `(object, offset)` pairs, one subsection per run of
/// consecutive numbers.
fn xref_table(xref: &[(u32, usize)]) -> String {
    let mut table = String::from("xref\n");
    let mut i = 0;
    while i < xref.len() {
        let mut j = i;
        while j + 1 < xref.len() && xref[j].0.checked_add(1) == Some(xref[j + 1].0) {
            j += 1;
        }
        writeln!(table, "{} {}", xref[i].0, j - i + 1).ok();
        for (_, off) in &xref[i..=j] {
            table.push_str(&format!("{off:010} 00000 n \n"));
        }
        i = j + 1;
    }
    table
}

/// Room for `[0 a b c]` with three 10-digit numbers (files up to 9.3 GB).
const BYTE_RANGE_SLOT: usize = 36;

/// The dictionary's entries as text `<< /K v …`, without the closing `>>`, leaving out `skip`.
fn dict_text(bytes: &[u8], dict: &Value, skip: &[&str]) -> String {
    let mut s = String::from("<<");
    if let Value::Dict(entries, _) = dict {
        for (k, v) in entries {
            if !skip.contains(&k.as_str()) {
                write!(s, " /{k} {}", String::from_utf8_lossy(&bytes[v.span()])).ok();
            }
        }
    }
    s
}

fn close_dict(mut s: String) -> Vec<u8> {
    s.push_str(" >>");
    s.into_bytes()
}

/// A PDF text string: literal when printable ASCII, else UTF-16BE hex with a BOM.
pub fn pdf_string(s: &str) -> String {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        let mut out = String::from("(");
        for c in s.chars() {
            if matches!(c, '(' | ')' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push(')');
        out
    } else {
        let mut out = String::from("<FEFF");
        for unit in s.encode_utf16() {
            write!(out, "{unit:04X}").ok();
        }
        out.push('>');
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Signature fields with no optional entries and `reserve` bytes for the CMS.
    fn bare_fields(reserve: usize) -> SignatureFields {
        SignatureFields {
            sub_filter: "ETSI.CAdES.detached",
            signing_time: "D:20261001000000Z".into(),
            name: None,
            reason: None,
            location: None,
            contact_info: None,
            reserve,
        }
    }

    /// A minimal one-page PDF with a classic xref, built with correct offsets.
    pub(crate) fn tiny_pdf() -> Vec<u8> {
        let objs = [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Annots [] >>",
        ];
        let mut out = b"%PDF-1.7\n".to_vec();
        let mut offs = Vec::new();
        for (i, o) in objs.iter().enumerate() {
            offs.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(b"xref\n0 4\n0000000000 65535 f \n");
        for o in offs {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!("trailer\n<< /Size 4 /Root 1 0 R /ID [<AB> <AB>] >>\nstartxref\n{xref}\n%%EOF").as_bytes(),
        );
        out
    }

    #[test]
    fn parses_values() {
        let v = parse_value(b"<< /A 1 0 R /B [1 2.5 (a\\)b(c)) <0aF>] /C /N#20x /D true >>", 0).unwrap();
        assert_eq!(v.get("A").and_then(Value::as_ref), Some((1, 0)));
        let Some(Value::Array(items, _)) = v.get("B") else { panic!() };
        assert_eq!(items.len(), 4);
        assert!(matches!(v.get("D"), Some(Value::Keyword(k, _)) if k == "true"));
        assert!(parse_value(b"<< /A (unterminated >>", 0).is_err());
        assert!(parse_value(b"[[[[", 0).is_err());
        assert!(parse_value(&[b'['; 200], 0).is_err());
    }

    #[test]
    fn signs_and_reads_back() {
        let original = tiny_pdf();
        let fields = SignatureFields {
            sub_filter: "ETSI.CAdES.detached",
            signing_time: "D:20261001000000Z".into(),
            name: Some("Test".into()),
            reason: Some("Evidence (Q3)".into()),
            location: Some("Zürich".into()),
            contact_info: None,
            reserve: 64,
        };
        let prepared = prepare_signature(&original, &fields).unwrap();
        assert!(prepared.bytes.starts_with(&original));
        let covered: usize = prepared.signed_ranges().iter().map(|r| r.len()).sum();
        let signed = prepared.finish(&[0x30, 0x03, 0x02, 0x01, 0x05]).unwrap();
        assert_eq!(covered + 64 * 2 + 2, signed.len());
        let pdf = Pdf::parse(&signed).unwrap();
        let sigs = pdf.signatures().unwrap();
        assert_eq!(sigs.len(), 1);
        let s = &sigs[0];
        assert_eq!(s.sub_filter, "ETSI.CAdES.detached");
        let b = &s.byte_range;
        assert_eq!((b[0], b[1] as usize, b[2] as usize), (0, s.contents_span.start, s.contents_span.end));
        assert_eq!((b[2] + b[3]) as usize, signed.len());
        assert_eq!(&s.contents[..5], &[0x30, 0x03, 0x02, 0x01, 0x05]);
        assert_eq!(s.signing_time.as_deref(), Some("D:20261001000000Z"));
        // The page now lists the widget.
        let (page, _) = pdf.object(3).unwrap();
        assert!(matches!(page.get("Annots"), Some(Value::Array(a, _)) if a.len() == 1));
    }

    #[test]
    fn oversized_signature_is_an_error() {
        let fields = bare_fields(4);
        let prepared = prepare_signature(&tiny_pdf(), &fields).unwrap();
        assert!(prepared.finish(&[0u8; 5]).is_err());
    }

    #[test]
    fn damaged_files_are_errors_not_panics() {
        let original = tiny_pdf();
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..2000 {
            let b = damaged(&mut rng, &original, 1);
            if let Ok(pdf) = Pdf::parse(&b) {
                let _ = pdf.signatures();
                let _ = prepare_signature(
                    &b,
                    &SignatureFields {
                        sub_filter: "adbe.pkcs7.detached",
                        signing_time: "D:2026Z".into(),
                        name: None,
                        reason: None,
                        location: None,
                        contact_info: None,
                        reserve: 8,
                    },
                );
            }
        }
    }

    /// `original` with `flips` random bytes changed and, one time in two, cut short.
    fn damaged(rng: &mut fastrand::Rng, original: &[u8], flips: usize) -> Vec<u8> {
        let mut b = original.to_vec();
        for _ in 0..flips {
            let i = rng.usize(..b.len());
            b[i] = rng.u8(..);
        }
        if rng.bool() {
            b.truncate(rng.usize(..b.len()));
        }
        b
    }

    /// A PDF holding `objs` (number, body), one xref subsection per object, and `trailer`.
    fn crafted(objs: &[(u32, &str)], trailer: &str) -> Vec<u8> {
        let mut out = b"%PDF-1.7\n".to_vec();
        let mut xref = String::from("xref\n0 1\n0000000000 65535 f \n");
        for (num, body) in objs {
            xref.push_str(&format!("{num} 1\n{:010} 00000 n \n", out.len()));
            out.extend_from_slice(format!("{num} 0 obj\n{body}\nendobj\n").as_bytes());
        }
        let at = out.len();
        out.extend_from_slice(format!("{xref}trailer\n{trailer}\nstartxref\n{at}\n%%EOF").as_bytes());
        out
    }

    #[test]
    fn xref_subsection_past_the_last_object_number_is_an_error() {
        // `4294967295 2`: the second entry would be object 2^32, which overflows a u32.
        let crafted = String::from_utf8(tiny_pdf()).unwrap().replacen("xref\n0 4\n", "xref\n4294967295 2\n", 1);
        let e = Pdf::parse(crafted.as_bytes()).unwrap_err();
        assert!(e.message.contains("out of range"), "{e}");
        // Also when the header claims far more entries than u32 has room for, or is not whole.
        for header in ["4294967200 100", "1e12 1", "0.5 4", "0 4.5", "-1 4"] {
            let bad = String::from_utf8(tiny_pdf()).unwrap().replacen("xref\n0 4\n", &format!("xref\n{header}\n"), 1);
            assert!(Pdf::parse(bad.as_bytes()).is_err(), "{header}");
        }
        // The very last object number is fine.
        let last = crafted_last_object();
        assert!(Pdf::parse(&last).unwrap().object(u32::MAX).is_ok());
    }

    /// Object 4294967295 is both the catalog and its own first page.
    fn crafted_last_object() -> Vec<u8> {
        crafted(
            &[(u32::MAX, "<< /Type /Page /Pages 4294967295 0 R /MediaBox [0 0 1 1] >>")],
            "<< /Size 5 /Root 4294967295 0 R >>",
        )
    }

    #[test]
    fn out_of_range_xref_entries_and_startxref_are_errors() {
        let ok = String::from_utf8(tiny_pdf()).unwrap();
        // A generation of 99999 does not fit in 16 bits (it used to wrap to 34463).
        let bad = ok.replacen(" 00000 n \n", " 99999 n \n", 1);
        let e = Pdf::parse(bad.as_bytes()).unwrap_err();
        assert!(e.message.contains("out of range"), "{e}");
        // startxref must be a non-negative integer (a negative one used to become 0).
        let at = ok.rfind("startxref\n").unwrap() + "startxref\n".len();
        for bad in ["-5", "1.5", "1e300"] {
            let b = format!("{}{bad}\n%%EOF", &ok[..at]);
            let e = Pdf::parse(b.as_bytes()).unwrap_err();
            assert!(e.message.contains("startxref"), "{bad}: {e}");
        }
    }

    #[test]
    fn signing_near_the_last_object_number_is_an_error_not_a_wrap() {
        let fields = bare_fields(8);
        // /Size 4294967295: the widget and the signature would be objects 2^32 - 1 and 2^32.
        let big = String::from_utf8(tiny_pdf()).unwrap().replacen("/Size 4", "/Size 4294967295", 1);
        let e = prepare_signature(big.as_bytes(), &fields).unwrap_err();
        assert!(e.message.contains("/Size"), "{e}");
        // The catalog and the page are both object 4294967295: refused (it would be written
        // twice), with an error, not a wrap or a panic.
        let e = prepare_signature(&crafted_last_object(), &fields).unwrap_err();
        assert!(e.message.contains("catalog is also a page"), "{e}");
    }

    /// A B-B signature, a /DSS, then a document timestamp: three readable revisions.
    fn signed_with_dss_and_stamp() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let signed = prepare_signature(&tiny_pdf(), &bare_fields(16)).unwrap().finish(&[0x30, 0x00]).unwrap();
        let dss =
            Dss { certs: vec![b"cert one".to_vec(), b"cert\ntwo)".to_vec()], crls: vec![vec![0, 1, 2]], ocsps: vec![] };
        let with_dss = add_dss(&signed, &dss).unwrap();
        let stamped = prepare_signature(&with_dss, &SignatureFields::doc_timestamp(16))
            .unwrap()
            .finish(&[0x30, 0x01, 0x05])
            .unwrap();
        (signed, with_dss, stamped)
    }

    #[test]
    fn dss_and_a_second_field_are_incremental_and_readable() {
        let (signed, with_dss, stamped) = signed_with_dss_and_stamp();
        assert!(with_dss.starts_with(&signed) && stamped.starts_with(&with_dss));
        let pdf = Pdf::parse(&stamped).unwrap();
        let dss = pdf.dss().unwrap().unwrap();
        assert_eq!(dss.certs, vec![b"cert one".to_vec(), b"cert\ntwo)".to_vec()]);
        assert_eq!((dss.crls.len(), dss.ocsps.len()), (1, 0));
        let sigs = pdf.signatures().unwrap();
        assert_eq!(sigs.len(), 2);
        assert_eq!(sigs[1].sub_filter, DOC_TIMESTAMP_SUB_FILTER);
        assert_eq!(&sigs[1].contents[..3], &[0x30, 0x01, 0x05]);
        // The first signature still ends where its revision ended; the stamp covers the file.
        assert_eq!(sigs[0].revision_end(), Some(signed.len()));
        assert_eq!(sigs[1].revision_end(), Some(stamped.len()));
        // The form keeps /SigFlags 3 and lists both fields; the page both widgets.
        let (_, catalog) = pdf.root().unwrap();
        let form = catalog.get("AcroForm").unwrap();
        assert!(matches!(form.get("SigFlags"), Some(Value::Number(n, _)) if *n == 3.0));
        assert!(matches!(form.get("Fields"), Some(Value::Array(f, _)) if f.len() == 2));
        let (_, page) = pdf.first_page(&catalog).unwrap();
        assert!(matches!(page.get("Annots"), Some(Value::Array(a, _)) if a.len() == 2));
        // The document timestamp dictionary is typed and has no signer fields.
        let text = String::from_utf8_lossy(&stamped[with_dss.len()..]);
        assert!(text.contains("/Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161"), "{text}");
        assert!(!text.contains("/M "), "{text}");
        // Only the catalog, the page and new objects changed after the signature.
        let old = Pdf::parse(&signed).unwrap();
        let size = old.size().unwrap();
        assert!(pdf.changed_objects(&old).iter().all(|&n| n >= size || n == 1 || n == 3));
        // A second DSS replaces the first.
        let again = add_dss(&stamped, &Dss { certs: vec![b"x".to_vec()], ..Dss::default() }).unwrap();
        assert_eq!(Pdf::parse(&again).unwrap().dss().unwrap().unwrap().certs, vec![b"x".to_vec()]);
    }

    #[test]
    fn indirect_forms_get_the_new_field() {
        // The form and its /Fields are objects of their own.
        let pdf = crafted(
            &[
                (1, "<< /Type /Catalog /Pages 2 0 R /AcroForm 4 0 R >>"),
                (2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
                (3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 1 1] >>"),
                (4, "<< /Fields 5 0 R /DA (x) >>"),
                (5, "[]"),
            ],
            "<< /Size 6 /Root 1 0 R >>",
        );
        let signed = prepare_signature(&pdf, &bare_fields(8)).unwrap().finish(&[0x30, 0x00]).unwrap();
        let p = Pdf::parse(&signed).unwrap();
        assert!(matches!(p.object(5).unwrap().0, Value::Array(a, _) if a.len() == 1));
        assert!(matches!(p.object(4).unwrap().0.get("SigFlags"), Some(Value::Number(n, _)) if *n == 3.0));
        assert_eq!(p.signatures().unwrap().len(), 1);
        // Form and /Fields being one object is refused.
        let same = crafted(
            &[
                (1, "<< /Type /Catalog /Pages 2 0 R /AcroForm 4 0 R >>"),
                (2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
                (3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 1 1] >>"),
                (4, "<< /Fields 4 0 R >>"),
            ],
            "<< /Size 5 /Root 1 0 R >>",
        );
        assert!(prepare_signature(&same, &bare_fields(8)).is_err());
    }

    #[test]
    fn hostile_streams_and_dss_are_errors_with_offsets() {
        let (_, _, stamped) = signed_with_dss_and_stamp();
        let text = String::from_utf8_lossy(&stamped).into_owned();
        // A /Length past the end, a missing endstream, a DSS that is not a dictionary.
        let cases = [
            ("/Length 8 >>", "/Length 0 >>"),
            ("cert one\nendstream", "cert one\nendstreaX"),
            ("/DSS 9 0 R", "/DSS 6 0 R"),
        ];
        for (from, to) in cases {
            // The last occurrence: the catalog is rewritten by each update.
            let at = text.rfind(from).unwrap();
            let bad = format!("{}{to}{}", &text[..at], &text[at + from.len()..]);
            assert_ne!(bad, text, "{from}");
            let pdf = Pdf::parse(bad.as_bytes()).unwrap();
            let e = pdf.dss().unwrap_err();
            assert!(e.offset > 0 || e.message.contains("object"), "{e}");
        }
        // Random damage anywhere: errors, never panics.
        let mut rng = fastrand::Rng::with_seed(17);
        for _ in 0..3000 {
            let flips = rng.usize(1..4);
            let b = damaged(&mut rng, &stamped, flips);
            if let Ok(pdf) = Pdf::parse(&b) {
                let _ = pdf.signatures();
                let _ = pdf.dss();
                let _ = Pdf::parse(&stamped).map(|old| pdf.changed_objects(&old));
                let _ = add_dss(&b, &Dss::default());
                let _ = prepare_signature(&b, &SignatureFields::doc_timestamp(8));
            }
        }
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(pdf_string("a(b)\\"), "(a\\(b\\)\\\\)");
        assert_eq!(pdf_string("ü"), "<FEFF00FC>");
    }
}

//! Render: the risk officer's PDF, compiled with Typst embedded as a library.
//!
//! A private [`World`] serves the template (`report-templates/report.typ`, compiled in, or a
//! user's copy from `--templates DIR`), the report data as `data.json`, and the files to attach
//! (flat names such as `findings.csv`), with fonts from `typst-assets` — no network, no system
//! fonts. `today()` and the PDF timestamp come from the package's generated-at time and the
//! document id from the package id, so the same inputs give the same bytes. The output is
//! PDF/A-3b: the attached CSV/JSON files carry a MIME type, a description and an AF
//! relationship.
//!
//! [`Renderer::Child`] lays the report out in a child process ([`child`]), which the command
//! line uses so Typst's memory is not added to the build's peak; library callers get the same
//! bytes in-process with [`Renderer::InProcess`].

pub mod child;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{Datelike, Timelike};
use typst::diag::{FileError, FileResult, Severity, SourceDiagnostic, Warned};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World, WorldExt};
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp as PdfTimestamp};

use crate::time::Timestamp;

/// The template shipped with the tool.
pub const DEFAULT_TEMPLATE: &str = include_str!("../report-templates/report.typ");

/// A file to attach to the PDF.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// Flat name in the PDF (`findings.csv`).
    pub name: String,
    /// Where its bytes are.
    pub path: PathBuf,
    /// MIME type.
    pub mime: &'static str,
    /// One-line description.
    pub description: String,
}

/// What to render.
#[derive(Debug, Clone)]
pub struct RenderOptions<'a> {
    /// `data.json` for the template.
    pub data: Vec<u8>,
    /// Files to attach.
    pub attachments: &'a [Attachment],
    /// Folder with a user's `report.typ` (default: the built-in template).
    pub templates: Option<&'a Path>,
    /// Document date and `today()`.
    pub generated_at: Timestamp,
    /// Stable document identifier (the package id).
    pub ident: String,
}

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The template or an attachment could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Typst reported errors (each as `file:line:col: message`).
    #[error("the report template failed:\n{0}")]
    Template(String),
    /// The render child process could not be started or did not answer.
    #[error("{0}")]
    Child(String),
}

/// Where the report is laid out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Renderer {
    /// In this process.
    #[default]
    InProcess,
    /// In a child process running this executable's hidden `render-report` command.
    Child(PathBuf),
}

impl Renderer {
    /// The child-process renderer for the running executable, or in-process when its path is
    /// not known.
    pub fn child_of_current_exe() -> Self {
        std::env::current_exe().map_or(Renderer::InProcess, Renderer::Child)
    }

    /// Gets ready to render: starts the child, which parses the fonts while the caller works.
    ///
    /// # Errors
    /// When the child cannot be started.
    pub fn start(&self) -> Result<Prepared, RenderError> {
        Ok(Prepared(match self {
            Renderer::InProcess => None,
            Renderer::Child(exe) => Some(child::start(exe)?),
        }))
    }
}

/// A renderer ready for its one report (see [`Renderer::start`]).
#[derive(Debug)]
pub struct Prepared(Option<child::Started>);

impl Prepared {
    /// Renders the report to PDF/A-3b bytes, as [`render_pdf`] does.
    ///
    /// # Errors
    /// As for [`render_pdf`], and when the child fails.
    pub fn render(self, opts: &RenderOptions<'_>) -> Result<Vec<u8>, RenderError> {
        match self.0 {
            None => render_pdf(opts),
            Some(started) => started.render(opts),
        }
    }
}

fn file_id(path: &str) -> Result<FileId, RenderError> {
    let vpath =
        VirtualPath::new(path).map_err(|e| RenderError::Template(format!("invalid file name {path:?}: {e:?}")))?;
    Ok(RootedPath::new(VirtualRoot::Project, vpath).intern())
}

/// Fonts, parsed once per process.
fn fonts() -> &'static (LazyHash<FontBook>, Vec<Font>) {
    static FONTS: OnceLock<(LazyHash<FontBook>, Vec<Font>)> = OnceLock::new();
    FONTS.get_or_init(|| {
        let fonts: Vec<Font> = typst_assets::fonts().flat_map(|data| Font::iter(Bytes::new(data))).collect();
        (LazyHash::new(FontBook::from_fonts(&fonts)), fonts)
    })
}

struct ReportWorld {
    library: LazyHash<Library>,
    main: Source,
    files: HashMap<FileId, Bytes>,
    today: Datetime,
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }
    fn book(&self) -> &LazyHash<FontBook> {
        &fonts().0
    }
    fn main(&self) -> FileId {
        self.main.id()
    }
    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::NotFound(PathBuf::from(format!("{id:?}"))))
        }
    }
    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.files.get(&id).cloned().ok_or_else(|| FileError::NotFound(PathBuf::from(format!("{id:?}"))))
    }
    fn font(&self, index: usize) -> Option<Font> {
        fonts().1.get(index).cloned()
    }
    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}

fn datetime(t: Timestamp) -> Option<Datetime> {
    let d = t.to_datetime();
    Datetime::from_ymd_hms(d.year(), d.month() as u8, d.day() as u8, d.hour() as u8, d.minute() as u8, d.second() as u8)
}

/// Parses the fonts now rather than at the first render.
pub(crate) fn preload() {
    let _ = fonts();
}

/// Renders the report to PDF/A-3b bytes, in this process.
///
/// # Errors
/// When the template or an attachment cannot be read, or the template has errors.
pub fn render_pdf(opts: &RenderOptions<'_>) -> Result<Vec<u8>, RenderError> {
    let files: Vec<(&str, &Path)> = opts.attachments.iter().map(|a| (a.name.as_str(), a.path.as_path())).collect();
    let sources = Sources { data: &opts.data, files: &files, templates: opts.templates };
    compile(&sources, opts.generated_at, &opts.ident)
}

/// What the template reads: its data, the files to attach (flat name, path) and the folder
/// of a user's template.
struct Sources<'a> {
    data: &'a [u8],
    files: &'a [(&'a str, &'a Path)],
    templates: Option<&'a Path>,
}

fn compile(src: &Sources<'_>, generated_at: Timestamp, ident: &str) -> Result<Vec<u8>, RenderError> {
    let template = match src.templates {
        Some(dir) => {
            let path = dir.join("report.typ");
            std::fs::read_to_string(&path).map_err(|source| RenderError::Read { path, source })?
        }
        None => DEFAULT_TEMPLATE.to_owned(),
    };
    let mut files = HashMap::new();
    files.insert(file_id("data.json")?, Bytes::new(src.data.to_vec()));
    for (name, path) in src.files {
        let bytes = std::fs::read(path).map_err(|source| RenderError::Read { path: path.to_path_buf(), source })?;
        files.insert(file_id(name)?, Bytes::new(bytes));
    }
    let today = datetime(generated_at).ok_or_else(|| RenderError::Template("generated-at out of range".into()))?;
    let world = ReportWorld {
        library: LazyHash::new(Library::builder().build()),
        main: Source::new(file_id("report.typ")?, template),
        files,
        today,
    };
    let Warned { output, warnings: _ } = typst::compile::<typst_layout::PagedDocument>(&world);
    let document = output.map_err(|errors| RenderError::Template(diagnostics(&world, &errors)))?;
    let standards =
        PdfStandards::new(&[PdfStandard::A_3b]).map_err(|e| RenderError::Template(e.message().to_string()))?;
    let options = PdfOptions {
        ident: Smart::Custom(ident.to_owned()),
        timestamp: Some(PdfTimestamp::new_utc(today)),
        standards,
        ..PdfOptions::default()
    };
    let mut pdf =
        typst_pdf::pdf(&document, &options).map_err(|errors| RenderError::Template(diagnostics(&world, &errors)))?;
    typst::comemo::evict(0);
    drop_false_suspects(&mut pdf);
    Ok(pdf)
}

/// The catalog's `/MarkInfo` as Typst writes it, and the same entry without `/Suspects false`,
/// padded to the same length.
const MARK_INFO: (&[u8], &[u8]) =
    (b"/MarkInfo<</Marked true/Suspects false>>", b"/MarkInfo<</Marked true               >>");

/// Removes `/Suspects false` from the catalog's `/MarkInfo`. The entry is optional and `false`
/// is its default (ISO 32000-1, 14.7.1), but poppler (`pdfinfo`, `pdfsig`, `pdftotext`) reports
/// it as "Syntax Error: Suspects object is wrong type (boolean)", which an auditor reads as a
/// damaged file. Spaces of the same length replace it, so every offset in the cross-reference
/// table stays right. Only the first occurrence, and only in this exact form, is touched.
fn drop_false_suspects(pdf: &mut [u8]) {
    let (from, to) = MARK_INFO;
    if let Some(at) = pdf.windows(from.len()).position(|w| w == from) {
        pdf[at..at + to.len()].copy_from_slice(to);
    }
}

fn diagnostics(world: &ReportWorld, errors: &[SourceDiagnostic]) -> String {
    errors
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            let place = d
                .span
                .id()
                .and_then(|id| world.source(id).ok())
                .and_then(|src| {
                    let range = world.range(d.span)?;
                    let line = src.lines().byte_to_line(range.start)?;
                    let col = src.lines().byte_to_column(range.start)?;
                    Some(format!("report.typ:{}:{}", line + 1, col + 1))
                })
                .unwrap_or_else(|| "report.typ".to_owned());
            let hints: String = d.hints.iter().map(|h| format!("\n  hint: {}", h.v)).collect();
            format!("{place}: {}{hints}", d.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn false_suspects_leave_mark_info_at_the_same_length() {
        assert_eq!(MARK_INFO.0.len(), MARK_INFO.1.len());
        let mut pdf = b"1 0 obj\n<</Type/Catalog/MarkInfo<</Marked true/Suspects false>>/Lang(en)>>".to_vec();
        let len = pdf.len();
        drop_false_suspects(&mut pdf);
        assert_eq!(pdf.len(), len);
        assert_eq!(pdf, b"1 0 obj\n<</Type/Catalog/MarkInfo<</Marked true               >>/Lang(en)>>".to_vec());
        // Suspects true (a real warning about the tags) is left as written.
        let mut other = b"/MarkInfo<</Marked true/Suspects true>>".to_vec();
        drop_false_suspects(&mut other);
        assert_eq!(other, b"/MarkInfo<</Marked true/Suspects true>>".to_vec());
    }
}

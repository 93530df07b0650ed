//! Stage 1: reading a corpus.
//!
//! Owns the input formats (plain text with one document per line, JSONL, CSV,
//! TSV), the choice of the text field and of the optional label field, and
//! every per-line error. A [`DocReader`] streams [`Document`]s from any
//! `BufRead` (a file or stdin) so that prediction can run in constant memory;
//! [`read_corpus`] collects a whole corpus for training and clustering.
//!
//! Labels are carried only so that `eval` can score clusters; nothing
//! downstream of this module learns from them.
//!
//! Input handling decisions, each deliberate:
//! - a UTF-8 byte-order mark at the start is dropped;
//! - line ends may be `\n`, `\r\n` or (plain text only) a lone `\r`;
//! - invalid UTF-8, unparsable JSON, a missing or non-string text field and a
//!   CSV row with the wrong number of fields are errors naming the file and
//!   line, unless `skip_bad_lines` is set, in which case they are counted and
//!   reported as [`Skipped`];
//! - blank lines in plain text are empty documents (so outputs stay aligned
//!   with input lines); blank lines in JSONL are ignored;
//! - CSV/TSV have a header row; fields may be quoted and contain newlines.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use serde_json::Value;

/// An input format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One document per line.
    Txt,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
}

impl Format {
    /// Guess from a file name's extension (`.txt`, `.jsonl`/`.ndjson`/`.json`, `.csv`, `.tsv`/`.tab`).
    pub fn from_path(path: &str) -> Option<Format> {
        let ext = Path::new(path).extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "txt" | "text" => Some(Format::Txt),
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            "tsv" | "tab" => Some(Format::Tsv),
            _ => None,
        }
    }

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Txt => "txt",
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
        }
    }

    /// What the format is, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Txt => "plain text",
            Format::Jsonl => "JSON lines",
            Format::Csv => "CSV with a header",
            Format::Tsv => "TSV with a header",
        }
    }

    /// Parse a user-given name.
    pub fn parse(name: &str) -> Option<Format> {
        match name.to_ascii_lowercase().as_str() {
            "txt" | "text" | "plain" => Some(Format::Txt),
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            "tsv" => Some(Format::Tsv),
            _ => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Txt => "txt",
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
        })
    }
}

/// How to read a corpus.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Forced format; `None` guesses from the extension (plain text for stdin
    /// and unknown extensions).
    pub format: Option<Format>,
    /// JSON key or CSV/TSV column holding the text. A JSON key containing dots
    /// that is not present literally is looked up as a nested path (`meta.body`).
    pub text_field: String,
    /// JSON key or column holding a label used only for scoring.
    pub label_field: Option<String>,
    /// Turn per-line errors into [`Skipped`] entries instead of failing.
    pub skip_bad_lines: bool,
    /// JSON key or column holding an id that outputs carry through.
    pub id_field: Option<String>,
    /// CSV/TSV without a header row: columns are named by number from 1
    /// (`text_field: "2"`).
    pub no_header: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            text_field: "text".into(),
            label_field: None,
            skip_bad_lines: false,
            id_field: None,
            no_header: false,
        }
    }
}

/// One input text.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// The text as read (BOM and line end removed, otherwise untouched).
    pub text: String,
    /// The gold label, when a label field was asked for.
    pub label: Option<String>,
    /// 1-based line where the record starts in the input.
    pub line: usize,
    /// The record's id, when an id field was asked for (carried to outputs).
    pub id: Option<String>,
}

/// A record that was skipped under `skip_bad_lines`.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    /// Position of the record among all input records (documents and skipped), 0-based.
    pub record: usize,
    /// 1-based line.
    pub line: usize,
    /// What was wrong.
    pub problem: String,
}

/// A whole corpus in memory.
#[derive(Clone, Debug)]
pub struct Corpus {
    /// Where it came from, for messages (`<stdin>` for `-`).
    pub source: String,
    /// The format it was read as.
    pub format: Format,
    /// The documents, in input order.
    pub docs: Vec<Document>,
    /// Records skipped under `skip_bad_lines`, in input order.
    pub skipped: Vec<Skipped>,
}

impl Corpus {
    /// The texts, in order.
    pub fn texts(&self) -> Vec<&str> {
        self.docs.iter().map(|d| d.text.as_str()).collect()
    }

    /// The labels if every document has one.
    pub fn labels(&self) -> Option<Vec<&str>> {
        self.docs.iter().map(|d| d.label.as_deref()).collect()
    }

    /// Total number of input records, documents plus skipped ones.
    pub fn n_records(&self) -> usize {
        self.docs.len() + self.skipped.len()
    }

    /// For each input record in order: `Some(document index)` or `None` if it was skipped.
    pub fn record_map(&self) -> Vec<Option<usize>> {
        let mut out = Vec::with_capacity(self.n_records());
        let mut doc = 0;
        let mut skip = self.skipped.iter().peekable();
        for rec in 0..self.n_records() {
            if skip.peek().is_some_and(|s| s.record == rec) {
                skip.next();
                out.push(None);
            } else {
                out.push(Some(doc));
                doc += 1;
            }
        }
        out
    }
}

/// Errors from reading a corpus. Each names the source and, where there is
/// one, the line.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// The file could not be opened or read.
    #[error("{source_name}: cannot read: {err}")]
    Io {
        /// File name.
        source_name: String,
        /// Cause (in the message, not as a source: the CLI prints the
        /// chain, which would repeat it).
        err: io::Error,
    },
    /// One record is bad.
    #[error("{source_name}:{line}: {problem}")]
    Line {
        /// File name.
        source_name: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// The file as a whole is unusable (no header field, no documents, ...).
    #[error("{source_name}: {problem}")]
    File {
        /// File name.
        source_name: String,
        /// What is wrong.
        problem: String,
    },
}

impl CorpusError {
    /// True for errors about a single record (those `skip_bad_lines` skips).
    pub fn is_line_error(&self) -> bool {
        matches!(self, CorpusError::Line { .. })
    }
}

/// Open `path` (`-` is stdin) as a buffered reader.
pub fn open_input(path: &str) -> Result<Box<dyn BufRead + Send>, CorpusError> {
    if path == "-" {
        return Ok(Box::new(BufReader::with_capacity(1 << 16, io::stdin())));
    }
    let meta = std::fs::metadata(path).map_err(|err| CorpusError::Io {
        source_name: path.into(),
        err,
    })?;
    if meta.is_dir() {
        return Err(CorpusError::File {
            source_name: path.into(),
            problem: "is a directory; give a file (or - for stdin)".into(),
        });
    }
    let f = File::open(path).map_err(|err| CorpusError::Io {
        source_name: path.into(),
        err,
    })?;
    Ok(Box::new(BufReader::with_capacity(1 << 16, f)))
}

/// The display name of an input path.
pub fn source_name(path: &str) -> String {
    if path == "-" {
        "<stdin>".into()
    } else {
        path.into()
    }
}

/// The format for `path` under `opts`.
pub fn resolve_format(path: &str, opts: &ReadOptions) -> Format {
    opts.format
        .or_else(|| Format::from_path(path))
        .unwrap_or(Format::Txt)
}

/// What a first line looks like: JSON lines (an object), or CSV / TSV
/// whose header names the text field; `None` for anything else.
pub fn sniff_format(first_line: &str, text_field: &str) -> Option<Format> {
    let line = first_line
        .trim_start_matches('\u{feff}')
        .trim_end_matches(['\r', '\n']);
    if line.trim_start().starts_with('{')
        && matches!(serde_json::from_str::<Value>(line), Ok(Value::Object(_)))
    {
        return Some(Format::Jsonl);
    }
    let names = |sep: char| -> bool {
        let cols: Vec<&str> = line
            .split(sep)
            .map(|c| c.trim().trim_matches('"'))
            .collect();
        cols.len() >= 2 && cols.contains(&text_field)
    };
    if names('\t') {
        Some(Format::Tsv)
    } else if names(',') {
        Some(Format::Csv)
    } else {
        None
    }
}

/// The format to read `path` in, and what the user should be told about the
/// choice. `--format` decides when given; then a known extension; then, for
/// stdin and unknown extensions, the first line (JSON lines, or CSV / TSV
/// whose header names the text field), else plain text. A `.txt` file whose
/// first line looks like another format is still read as plain text, with a
/// warning, as is a text field the user named (`field_named`) for plain text.
pub fn choose_format(
    path: &str,
    opts: &ReadOptions,
    first_line: Option<&str>,
    field_named: bool,
) -> (Format, Vec<String>) {
    let source = source_name(path);
    let sniffed = first_line.and_then(|l| sniff_format(l, &opts.text_field));
    let mut notes = Vec::new();
    let format = match (opts.format, Format::from_path(path)) {
        (Some(f), _) => f,
        (None, Some(f)) => {
            if let (Format::Txt, Some(s)) = (f, sniffed) {
                notes.push(format!(
                    "warning: {source} looks like {} (its first line) but is read as plain text for its extension; pass --format {} to read it as such",
                    s.describe(),
                    s.name()
                ));
            }
            f
        }
        (None, None) => {
            let ext = Path::new(path)
                .extension()
                .map(|e| e.to_string_lossy().into_owned());
            match (sniffed, ext) {
                (Some(s), _) => {
                    notes.push(format!(
                        "note: reading {source} as {} (its first line); --format txt reads it as plain text",
                        s.describe()
                    ));
                    s
                }
                (None, Some(ext)) if path != "-" => {
                    notes.push(format!(
                        "warning: unknown extension .{ext}: {source} is read as plain text, one text per line (--format chooses)"
                    ));
                    Format::Txt
                }
                (None, _) => Format::Txt,
            }
        }
    };
    if format == Format::Txt && field_named {
        notes.push(format!(
            "warning: --text-field {} is ignored: {source} is read as plain text (one text per line)",
            opts.text_field
        ));
    }
    (format, notes)
}

/// Open `path` (`-` for stdin) and choose its format ([`choose_format`]),
/// looking at its first line without consuming it.
#[allow(clippy::type_complexity)]
pub fn open_detected(
    path: &str,
    opts: &ReadOptions,
    field_named: bool,
) -> Result<(Box<dyn BufRead + Send>, Format, Vec<String>), CorpusError> {
    let mut input = open_input(path)?;
    let first = if opts.format.is_some() {
        None
    } else {
        let buf = input.fill_buf().map_err(|err| CorpusError::Io {
            source_name: source_name(path),
            err,
        })?;
        let end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
        Some(String::from_utf8_lossy(&buf[..end]).into_owned())
    };
    let (format, notes) = choose_format(path, opts, first.as_deref(), field_named);
    Ok((input, format, notes))
}

/// Read a whole corpus from `path` (`-` for stdin).
pub fn read_corpus(path: &str, opts: &ReadOptions) -> Result<Corpus, CorpusError> {
    let (input, format, _) = open_detected(path, opts, false)?;
    read_corpus_from(input, &source_name(path), format, opts)
}

/// Read a whole corpus from a reader.
pub fn read_corpus_from<R: BufRead>(
    input: R,
    source: &str,
    format: Format,
    opts: &ReadOptions,
) -> Result<Corpus, CorpusError> {
    let mut reader = DocReader::new(input, source, format, opts)?;
    let mut docs = Vec::new();
    let mut skipped = Vec::new();
    while let Some(item) = reader.next_record() {
        match item {
            Ok(d) => docs.push(d),
            Err(e) if opts.skip_bad_lines && e.is_line_error() => {
                let (line, problem) = match e {
                    CorpusError::Line { line, problem, .. } => (line, problem),
                    _ => unreachable!(),
                };
                skipped.push(Skipped {
                    record: docs.len() + skipped.len(),
                    line,
                    problem,
                });
            }
            Err(e) => return Err(e),
        }
    }
    if docs.is_empty() {
        let problem = if skipped.is_empty() {
            "no texts found (the input is empty)".to_string()
        } else {
            format!("no usable texts: all {} records were bad", skipped.len())
        };
        return Err(CorpusError::File {
            source_name: source.into(),
            problem,
        });
    }
    Ok(Corpus {
        source: source.into(),
        format,
        docs,
        skipped,
    })
}

/// Streams documents from a reader, one record at a time.
pub struct DocReader<R: BufRead> {
    inner: Inner<R>,
    source: String,
    text_field: String,
    label_field: Option<String>,
    id_field: Option<String>,
}

enum Inner<R: BufRead> {
    Lines {
        input: R,
        line: usize,
        buf: Vec<u8>,
        pending: Vec<(usize, Vec<u8>)>,
        json: bool,
        done: bool,
    },
    Delimited {
        reader: csv::Reader<R>,
        text_col: usize,
        label_col: Option<usize>,
        id_col: Option<usize>,
        record: csv::ByteRecord,
        /// Newlines inside quoted fields so far; the csv crate counts only record ends.
        extra_lines: usize,
    },
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn strip_bom<R: BufRead>(input: &mut R, source: &str) -> Result<(), CorpusError> {
    let buf = input.fill_buf().map_err(|err| CorpusError::Io {
        source_name: source.into(),
        err,
    })?;
    if buf.starts_with(BOM) {
        input.consume(BOM.len());
    }
    Ok(())
}

impl<R: BufRead> DocReader<R> {
    /// Start reading `input` (named `source` in messages) as `format`.
    /// For CSV/TSV this reads the header and checks that the fields exist.
    pub fn new(
        mut input: R,
        source: &str,
        format: Format,
        opts: &ReadOptions,
    ) -> Result<Self, CorpusError> {
        strip_bom(&mut input, source)?;
        let inner = match format {
            Format::Txt | Format::Jsonl => Inner::Lines {
                input,
                line: 0,
                buf: Vec::new(),
                pending: Vec::new(),
                json: format == Format::Jsonl,
                done: false,
            },
            Format::Csv | Format::Tsv => {
                let mut reader = csv::ReaderBuilder::new()
                    .delimiter(if format == Format::Csv { b',' } else { b'\t' })
                    .has_headers(!opts.no_header)
                    .flexible(false)
                    .from_reader(input);
                let headers = reader
                    .byte_headers()
                    .map_err(|e| csv_error(source, e, 0))?
                    .clone();
                if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
                    return Err(CorpusError::File {
                        source_name: source.into(),
                        problem: "no texts found (the input is empty)".into(),
                    });
                }
                // Without a header the first row is data, and columns are
                // named by their number from 1.
                let names: Vec<String> = if opts.no_header {
                    (1..=headers.len()).map(|i| i.to_string()).collect()
                } else {
                    headers
                        .iter()
                        .map(|h| String::from_utf8_lossy(h).trim().to_string())
                        .collect()
                };
                let header = if opts.no_header {
                    "input (--no-header: columns by number)"
                } else {
                    "header"
                };
                let find = |field: &str| names.iter().position(|n| n == field);
                let text_col = find(&opts.text_field).ok_or_else(|| CorpusError::File {
                    source_name: source.into(),
                    problem: format!(
                        "the {header} has no column {:?} (columns: {}); choose one with --text-field",
                        opts.text_field,
                        names.join(", ")
                    ),
                })?;
                // The column of an optional field (label, id), named in the error.
                let column =
                    |field: &Option<String>, what: &str| -> Result<Option<usize>, CorpusError> {
                        field
                            .as_deref()
                            .map(|f| {
                                find(f).ok_or_else(|| CorpusError::File {
                                    source_name: source.into(),
                                    problem: format!(
                                        "the {header} has no {what} column {f:?} (columns: {})",
                                        names.join(", ")
                                    ),
                                })
                            })
                            .transpose()
                    };
                let label_col = column(&opts.label_field, "label")?;
                let id_col = column(&opts.id_field, "id")?;
                Inner::Delimited {
                    reader,
                    text_col,
                    label_col,
                    id_col,
                    record: csv::ByteRecord::new(),
                    extra_lines: 0,
                }
            }
        };
        Ok(DocReader {
            inner,
            source: source.into(),
            text_field: opts.text_field.clone(),
            label_field: opts.label_field.clone(),
            id_field: opts.id_field.clone(),
        })
    }

    fn line_err(&self, line: usize, problem: impl Into<String>) -> CorpusError {
        CorpusError::Line {
            source_name: self.source.clone(),
            line,
            problem: problem.into(),
        }
    }

    /// The next record: a document, a per-record error, or `None` at the end.
    /// After a non-line error (I/O), the reader is finished.
    pub fn next_record(&mut self) -> Option<Result<Document, CorpusError>> {
        loop {
            match &mut self.inner {
                Inner::Lines {
                    input,
                    line,
                    buf,
                    pending,
                    json,
                    done,
                } => {
                    if pending.is_empty() {
                        if *done {
                            return None;
                        }
                        buf.clear();
                        match input.read_until(b'\n', buf) {
                            Ok(0) => {
                                *done = true;
                                return None;
                            }
                            Ok(_) => {}
                            Err(err) => {
                                *done = true;
                                return Some(Err(CorpusError::Io {
                                    source_name: self.source.clone(),
                                    err,
                                }));
                            }
                        }
                        if buf.last() == Some(&b'\n') {
                            buf.pop();
                        }
                        if buf.last() == Some(&b'\r') {
                            buf.pop();
                        }
                        // Plain text: a lone CR also ends a line (old Mac files).
                        if !*json && buf.contains(&b'\r') {
                            for piece in buf.split(|&b| b == b'\r') {
                                *line += 1;
                                pending.push((*line, piece.to_vec()));
                            }
                        } else {
                            *line += 1;
                            pending.push((*line, std::mem::take(buf)));
                        }
                        pending.reverse();
                    }
                    let (ln, bytes) = pending.pop().expect("pending is non-empty");
                    let is_json = *json;
                    let text = match String::from_utf8(bytes) {
                        Ok(t) => t,
                        Err(e) => {
                            let at = e.utf8_error().valid_up_to();
                            return Some(Err(self.line_err(
                                ln,
                                format!("invalid UTF-8 at byte {at} of the line; re-encode the file as UTF-8"),
                            )));
                        }
                    };
                    if !is_json {
                        return Some(Ok(Document {
                            text,
                            label: None,
                            line: ln,
                            id: None,
                        }));
                    }
                    if text.trim().is_empty() {
                        continue; // blank lines in JSONL carry no record
                    }
                    return Some(self.parse_json(ln, &text));
                }
                Inner::Delimited {
                    reader,
                    text_col,
                    label_col,
                    id_col,
                    record,
                    extra_lines,
                } => {
                    let (text_col, label_col, id_col) = (*text_col, *label_col, *id_col);
                    match reader.read_byte_record(record) {
                        Ok(false) => return None,
                        Ok(true) => {}
                        Err(e) => return Some(Err(csv_error(&self.source, e, *extra_lines))),
                    }
                    let ln =
                        record.position().map(|p| p.line() as usize).unwrap_or(0) + *extra_lines;
                    *extra_lines += record
                        .iter()
                        .map(|f| f.iter().filter(|&&b| b == b'\n').count())
                        .sum::<usize>();
                    let field = |col: usize| -> Result<String, String> {
                        String::from_utf8(record[col].to_vec()).map_err(|e| {
                            format!(
                                "invalid UTF-8 in column {} at byte {}; re-encode the file as UTF-8",
                                col + 1,
                                e.utf8_error().valid_up_to()
                            )
                        })
                    };
                    let text = match field(text_col) {
                        Ok(t) => t,
                        Err(p) => return Some(Err(self.line_err(ln, p))),
                    };
                    let label = match label_col.map(field).transpose() {
                        Ok(l) => l,
                        Err(p) => return Some(Err(self.line_err(ln, p))),
                    };
                    let id = match id_col.map(field).transpose() {
                        Ok(l) => l,
                        Err(p) => return Some(Err(self.line_err(ln, p))),
                    };
                    return Some(Ok(Document {
                        text,
                        label,
                        line: ln,
                        id,
                    }));
                }
            }
        }
    }

    fn parse_json(&self, ln: usize, line: &str) -> Result<Document, CorpusError> {
        /// A JSON object's keys, quoted, for an error message.
        fn fields_of(value: &Value) -> String {
            let keys: Vec<String> = value
                .as_object()
                .map(|o| o.keys().take(12).map(|k| format!("{k:?}")).collect())
                .unwrap_or_default();
            if keys.is_empty() {
                "no fields".into()
            } else {
                keys.join(", ")
            }
        }
        let value: Value = serde_json::from_str(line)
            .map_err(|e| self.line_err(ln, format!("not valid JSON: {e}")))?;
        let Value::Object(_) = value else {
            return Err(self.line_err(
                ln,
                format!("expected a JSON object, found {}", kind(&value)),
            ));
        };
        let text = match lookup(&value, &self.text_field) {
            None => {
                return Err(self.line_err(
                    ln,
                    format!(
                        "no field {:?} (the record has {}); choose one with --text-field",
                        self.text_field,
                        fields_of(&value)
                    ),
                ))
            }
            Some(Value::String(s)) => s.clone(),
            Some(v) => {
                return Err(self.line_err(
                    ln,
                    format!(
                        "field {:?} is {}, expected a string",
                        self.text_field,
                        kind(v)
                    ),
                ))
            }
        };
        // A label or id: a string, or a number or boolean written as JSON.
        let scalar = |field: &Option<String>, what: &str| -> Result<Option<String>, CorpusError> {
            let Some(f) = field else { return Ok(None) };
            match lookup(&value, f) {
                None => Err(self.line_err(
                    ln,
                    format!(
                        "no {what} field {f:?} (the record has {})",
                        fields_of(&value)
                    ),
                )),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
                Some(v) => Err(self.line_err(
                    ln,
                    format!(
                        "{what} field {f:?} is {}, expected a string or number",
                        kind(v)
                    ),
                )),
            }
        };
        let label = scalar(&self.label_field, "label")?;
        let id = scalar(&self.id_field, "id")?;
        Ok(Document {
            text,
            label,
            line: ln,
            id,
        })
    }
}

impl<R: BufRead> Iterator for DocReader<R> {
    type Item = Result<Document, CorpusError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_record()
    }
}

fn lookup<'a>(v: &'a Value, field: &str) -> Option<&'a Value> {
    if let Some(x) = v.get(field) {
        return Some(x);
    }
    if !field.contains('.') {
        return None;
    }
    field.split('.').try_fold(v, |cur, key| cur.get(key))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn csv_error(source: &str, e: csv::Error, extra_lines: usize) -> CorpusError {
    let line = e.position().map(|p| p.line() as usize + extra_lines);
    let problem = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("row has {len} fields but the header has {expected_len}; quote fields that contain the delimiter")
        }
        csv::ErrorKind::Utf8 { err, .. } => format!(
            "invalid UTF-8 in field {}; re-encode the file as UTF-8",
            err.field() + 1
        ),
        csv::ErrorKind::Io(_) => {
            return CorpusError::Io {
                source_name: source.into(),
                err: match e.into_kind() {
                    csv::ErrorKind::Io(err) => err,
                    _ => unreachable!(),
                },
            }
        }
        _ => e.to_string(),
    };
    match line {
        Some(line) => CorpusError::Line {
            source_name: source.into(),
            line,
            problem,
        },
        None => CorpusError::File {
            source_name: source.into(),
            problem,
        },
    }
}

//! Reading a person's records into Mneme's raw inputs: note files, journals, chat exports (Mneme's JSON
//! format and WhatsApp text), e-mail (`.eml`, mbox) and CSV. Pure parsing over bytes, plus a walk over files;
//! no network, no async. `docs/sources.md` describes each format.

pub mod chat;
pub mod correspondents;
pub mod dates;
pub mod email;
pub mod journal;
pub mod notes;
pub mod table;
pub mod text;
pub mod whatsapp;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use jiff::Timestamp;

use mneme_protocol::harvester::ProcessMemoryRequest;

pub use table::CsvMapping;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("{reason}")]
    Malformed { reason: String },
    #[error("column mapping: {reason}")]
    Mapping { reason: String },
    #[error("`{path}` cannot be read: {reason}")]
    Unreadable { path: String, reason: String },
    #[error(
        "`{path}` is in no format Mneme reads (notes .txt/.md, journals, chat .json, WhatsApp .txt, .eml, .mbox, .csv)"
    )]
    UnknownFormat { path: String },
    #[error("`{path}` is not text: binary, or in no encoding that reads it whole")]
    NotText { path: String },
}

/// The formats Mneme reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Note,
    Journal,
    ChatJson,
    WhatsApp,
    Email,
    Mbox,
    Csv,
}

impl Format {
    pub const ALL: [Format; 7] =
        [Format::Note, Format::Journal, Format::ChatJson, Format::WhatsApp, Format::Email, Format::Mbox, Format::Csv];

    pub const fn as_str(self) -> &'static str {
        match self {
            Format::Note => "note",
            Format::Journal => "journal",
            Format::ChatJson => "chat-json",
            Format::WhatsApp => "whatsapp",
            Format::Email => "eml",
            Format::Mbox => "mbox",
            Format::Csv => "csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Format::ALL.into_iter().find(|format| format.as_str() == text).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|format| format.as_str()).collect();
            format!("`{text}` is not a format; the formats are {}", names.join(", "))
        })
    }
}

/// How to read: a format to use instead of detecting one, and the CSV column mapping.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub format: Option<Format>,
    pub csv: CsvMapping,
}

/// The format of a file, from its name and first bytes; `None` for files Mneme does not read.
pub fn detect(name: &str, bytes: &[u8]) -> Option<Format> {
    let lower = name.to_lowercase();
    let extension = lower.rsplit_once('.').map(|(_, extension)| extension).unwrap_or("");
    match extension {
        "eml" => return Some(Format::Email),
        "mbox" => return Some(Format::Mbox),
        "csv" => return Some(Format::Csv),
        "json" => return chat::is_chat_json(bytes).then_some(Format::ChatJson),
        _ => {}
    }
    if email::looks_like_mbox(bytes) {
        return Some(Format::Mbox);
    }
    let text = text::decode(bytes)?;
    if matches!(extension, "txt" | "md" | "markdown" | "text" | "") {
        if whatsapp::looks_like_whatsapp(&text) {
            return Some(Format::WhatsApp);
        }
        if email::looks_like_message(bytes) {
            return Some(Format::Email);
        }
        if journal::looks_like_journal(&text) {
            return Some(Format::Journal);
        }
        return Some(Format::Note);
    }
    None
}

/// Reads one file's bytes. `locator` is how the file is cited; `modified` dates notes that say nothing of
/// their date.
pub fn parse(
    format: Format,
    bytes: &[u8],
    locator: &str,
    modified: Option<Timestamp>,
    options: &ReadOptions,
) -> Result<Vec<ProcessMemoryRequest>, SourceError> {
    let text = || text::decode(bytes).ok_or_else(|| SourceError::NotText { path: locator.to_owned() });
    match format {
        Format::Note => {
            let stem = Path::new(locator).file_stem().map(|stem| stem.to_string_lossy().into_owned());
            Ok(notes::parse(&text()?, locator, stem.as_deref().unwrap_or(locator), modified))
        }
        Format::Journal => Ok(journal::parse(&text()?, locator)),
        // JSON is UTF-8 by its standard; e-mail names its own charsets.
        Format::ChatJson => chat::parse(bytes, locator),
        Format::WhatsApp => Ok(whatsapp::parse(&text()?, locator)),
        Format::Email => email::parse_message(bytes, locator),
        Format::Mbox => email::parse_mbox(bytes, locator),
        // Spreadsheets save CSV in the system's encoding, or as UTF-8 with a mark.
        Format::Csv => table::parse(text()?.as_bytes(), locator, &options.csv),
    }
}

/// What one file gave.
#[derive(Debug)]
pub struct FileInputs {
    pub path: PathBuf,
    pub format: Option<Format>,
    pub inputs: Result<Vec<ProcessMemoryRequest>, SourceError>,
}

/// Reads a file, or every file Mneme reads in a folder tree (hidden files and folders skipped), in path order.
/// Locators are paths relative to `path`'s parent for a file and to `path` for a folder, so that the same
/// tree ingested from elsewhere keeps its memories' identities. A file that fails is reported; the others
/// are read.
pub fn read_path(path: &Path, options: &ReadOptions) -> Result<Vec<FileInputs>, SourceError> {
    let unreadable = |path: &Path, error: &dyn fmt::Display| SourceError::Unreadable {
        path: path.display().to_string(),
        reason: error.to_string(),
    };
    let metadata = std::fs::metadata(path).map_err(|error| unreadable(path, &error))?;
    if metadata.is_file() {
        let base = path.parent().unwrap_or(Path::new(""));
        let read = read_file(path, base, options, true);
        return Ok(vec![read]);
    }
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(path)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| entry.depth() == 0 || !entry.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = entry.map_err(|error| unreadable(path, &error))?;
        if entry.file_type().is_file() {
            let read = read_file(entry.path(), path, options, false);
            if read.format.is_some() || read.inputs.is_err() {
                files.push(read);
            }
        }
    }
    Ok(files)
}

fn read_file(path: &Path, base: &Path, options: &ReadOptions, named: bool) -> FileInputs {
    let locator = path.strip_prefix(base).unwrap_or(path).to_string_lossy().into_owned();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            let inputs = Err(SourceError::Unreadable { path: path.display().to_string(), reason: error.to_string() });
            return FileInputs { path: path.to_owned(), format: None, inputs };
        }
    };
    let format = options.format.or_else(|| detect(&locator, &bytes));
    let inputs = match format {
        Some(format) => {
            let modified = std::fs::metadata(path)
                .and_then(|metadata| metadata.modified())
                .ok()
                .and_then(|time| Timestamp::try_from(time).ok());
            parse(format, &bytes, &locator, modified, options)
        }
        // Inside a folder, files of other kinds (images, PDFs) are passed over; named alone, they are an error.
        None if named => Err(SourceError::UnknownFormat { path: path.display().to_string() }),
        None => Ok(Vec::new()),
    };
    FileInputs { path: path.to_owned(), format, inputs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats_by_name_and_content() {
        assert_eq!(detect("a.eml", b""), Some(Format::Email));
        assert_eq!(detect("notes/today.md", b"# Today\nQuiet."), Some(Format::Note));
        assert_eq!(detect("j.md", b"# 2024-05-01\nA\n# 2024-05-02\nB"), Some(Format::Journal));
        assert_eq!(
            detect("chat.txt", b"1/2/24, 8:05 AM - Omar: hi\n1/2/24, 8:06 AM - Ann: hey"),
            Some(Format::WhatsApp)
        );
        assert_eq!(detect("inbox", b"From a@b Wed May  1 07:30:00 2024\nFrom: a@b\n"), Some(Format::Mbox));
        assert_eq!(detect("c.json", br#"[{"sessions": []}]"#), Some(Format::ChatJson));
        assert_eq!(detect("other.json", br#"{"x": 1}"#), None);
        assert_eq!(detect("photo.jpg", &[0xff, 0xd8, 0xff]), None);
        assert_eq!("whatsapp".parse::<Format>(), Ok(Format::WhatsApp));
    }

    #[test]
    fn reads_a_folder_tree_and_reports_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("notes/.obsidian")).unwrap();
        std::fs::write(root.join("notes/2024-05-01 walk.md"), "Walked to the lighthouse.").unwrap();
        std::fs::write(root.join("notes/.obsidian/app.json"), "{}").unwrap();
        std::fs::write(root.join("photo.jpg"), [0xff, 0xd8, 0xff]).unwrap();
        std::fs::write(root.join("broken.json"), r#"[{"sessions": [{"date_time": "never", "turns": []}]}]"#).unwrap();
        let files = read_path(root, &ReadOptions::default()).unwrap();
        let summary: Vec<(String, bool)> = files
            .iter()
            .map(|file| (file.path.strip_prefix(root).unwrap().display().to_string(), file.inputs.is_ok()))
            .collect();
        assert_eq!(summary, [("broken.json".to_owned(), false), ("notes/2024-05-01 walk.md".to_owned(), true)]);
        let note = &files[1].inputs.as_ref().unwrap()[0];
        assert_eq!(note.source.as_deref(), Some("notes/2024-05-01 walk.md"));
        assert_eq!(note.occurred_at.as_deref(), Some("2024-05-01T00:00:00Z"));

        std::fs::write(root.join("notes/old.txt"), b"Caf\xe9 with Ren\xe9e after the d\xe9m\xe9nagement.").unwrap();
        let mut journal = b"\xef\xbb\xbf".to_vec();
        journal.extend_from_slice(b"## 2024-05-01\nA walk.\n\n## 2024-05-02\nA swim.\n");
        std::fs::write(root.join("notes/journal.md"), journal).unwrap();
        let old = read_path(&root.join("notes/old.txt"), &ReadOptions::default()).unwrap();
        assert_eq!(old[0].inputs.as_ref().unwrap()[0].raw_input, "Café with Renée after the déménagement.");
        let journal = read_path(&root.join("notes/journal.md"), &ReadOptions::default()).unwrap();
        assert_eq!(journal[0].format, Some(Format::Journal), "a byte-order mark hides no heading");
        assert_eq!(journal[0].inputs.as_ref().unwrap().len(), 2);

        let alone = read_path(&root.join("photo.jpg"), &ReadOptions::default()).unwrap();
        assert!(matches!(alone[0].inputs, Err(SourceError::UnknownFormat { .. })));
    }
}

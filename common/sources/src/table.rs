//! CSV files with a header row, read through a column mapping: which column holds the text, and which (if
//! any) the date, author, participants, title, tags and a stable id.

use std::collections::HashMap;
use std::str::FromStr;

use mneme_protocol::harvester::{ProcessMemoryRequest, SourceKind};

use crate::SourceError;
use crate::dates::{parse_timestamp, rfc3339};

/// Which column is which. Columns are named by their header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvMapping {
    pub text: Option<String>,
    pub date: Option<String>,
    pub author: Option<String>,
    /// Several people in one cell, split by `;` or `,`.
    pub participants: Option<String>,
    pub title: Option<String>,
    pub tags: Option<String>,
    /// A column whose value cites the row (a message id); the row number otherwise.
    pub id: Option<String>,
}

/// Header names taken as a field when the mapping names no column for it.
const GUESSES: [(&str, &[&str]); 7] = [
    ("text", &["text", "body", "content", "message", "note", "entry", "description"]),
    ("date", &["date", "timestamp", "time", "datetime", "created", "created_at", "occurred_at", "sent"]),
    ("author", &["author", "from", "sender", "speaker", "user"]),
    ("participants", &["participants", "to", "recipients", "people", "with"]),
    ("title", &["title", "subject", "heading"]),
    ("tags", &["tags", "labels", "keywords"]),
    ("id", &["id", "message_id", "uuid", "key"]),
];

impl FromStr for CsvMapping {
    type Err = SourceError;

    /// `text=body,date=created_at,author=from`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut mapping = CsvMapping::default();
        for pair in text.split(',').map(str::trim).filter(|pair| !pair.is_empty()) {
            let (field, column) = pair
                .split_once('=')
                .ok_or_else(|| SourceError::Mapping { reason: format!("`{pair}` is not field=column") })?;
            let column = Some(column.trim().to_owned());
            match field.trim() {
                "text" => mapping.text = column,
                "date" => mapping.date = column,
                "author" => mapping.author = column,
                "participants" => mapping.participants = column,
                "title" => mapping.title = column,
                "tags" => mapping.tags = column,
                "id" => mapping.id = column,
                other => {
                    return Err(SourceError::Mapping {
                        reason: format!(
                            "`{other}` is not a field; the fields are text, date, author, participants, title, tags, id"
                        ),
                    });
                }
            }
        }
        Ok(mapping)
    }
}

impl CsvMapping {
    fn field(&self, name: &str) -> Option<&String> {
        match name {
            "text" => self.text.as_ref(),
            "date" => self.date.as_ref(),
            "author" => self.author.as_ref(),
            "participants" => self.participants.as_ref(),
            "title" => self.title.as_ref(),
            "tags" => self.tags.as_ref(),
            "id" => self.id.as_ref(),
            _ => None,
        }
    }

    /// Column positions: the named columns (which must exist), else columns whose header guesses the field.
    fn resolve(&self, headers: &csv::StringRecord) -> Result<HashMap<&'static str, usize>, SourceError> {
        let position = |name: &str| headers.iter().position(|header| header.trim().eq_ignore_ascii_case(name));
        let mut columns = HashMap::new();
        for (field, guesses) in GUESSES {
            let found = match self.field(field) {
                Some(column) => Some(position(column).ok_or_else(|| SourceError::Mapping {
                    reason: format!(
                        "no column `{column}` for {field}; the columns are {}",
                        headers.iter().collect::<Vec<_>>().join(", ")
                    ),
                })?),
                None => guesses.iter().find_map(|guess| position(guess)),
            };
            if let Some(index) = found {
                columns.insert(field, index);
            }
        }
        if !columns.contains_key("text") {
            return Err(SourceError::Mapping {
                reason: format!(
                    "no text column; name it with text=<column> (the columns are {})",
                    headers.iter().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        Ok(columns)
    }
}

pub fn parse(bytes: &[u8], locator: &str, mapping: &CsvMapping) -> Result<Vec<ProcessMemoryRequest>, SourceError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::Headers).from_reader(bytes);
    let headers = reader.headers().map_err(|error| SourceError::Malformed { reason: error.to_string() })?.clone();
    let columns = mapping.resolve(&headers)?;
    let mut inputs = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let row = index + 2; // the header is row 1
        let record = record.map_err(|error| SourceError::Malformed { reason: format!("row {row}: {error}") })?;
        let cell = |field: &str| {
            columns.get(field).and_then(|&at| record.get(at)).map(str::trim).filter(|value| !value.is_empty())
        };
        let Some(text) = cell("text") else { continue };
        let occurred_at = match cell("date") {
            Some(date) => Some(
                parse_timestamp(date)
                    .ok_or_else(|| SourceError::Malformed { reason: format!("row {row}: unreadable date `{date}`") })?,
            ),
            None => None,
        };
        let list = |field: &str| -> Vec<String> {
            cell(field)
                .map(|value| {
                    value.split([';', ',']).map(str::trim).filter(|item| !item.is_empty()).map(str::to_owned).collect()
                })
                .unwrap_or_default()
        };
        inputs.push(ProcessMemoryRequest {
            raw_input: text.to_owned(),
            source: Some(match cell("id") {
                Some(id) => format!("{locator}#{id}"),
                None => format!("{locator}#row{row}"),
            }),
            occurred_at: occurred_at.map(rfc3339),
            source_kind: SourceKind::Csv,
            author: cell("author").map(str::to_owned),
            participants: list("participants"),
            title: cell("title").map(str::to_owned),
            tags: list("tags"),
            ..ProcessMemoryRequest::default()
        });
    }
    Ok(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guessed_and_named_columns() {
        let file = "id,created_at,from,body,labels\n7,2024-05-01 09:30,Ann,\"Swam 40 lengths, felt strong\",sport;health\n8,,Ann,,\n";
        let inputs = parse(file.as_bytes(), "log.csv", &CsvMapping::default()).unwrap();
        assert_eq!(inputs.len(), 1, "rows without text are skipped");
        assert_eq!(inputs[0].raw_input, "Swam 40 lengths, felt strong");
        assert_eq!(inputs[0].occurred_at.as_deref(), Some("2024-05-01T09:30:00Z"));
        assert_eq!(inputs[0].author.as_deref(), Some("Ann"));
        assert_eq!(inputs[0].tags, ["sport", "health"]);
        assert_eq!(inputs[0].source.as_deref(), Some("log.csv#7"));

        let mapping: CsvMapping = "text=What happened, date=When".parse().unwrap();
        let file = "When,What happened\n3 May 2024,Kite flying at the beach\n";
        let inputs = parse(file.as_bytes(), "diary.csv", &mapping).unwrap();
        assert_eq!(inputs[0].source.as_deref(), Some("diary.csv#row2"));
        assert_eq!(inputs[0].occurred_at.as_deref(), Some("2024-05-03T00:00:00Z"));
    }

    #[test]
    fn mapping_mistakes_are_named() {
        assert!(matches!("text".parse::<CsvMapping>(), Err(SourceError::Mapping { .. })));
        assert!(matches!("colour=x".parse::<CsvMapping>(), Err(SourceError::Mapping { .. })));
        let missing = parse(b"a,b\n1,2\n", "x.csv", &CsvMapping::default());
        assert!(matches!(missing, Err(SourceError::Mapping { .. })));
        let bad_date = parse(b"text,date\nhello there,someday\n", "x.csv", &CsvMapping::default());
        assert!(matches!(bad_date, Err(SourceError::Malformed { .. })));
    }
}

//! Note files, plain text or Markdown: one memory per file, dated by its front matter, its file name, or its
//! modification time, in that order.

use std::sync::LazyLock;

use jiff::Timestamp;
use regex::Regex;

use mneme_protocol::harvester::{ProcessMemoryRequest, SourceKind};

use crate::dates::{parse_date, parse_timestamp, rfc3339};

/// What a front matter block says, of what Mneme uses.
#[derive(Debug, Default, PartialEq)]
pub struct FrontMatter {
    pub date: Option<Timestamp>,
    pub title: Option<String>,
    pub tags: Vec<String>,
}

/// Splits `---` front matter (YAML-style `key: value` lines, lists inline or as `- item`) from the body.
/// Keys other than dates, title and tags are ignored.
pub fn front_matter(text: &str) -> (FrontMatter, &str) {
    let mut matter = FrontMatter::default();
    let Some(rest) = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n")) else {
        return (matter, text);
    };
    let Some(end) = rest.find("\n---") else {
        return (matter, text);
    };
    let block = &rest[..end];
    let body = rest[end + 4..].trim_start_matches(['-']).trim_start_matches(['\r', '\n']);
    let mut current_list: Option<&str> = None;
    for line in block.lines() {
        if let Some(item) = line.trim_start().strip_prefix("- ") {
            if current_list == Some("tags") {
                matter.tags.push(unquote(item).to_owned());
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else { continue };
        let key = key.trim().to_lowercase();
        let value = value.trim();
        current_list = (value.is_empty()).then_some(if key == "tags" { "tags" } else { "other" });
        match key.as_str() {
            "date" | "created" | "created_at" | "date_created" | "day" => {
                matter.date = matter.date.or_else(|| parse_timestamp(unquote(value)));
            }
            "title" => matter.title = Some(unquote(value).to_owned()).filter(|title| !title.is_empty()),
            "tags" | "keywords" => {
                let inline = value.trim_start_matches('[').trim_end_matches(']');
                matter
                    .tags
                    .extend(inline.split(',').map(|tag| unquote(tag.trim()).to_owned()).filter(|tag| !tag.is_empty()));
            }
            _ => {}
        }
    }
    (matter, body)
}

fn unquote(value: &str) -> &str {
    value.trim().trim_matches(|c| c == '"' || c == '\'')
}

static NAME_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})").expect("a valid pattern"));

/// A date in a file name: `2024-05-01 standup.md`, `20240501.txt`, `journal_2024_05_01.md`.
pub fn date_in_name(name: &str) -> Option<Timestamp> {
    NAME_DATE.captures_iter(name).find_map(|captures| {
        let date = parse_date(&format!("{}-{}-{}", &captures[1], &captures[2], &captures[3]))?;
        parse_timestamp(&date.to_string())
    })
}

/// One note. `locator` is how the file is cited (its path relative to what was ingested); `stem` its name
/// without extension; `modified` its modification time.
pub fn parse(text: &str, locator: &str, stem: &str, modified: Option<Timestamp>) -> Vec<ProcessMemoryRequest> {
    let (matter, body) = front_matter(text);
    if body.trim().is_empty() {
        return Vec::new();
    }
    let heading = body.lines().find_map(|line| line.strip_prefix("# ")).map(str::trim);
    let title = matter.title.clone().or_else(|| heading.map(str::to_owned)).unwrap_or_else(|| stem.to_owned());
    let occurred_at = matter.date.or_else(|| date_in_name(stem)).or(modified);
    vec![ProcessMemoryRequest {
        raw_input: body.trim().to_owned(),
        source: Some(locator.to_owned()),
        occurred_at: occurred_at.map(rfc3339),
        source_kind: SourceKind::Note,
        title: Some(title),
        tags: matter.tags,
        ..ProcessMemoryRequest::default()
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_dates_titles_and_tags() {
        let note = "---\ntitle: \"Trip ideas\"\ndate: 2024-03-02\ntags: [travel, Lisbon]\nauthor: me\n---\n\nTiles and tram 28.\n";
        let inputs = parse(note, "notes/ideas.md", "ideas", None);
        assert_eq!(inputs.len(), 1);
        let note = &inputs[0];
        assert_eq!(note.raw_input, "Tiles and tram 28.");
        assert_eq!(note.title.as_deref(), Some("Trip ideas"));
        assert_eq!(note.occurred_at.as_deref(), Some("2024-03-02T00:00:00Z"));
        assert_eq!(note.tags, ["travel", "Lisbon"]);
        assert_eq!(note.source.as_deref(), Some("notes/ideas.md"));

        let listed = "---\ntags:\n  - running\n  - 'knee'\ncreated: 2023-11-05T07:10:00+01:00\n---\nEasy 5k.";
        let (matter, body) = front_matter(listed);
        assert_eq!(matter.tags, ["running", "knee"]);
        assert_eq!(matter.date.map(rfc3339).as_deref(), Some("2023-11-05T06:10:00Z"));
        assert_eq!(body, "Easy 5k.");
    }

    #[test]
    fn dates_from_the_name_then_the_file_time() {
        let from_name =
            parse("# Standup\nShipped the importer.", "work/2024-05-01 standup.md", "2024-05-01 standup", None);
        assert_eq!(from_name[0].occurred_at.as_deref(), Some("2024-05-01T00:00:00Z"));
        assert_eq!(from_name[0].title.as_deref(), Some("Standup"));
        let modified: Timestamp = "2022-01-02T03:04:05Z".parse().unwrap();
        let from_time = parse("Buy more film.", "todo.txt", "todo", Some(modified));
        assert_eq!(from_time[0].occurred_at.as_deref(), Some("2022-01-02T03:04:05Z"));
        assert_eq!(from_time[0].title.as_deref(), Some("todo"));
        assert!(parse("---\ntitle: x\n---\n  \n", "empty.md", "empty", None).is_empty());
    }
}

//! Journals: one file of many entries, each under a line that is a date (`# 2024-05-01`,
//! `## Monday, May 6, 2024`, `2024-05-01:`). One memory per entry.

use jiff::civil::Date;

use mneme_protocol::harvester::{ProcessMemoryRequest, SourceKind};

use crate::dates::{parse_date, parse_timestamp, rfc3339};

/// The date a line announces, if the whole line is a date heading.
pub fn heading_date(line: &str) -> Option<Date> {
    let stripped = line.trim().trim_start_matches('#').trim().trim_matches('*').trim_end_matches(':').trim();
    if stripped.is_empty() || stripped.len() > 40 || !stripped.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    parse_date(stripped)
}

/// Whether `text` reads as a journal: at least two date headings.
pub fn looks_like_journal(text: &str) -> bool {
    text.lines().filter(|line| heading_date(line).is_some()).take(2).count() == 2
}

pub fn parse(text: &str, locator: &str) -> Vec<ProcessMemoryRequest> {
    let mut entries: Vec<(Date, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        match heading_date(line) {
            Some(date) => entries.push((date, Vec::new())),
            // Lines before the first heading are the journal's preamble, not an entry.
            None => {
                if let Some((_, lines)) = entries.last_mut() {
                    lines.push(line);
                }
            }
        }
    }
    let mut seen: Vec<Date> = Vec::new();
    entries
        .into_iter()
        .filter_map(|(date, lines)| {
            let body = lines.join("\n").trim().to_owned();
            let repeat = seen.iter().filter(|earlier| **earlier == date).count();
            seen.push(date);
            if body.is_empty() {
                return None;
            }
            let anchor = if repeat == 0 { date.to_string() } else { format!("{date}-{}", repeat + 1) };
            Some(ProcessMemoryRequest {
                raw_input: body,
                source: Some(format!("{locator}#{anchor}")),
                occurred_at: parse_timestamp(&date.to_string()).map(rfc3339),
                source_kind: SourceKind::Journal,
                ..ProcessMemoryRequest::default()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_memory_per_dated_entry() {
        let journal = "My 2024 journal\n\n# 2024-05-01\nRain all day. Read on the sofa.\n\n## Thursday, May 2, 2024\nLunch with Omar.\nHe got the job!\n\n2024-05-02:\nEvening: called mom.\n\n# 2024-05-03\n\n";
        assert!(looks_like_journal(journal));
        let entries = parse(journal, "journal.md");
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].raw_input, "Rain all day. Read on the sofa.");
        assert_eq!(entries[0].source.as_deref(), Some("journal.md#2024-05-01"));
        assert_eq!(entries[1].raw_input, "Lunch with Omar.\nHe got the job!");
        assert_eq!(entries[1].occurred_at.as_deref(), Some("2024-05-02T00:00:00Z"));
        assert_eq!(entries[2].source.as_deref(), Some("journal.md#2024-05-02-2"));
        assert!(entries.iter().all(|entry| entry.source_kind == SourceKind::Journal));
    }

    #[test]
    fn a_note_with_one_date_is_no_journal() {
        assert!(!looks_like_journal("# 2024-05-01\nJust one day.\nMet at 10:30."));
        assert!(heading_date("Met at 10:30.").is_none());
        assert!(heading_date("**March 3, 2023**").is_some());
    }
}

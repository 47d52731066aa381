//! WhatsApp's text exports, from Android (`12/31/23, 9:41 PM - Anna: text`) and iOS
//! (`[31.12.23, 21:41:05] Anna: text`). One memory per message; lines without a header continue the message
//! before them; system lines and omitted media are skipped.

use std::sync::LazyLock;

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use regex::Regex;

use mneme_protocol::harvester::{ProcessMemoryRequest, SourceKind};

use crate::dates::rfc3339;

static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\u{200e}?\[?(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s?([AaPp])\.?\s?[Mm]\.?)?\]?\s*(?:-\s*)?([^:]{1,80}?):\s(.*)$",
    )
    .expect("a valid pattern")
});
/// A header line without `name:`: a system message (`Messages and calls are end-to-end encrypted`).
static SYSTEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\u{200e}?\[?\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4},?\s+\d{1,2}:\d{2}").expect("a valid pattern")
});

const OMITTED: [&str; 4] = ["<Media omitted>", "image omitted", "<attached:", "This message was deleted"];

/// Whether `text` reads as a WhatsApp export: most of its first lines are message headers.
pub fn looks_like_whatsapp(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).take(20).collect();
    let headers = lines.iter().filter(|line| HEADER.is_match(line)).count();
    headers >= 2 && headers * 2 >= lines.len()
}

struct Message {
    line: usize,
    day: u32,
    month: u32,
    year: i32,
    time: Time,
    speaker: String,
    text: String,
}

pub fn parse(text: &str, locator: &str) -> Vec<ProcessMemoryRequest> {
    let mut messages: Vec<Message> = Vec::new();
    let mut in_system_message = false;
    for (number, line) in text.lines().enumerate() {
        if let Some(captures) = HEADER.captures(line) {
            in_system_message = false;
            let number_at = |group: usize| captures.get(group).and_then(|m| m.as_str().parse::<u32>().ok());
            let (Some(first), Some(second), Some(year), Some(hour), Some(minute)) =
                (number_at(1), number_at(2), number_at(3), number_at(4), number_at(5))
            else {
                continue;
            };
            let mut hour = hour;
            match captures.get(7).map(|m| m.as_str().to_ascii_lowercase()) {
                Some(half) if half == "p" && hour < 12 => hour += 12,
                Some(half) if half == "a" && hour == 12 => hour = 0,
                _ => {}
            }
            let Ok(time) = Time::new(hour as i8, minute as i8, number_at(6).unwrap_or(0) as i8, 0) else {
                continue;
            };
            let year = if year < 100 { 2000 + year as i32 } else { year as i32 };
            messages.push(Message {
                line: number + 1,
                day: first,
                month: second,
                year,
                time,
                speaker: captures[8].trim().trim_start_matches('\u{200e}').to_owned(),
                text: captures[9].to_owned(),
            });
        } else if SYSTEM.is_match(line) {
            in_system_message = true;
        } else if !in_system_message && let Some(message) = messages.last_mut() {
            message.text.push('\n');
            message.text.push_str(line);
        }
    }
    // The export writes dates in the phone's order: a first number over 12 means day first, a second over 12
    // month first; with no such evidence, dotted dates are day first and slashed ones month first (US).
    let day_first = messages.iter().any(|m| m.day > 12)
        || (!messages.iter().any(|m| m.month > 12)
            && text.lines().take(50).any(|line| HEADER.is_match(line) && line.contains('.')));
    let speakers: Vec<String> = messages.iter().fold(Vec::new(), |mut speakers, message| {
        if !speakers.contains(&message.speaker) {
            speakers.push(message.speaker.clone());
        }
        speakers
    });
    messages
        .into_iter()
        .filter(|message| {
            let trimmed = message.text.trim();
            !trimmed.is_empty() && !OMITTED.iter().any(|omitted| trimmed.contains(omitted))
        })
        .map(|message| {
            let (day, month) = if day_first { (message.day, message.month) } else { (message.month, message.day) };
            let occurred_at = Date::new(message.year as i16, month as i8, day as i8)
                .ok()
                .map(|date| DateTime::from_parts(date, message.time))
                .and_then(|datetime| TimeZone::UTC.to_timestamp(datetime).ok());
            ProcessMemoryRequest {
                raw_input: message.text.trim().to_owned(),
                source: Some(format!("{locator}#L{}", message.line)),
                occurred_at: occurred_at.map(rfc3339),
                source_kind: SourceKind::Chat,
                participants: speakers.iter().filter(|speaker| **speaker != message.speaker).cloned().collect(),
                author: Some(message.speaker),
                ..ProcessMemoryRequest::default()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn android_exports_with_continuations_and_system_lines() {
        let export = "12/31/23, 9:41 PM - Messages and calls are end-to-end encrypted. No one outside of this chat can read them.\n12/31/23, 9:41 PM - Anna Keller: Happy new year!!\n12/31/23, 9:42 PM - Omar: You too :)\nsee you at brunch\n12/31/23, 9:43 PM - Anna Keller: <Media omitted>\n1/2/24, 8:05 AM - Omar: Brunch at 11?\n";
        assert!(looks_like_whatsapp(export));
        let inputs = parse(export, "whatsapp/omar.txt");
        assert_eq!(inputs.len(), 3);
        assert_eq!(inputs[0].author.as_deref(), Some("Anna Keller"));
        assert_eq!(inputs[0].participants, ["Omar"]);
        assert_eq!(inputs[0].occurred_at.as_deref(), Some("2023-12-31T21:41:00Z"));
        assert_eq!(inputs[0].source.as_deref(), Some("whatsapp/omar.txt#L2"));
        assert_eq!(inputs[1].raw_input, "You too :)\nsee you at brunch");
        assert_eq!(inputs[2].occurred_at.as_deref(), Some("2024-01-02T08:05:00Z"), "month first, as in the US");
    }

    #[test]
    fn ios_exports_with_day_first_dates() {
        let export = "[03.02.24, 21:41:05] Lena: Did the parcel come?\n[03.02.24, 21:45:10] Me: Yes, thanks!\n[13.02.24, 07:00:00] Lena: Run tomorrow?";
        let inputs = parse(export, "lena.txt");
        assert_eq!(inputs.len(), 3);
        assert_eq!(inputs[0].occurred_at.as_deref(), Some("2024-02-03T21:41:05Z"));
        assert_eq!(inputs[2].occurred_at.as_deref(), Some("2024-02-13T07:00:00Z"));
        assert!(!looks_like_whatsapp("Just a note.\nWith lines."));
    }
}

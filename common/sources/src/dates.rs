//! Dates as people and programs write them, read into RFC 3339 timestamps (UTC when no offset is given).

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

/// Formats of a date with a time of day, tried in order after RFC 3339 and ISO 8601.
const DATE_TIMES: [&str; 12] = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    // `1:56 pm on 8 May, 2023`, as chat archives write session times.
    "%I:%M %p on %d %B, %Y",
    "%I:%M %p on %B %d, %Y",
    "%B %d, %Y %I:%M %p",
    "%B %d, %Y %H:%M",
    "%d %B %Y %H:%M",
    "%A, %B %d, %Y %I:%M %p",
    "%d.%m.%Y %H:%M",
    "%d/%m/%Y %H:%M",
];

/// Formats of a date alone.
const DATES: [&str; 16] = [
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y%m%d",
    "%Y_%m_%d",
    "%d.%m.%Y",
    "%B %d, %Y",
    "%B %d %Y",
    "%b %d, %Y",
    "%b %d %Y",
    "%d %B %Y",
    "%d %B, %Y",
    "%d %b %Y",
    "%A, %B %d, %Y",
    "%A %B %d, %Y",
    "%A, %d %B %Y",
    "%A %d %B %Y",
];

/// Reads `text` as a point in time: RFC 3339 with any offset, RFC 2822, or one of the civil formats above
/// (read as UTC). Ordinal suffixes (`1st`, `22nd`) are accepted.
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    let trimmed = text.trim().trim_end_matches(['.', ':']);
    if trimmed.is_empty() {
        return None;
    }
    if let Ok(timestamp) = trimmed.parse::<Timestamp>() {
        return Some(timestamp);
    }
    if let Ok(zoned) = trimmed.parse::<ZonedDateTime>() {
        return Some(zoned.timestamp());
    }
    if let Ok(zoned) = jiff::fmt::rfc2822::parse(trimmed) {
        return Some(zoned.timestamp());
    }
    let cleaned = without_ordinals(trimmed);
    let civil = cleaned
        .parse::<DateTime>()
        .ok()
        .or_else(|| DATE_TIMES.iter().find_map(|format| DateTime::strptime(format, &cleaned).ok()))
        .or_else(|| parse_date(&cleaned).map(|date| date.to_datetime(Time::midnight())))?;
    TimeZone::UTC.to_timestamp(civil).ok()
}

/// Reads `text` as a calendar date in one of the formats above.
pub fn parse_date(text: &str) -> Option<Date> {
    let cleaned = without_ordinals(text.trim().trim_end_matches(['.', ':']));
    cleaned.parse::<Date>().ok().or_else(|| DATES.iter().find_map(|format| Date::strptime(format, &cleaned).ok()))
}

/// `May 1st, 2024` as `May 1, 2024`.
fn without_ordinals(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let characters: Vec<char> = text.chars().collect();
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        out.push(character);
        if character.is_ascii_digit() && index + 2 < characters.len() + 1 {
            let suffix: String = characters[index + 1..characters.len().min(index + 3)].iter().collect();
            let ends_word = characters.get(index + 3).is_none_or(|next| !next.is_alphanumeric());
            if ["st", "nd", "rd", "th"].contains(&suffix.to_lowercase().as_str()) && ends_word {
                index += 3;
                continue;
            }
        }
        index += 1;
    }
    out
}

/// A timestamp as the wire carries it.
pub fn rfc3339(timestamp: Timestamp) -> String {
    timestamp.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> String {
        parse_timestamp(text).map(rfc3339).unwrap_or_else(|| format!("unreadable: {text}"))
    }

    #[test]
    fn reads_the_forms_exports_use() {
        assert_eq!(at("2024-05-01T09:30:00+02:00"), "2024-05-01T07:30:00Z");
        assert_eq!(at("2024-05-01 09:30"), "2024-05-01T09:30:00Z");
        assert_eq!(at("2024-05-01"), "2024-05-01T00:00:00Z");
        assert_eq!(at("1:56 pm on 8 May, 2023"), "2023-05-08T13:56:00Z");
        assert_eq!(at("Wed, 01 May 2024 09:30:00 -0400"), "2024-05-01T13:30:00Z");
        assert_eq!(at("Monday, May 6th, 2024"), "2024-05-06T00:00:00Z");
        assert_eq!(at("1 May 2024"), "2024-05-01T00:00:00Z");
        assert_eq!(at("01.05.2024"), "2024-05-01T00:00:00Z");
        assert!(parse_timestamp("next tuesday-ish").is_none());
        assert!(parse_timestamp("").is_none());
    }
}

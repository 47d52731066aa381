//! E-mail: single messages (`.eml`) and mailboxes (mbox). One memory per message: its body without quoted
//! replies, its subject as title, its sender as author and its recipients as participants.

use mail_parser::mailbox::mbox::MessageIterator;
use mail_parser::{Address, MessageParser};

use mneme_protocol::harvester::{ProcessMemoryRequest, SourceKind};

use crate::SourceError;
use crate::dates::{parse_timestamp, rfc3339};

/// Whether `bytes` start like an mbox file: a `From ` separator line.
pub fn looks_like_mbox(bytes: &[u8]) -> bool {
    bytes.starts_with(b"From ")
}

/// Whether `bytes` start like a single message: header lines.
pub fn looks_like_message(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    let headers = ["from:", "to:", "subject:", "date:", "message-id:", "received:", "mime-version:"];
    head.lines()
        .take_while(|line| !line.is_empty())
        .filter(|line| headers.iter().any(|header| line.to_ascii_lowercase().starts_with(header)))
        .count()
        >= 2
}

pub fn parse_message(bytes: &[u8], locator: &str) -> Result<Vec<ProcessMemoryRequest>, SourceError> {
    let message = MessageParser::default()
        .parse(bytes)
        .ok_or_else(|| SourceError::Malformed { reason: "not an e-mail message".to_owned() })?;
    Ok(to_input(&message, locator).into_iter().collect())
}

pub fn parse_mbox(bytes: &[u8], locator: &str) -> Result<Vec<ProcessMemoryRequest>, SourceError> {
    let mut inputs = Vec::new();
    for (index, entry) in MessageIterator::new(bytes).enumerate() {
        let entry = entry.map_err(|error| SourceError::Malformed { reason: error.to_string() })?;
        let Some(message) = MessageParser::default().parse(entry.contents()) else { continue };
        inputs.extend(to_input(&message, &format!("{locator}#{}", index + 1)));
    }
    Ok(inputs)
}

fn to_input(message: &mail_parser::Message<'_>, fallback_locator: &str) -> Option<ProcessMemoryRequest> {
    let body = message.body_text(0).map(|text| without_quotes(&text)).unwrap_or_default();
    let subject = message.subject().map(str::trim).filter(|subject| !subject.is_empty()).map(str::to_owned);
    if body.trim().is_empty() && subject.is_none() {
        return None;
    }
    let author = message.from().and_then(|from| from.first()).map(person);
    let participants: Vec<String> = [message.to(), message.cc()]
        .into_iter()
        .flatten()
        .flat_map(people)
        .filter(|p| Some(p) != author.as_ref())
        .collect();
    let occurred_at = message.date().and_then(|date| parse_timestamp(&date.to_rfc3339()));
    let source = message.message_id().map(|id| format!("<{id}>")).unwrap_or_else(|| fallback_locator.to_owned());
    let raw_input = if body.trim().is_empty() { subject.clone().unwrap_or_default() } else { body };
    Some(ProcessMemoryRequest {
        raw_input,
        source: Some(source),
        occurred_at: occurred_at.map(rfc3339),
        source_kind: SourceKind::Email,
        author,
        participants,
        title: subject,
        ..ProcessMemoryRequest::default()
    })
}

/// `Anna Keller <anna@example.org>` as `Anna Keller <anna@example.org>`, or the address alone.
fn person(address: &mail_parser::Addr<'_>) -> String {
    match (address.name(), address.address()) {
        (Some(name), Some(email)) if !name.trim().is_empty() => format!("{} <{email}>", name.trim()),
        (_, Some(email)) => email.to_owned(),
        (Some(name), None) => name.trim().to_owned(),
        (None, None) => String::new(),
    }
}

fn people(list: &Address<'_>) -> Vec<String> {
    list.iter().map(person).filter(|person| !person.is_empty()).collect()
}

/// The body without the quoted message it replies to: `>` lines and everything from `On … wrote:` on.
fn without_quotes(body: &str) -> String {
    let mut kept = Vec::new();
    for line in body.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("On ") && trimmed.ends_with("wrote:") {
            break;
        }
        if trimmed == "-----Original Message-----" {
            break;
        }
        if !trimmed.starts_with('>') {
            kept.push(line);
        }
    }
    kept.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &str = "From: Anna Keller <anna@example.org>\r\nTo: Ann Lee <ann@example.com>, omar@example.net\r\nCc: Lena <lena@example.org>\r\nSubject: Lisbon in May\r\nDate: Wed, 01 May 2024 09:30:00 +0200\r\nMessage-ID: <trip-42@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nFlights are booked: we land at 10:05.\r\n\r\nOn Tue, Apr 30, 2024 at 8:00 PM Ann wrote:\r\n> Did you book?\r\n";

    #[test]
    fn a_message_with_its_people_and_without_the_quote() {
        assert!(looks_like_message(MESSAGE.as_bytes()));
        let inputs = parse_message(MESSAGE.as_bytes(), "mail/trip.eml").unwrap();
        assert_eq!(inputs.len(), 1);
        let mail = &inputs[0];
        assert_eq!(mail.raw_input, "Flights are booked: we land at 10:05.");
        assert_eq!(mail.title.as_deref(), Some("Lisbon in May"));
        assert_eq!(mail.author.as_deref(), Some("Anna Keller <anna@example.org>"));
        assert_eq!(mail.participants, ["Ann Lee <ann@example.com>", "omar@example.net", "Lena <lena@example.org>"]);
        assert_eq!(mail.occurred_at.as_deref(), Some("2024-05-01T07:30:00Z"));
        assert_eq!(mail.source.as_deref(), Some("<trip-42@example.org>"));
    }

    #[test]
    fn mailboxes_hold_many_messages() {
        let second = "From: omar@example.net\nTo: ann@example.com\nSubject: Re: dinner\nDate: Thu, 02 May 2024 18:00:00 +0000\n\nThursday works.\n";
        let mbox = format!(
            "From anna@example.org Wed May  1 07:30:00 2024\n{}\nFrom omar@example.net Thu May  2 18:00:00 2024\n{second}",
            MESSAGE.replace("\r\n", "\n")
        );
        assert!(looks_like_mbox(mbox.as_bytes()));
        let inputs = parse_mbox(mbox.as_bytes(), "mail/all.mbox").unwrap();
        assert_eq!(inputs.len(), 2);
        assert_eq!(inputs[1].raw_input, "Thursday works.");
        assert_eq!(inputs[1].source.as_deref(), Some("mail/all.mbox#2"), "no Message-ID: the position cites it");
    }
}

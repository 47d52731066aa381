//! PII detection quality on Presidio's synthetic evaluation set: precision, recall and F2 per entity type and
//! over all personal information, token by token as presidio-research's evaluator counts them.
//!
//! Run with `cargo bench -p mneme-privacy-guardian --bench pii_quality [-- path/to/synth_pii.json]`; without a
//! path it reads `../shared/data/pii/synth_pii_dev.json` beside the checkout, or `MNEME_PII_DATA`.
//!
//! Method: the text is split into tokens (runs of letters and digits). A token's gold label is the type of the
//! labelled span that covers it, mapped onto Mneme's types (`GPE` -> `LOCATION`, `ZIP_CODE` ->
//! `STREET_ADDRESS`, `DOMAIN_NAME` and `URL` -> `URL`); its predicted label is the type of the detected entity
//! that covers it. Types that Mneme does not detect (`ORGANIZATION`, `TITLE`, `AGE`, `US_DRIVER_LICENSE`) are
//! reported as misses in the "every label" row and left out of the others, as presidio-research leaves out
//! what a model does not support.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use mneme_privacy_guardian::pii::{DetectOptions, detect};
use mneme_protocol::guardian::PiiEntityType;

#[derive(Deserialize)]
struct Sample {
    full_text: String,
    spans: Vec<Span>,
}

#[derive(Deserialize)]
struct Span {
    entity_type: String,
    start_position: usize,
    end_position: usize,
}

/// The dataset's label in Mneme's terms; `None` for what Mneme does not detect.
fn gold_label(entity_type: &str) -> Option<&'static str> {
    Some(match entity_type {
        "PERSON" => "PERSON",
        "GPE" | "LOCATION" => "LOCATION",
        "STREET_ADDRESS" | "ZIP_CODE" => "STREET_ADDRESS",
        "DOMAIN_NAME" | "URL" => "URL",
        "EMAIL_ADDRESS" => "EMAIL_ADDRESS",
        "PHONE_NUMBER" => "PHONE_NUMBER",
        "CREDIT_CARD" => "CREDIT_CARD",
        "IBAN_CODE" => "IBAN_CODE",
        "US_SSN" => "US_SSN",
        "IP_ADDRESS" => "IP_ADDRESS",
        "DATE_TIME" => "DATE_TIME",
        "NRP" => "NRP",
        _ => return None,
    })
}

fn predicted_label(kind: PiiEntityType) -> &'static str {
    match kind {
        PiiEntityType::DomainName | PiiEntityType::Url => "URL",
        other => other.as_str(),
    }
}

/// Token spans in character offsets: runs of letters and digits.
fn tokens(characters: &[char]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut start = None;
    for (at, character) in characters.iter().enumerate() {
        match (character.is_alphanumeric(), start) {
            (true, None) => start = Some(at),
            (false, Some(begin)) => {
                found.push((begin, at));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(begin) = start {
        found.push((begin, characters.len()));
    }
    found
}

#[derive(Default, Clone, Copy)]
struct Counts {
    true_positive: u64,
    false_positive: u64,
    false_negative: u64,
}

impl Counts {
    fn precision(&self) -> f64 {
        ratio(self.true_positive, self.true_positive + self.false_positive)
    }

    fn recall(&self) -> f64 {
        ratio(self.true_positive, self.true_positive + self.false_negative)
    }

    fn f2(&self) -> f64 {
        let (precision, recall) = (self.precision(), self.recall());
        if precision + recall == 0.0 { 0.0 } else { 5.0 * precision * recall / (4.0 * precision + recall) }
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

fn data_path() -> PathBuf {
    if let Some(path) = std::env::args().skip(1).find(|argument| !argument.starts_with("--")) {
        return PathBuf::from(path);
    }
    if let Ok(path) = std::env::var("MNEME_PII_DATA") {
        return PathBuf::from(path);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/pii/synth_pii_dev.json")
}

fn main() {
    let path = data_path();
    let Ok(raw) = std::fs::read_to_string(&path) else {
        println!("skipped: no evaluation data at {}; pass a path or set MNEME_PII_DATA.", path.display());
        return;
    };
    let samples: Vec<Sample> = serde_json::from_str(&raw).expect("the evaluation set is presidio-research JSON");
    let options = DetectOptions::default();
    let mut by_type: BTreeMap<&'static str, Counts> = BTreeMap::new();
    let mut any_pii = Counts::default();
    let mut every_label = Counts::default();
    // Word lists load and patterns compile on first use: one pass first, so that speed is the steady state.
    for sample in &samples {
        detect(&sample.full_text, &options);
    }
    let started = std::time::Instant::now();
    let mut characters_seen = 0usize;
    let show_errors = std::env::var_os("MNEME_PII_SHOW_ERRORS").is_some();
    for sample in &samples {
        let characters: Vec<char> = sample.full_text.chars().collect();
        characters_seen += characters.len();
        let entities = detect(&sample.full_text, &options);
        for (start, end) in tokens(&characters) {
            let covering = |span_start: usize, span_end: usize| span_start < end && start < span_end;
            let gold_span = sample.spans.iter().find(|span| covering(span.start_position, span.end_position));
            let gold = gold_span.and_then(|span| gold_label(&span.entity_type));
            let unsupported_gold = gold_span.is_some() && gold.is_none();
            let predicted = entities
                .iter()
                .find(|entity| covering(entity.start, entity.end))
                .map(|entity| predicted_label(entity.entity_type));
            match (gold_span.is_some(), predicted.is_some()) {
                (true, true) => every_label.true_positive += 1,
                (true, false) => every_label.false_negative += 1,
                (false, true) => every_label.false_positive += 1,
                (false, false) => {}
            }
            if unsupported_gold {
                continue;
            }
            match (gold, predicted) {
                (Some(_), Some(_)) => any_pii.true_positive += 1,
                (Some(_), None) => any_pii.false_negative += 1,
                (None, Some(_)) => any_pii.false_positive += 1,
                (None, None) => {}
            }
            if gold == predicted {
                if let Some(label) = gold {
                    by_type.entry(label).or_default().true_positive += 1;
                }
                continue;
            }
            if let Some(label) = gold {
                by_type.entry(label).or_default().false_negative += 1;
            }
            if let Some(label) = predicted {
                by_type.entry(label).or_default().false_positive += 1;
            }
            if show_errors {
                let token: String = characters[start..end].iter().collect();
                println!("{:?} -> {:?}: {token:?} in {:?}", gold, predicted, sample.full_text);
            }
        }
    }
    let elapsed = started.elapsed();

    let name = path.file_name().unwrap_or(path.as_os_str()).to_string_lossy();
    println!("PII detection on {name} ({} samples), token level\n", samples.len());
    println!("| entity type | tokens labelled | precision | recall | F2 |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let mut strict = Counts::default();
    for (label, counts) in &by_type {
        strict.true_positive += counts.true_positive;
        strict.false_positive += counts.false_positive;
        strict.false_negative += counts.false_negative;
        println!(
            "| {label} | {} | {:.3} | {:.3} | {:.3} |",
            counts.true_positive + counts.false_negative,
            counts.precision(),
            counts.recall(),
            counts.f2()
        );
    }
    for (name, counts) in [
        ("**PII, any type** (presidio-research's figure)", any_pii),
        ("all supported types, type must match", strict),
        ("every label, unsupported types counted as misses", every_label),
    ] {
        println!(
            "| {name} | {} | {:.3} | {:.3} | {:.3} |",
            counts.true_positive + counts.false_negative,
            counts.precision(),
            counts.recall(),
            counts.f2()
        );
    }
    println!(
        "\nSpeed, after a warm-up pass (scoring included): {:.0} samples/s, {:.1} MB/s of text on one core.",
        samples.len() as f64 / elapsed.as_secs_f64(),
        characters_seen as f64 / elapsed.as_secs_f64() / 1e6
    );
}

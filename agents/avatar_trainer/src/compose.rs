//! Answers composed from the owner's own words: the sentences of their most relevant memories that best meet
//! the prompt, joined and written the way they write (their capitals, their emoji). Nothing is made up.

use std::collections::HashSet;

use mneme_protocol::avatar::Persona;
use mneme_protocol::insights::SearchHit;
use unicode_segmentation::UnicodeSegmentation;

use crate::style::lexicon::ENGLISH;
use crate::style::sentences;

/// Words an answer aims at: about what the owner writes in two or three sentences.
const TARGET_WORDS: usize = 45;
const MAX_SENTENCES: usize = 3;

/// The words that carry meaning, stemmed, so that "baking" meets "baked".
fn content_words(text: &str, stemmer: &rust_stemmers::Stemmer) -> HashSet<String> {
    text.unicode_words()
        .map(str::to_lowercase)
        .filter(|word| ENGLISH.rank(word).is_none_or(|rank| rank > 150) && word.chars().any(char::is_alphabetic))
        .map(|word| stemmer.stem(&word).into_owned())
        .collect()
}

/// A sentence of a memory and how well it answers.
struct Candidate {
    text: String,
    score: f64,
    /// Of the prompt's words, how many it has.
    overlap: usize,
    words: HashSet<String>,
    length: usize,
    /// When its memory happened, and where the sentence stands: which hit, which sentence of it.
    at: Option<jiff::Timestamp>,
    place: (usize, usize),
}

/// The answer to `prompt` from `hits` (best first), written as `persona` writes; `None` when no sentence of
/// theirs meets the prompt.
pub fn compose(prompt: &str, hits: &[SearchHit], persona: &Persona) -> Option<String> {
    let stemmer = rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English);
    let asked = content_words(prompt, &stemmer);
    let mut candidates = Vec::new();
    for (rank, hit) in hits.iter().enumerate() {
        let snippet = hit.snippet.trim_matches(|c: char| c == '…' || c.is_whitespace());
        for (sentence, (body, closing)) in sentences(snippet).into_iter().enumerate() {
            let text = format!("{}{closing}", body.trim());
            let words = content_words(&text, &stemmer);
            let length = text.unicode_words().count();
            if length < 3 {
                continue;
            }
            let overlap = words.intersection(&asked).count();
            // The ranking of recall already weighed time, people and the owner's own associations: a
            // sentence of a better memory starts ahead.
            let prior = 1.0 / (1.0 + rank as f64);
            candidates.push(Candidate {
                score: overlap as f64 + prior,
                overlap,
                text,
                words,
                length,
                at: hit.occurred_at.as_deref().and_then(|at| at.parse().ok()),
                place: (rank, sentence),
            });
        }
    }
    // Sentences that meet the prompt's words when there are any; otherwise the best memory's best sentence.
    if candidates.iter().any(|candidate| candidate.overlap > 0) {
        candidates.retain(|candidate| candidate.overlap > 0);
    } else {
        candidates.truncate(1);
    }
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut chosen: Vec<Candidate> = Vec::new();
    let mut words = 0;
    for candidate in candidates {
        let repeats = chosen.iter().any(|kept| {
            let shared = kept.words.intersection(&candidate.words).count() as f64;
            shared / candidate.words.len().max(1) as f64 > 0.6
        });
        if repeats || (!chosen.is_empty() && words + candidate.length > TARGET_WORDS * 3 / 2) {
            continue;
        }
        words += candidate.length;
        chosen.push(candidate);
        if chosen.len() == MAX_SENTENCES || words >= TARGET_WORDS {
            break;
        }
    }
    if chosen.is_empty() {
        return None;
    }
    // Told in the order it happened, as a person tells how something went: a wish of January before the news of
    // February, not after it.
    if chosen.iter().all(|candidate| candidate.at.is_some()) {
        chosen.sort_by(|a, b| a.at.cmp(&b.at).then(a.place.cmp(&b.place)));
    }
    let lower_case = persona.punctuation.lowercase_start_share > 0.5;
    let mut text = chosen
        .iter()
        .map(|candidate| {
            if lower_case {
                let mut chars = candidate.text.chars();
                chars.next().map(|first| first.to_lowercase().chain(chars).collect()).unwrap_or_default()
            } else {
                candidate.text.clone()
            }
        })
        .collect::<Vec<String>>()
        .join(" ");
    // Someone who ends messages with an emoji gets theirs, if the sentences did not bring one.
    if persona.punctuation.emoji_per_1000_words >= 10.0
        && let Some(favourite) = persona.emoji.first()
        && !text.contains(&favourite.mark)
    {
        text.push(' ');
        text.push_str(&favourite.mark);
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::VoiceModel;
    use crate::style::StyleSample;

    fn hit(id: &str, snippet: &str) -> SearchHit {
        SearchHit {
            memory_id: id.to_owned(),
            source: None,
            occurred_at: None,
            snippet: snippet.to_owned(),
            score: 1.0,
            redacted: false,
        }
    }

    #[test]
    fn answers_with_the_owners_sentences_that_meet_the_prompt() {
        let mut model = VoiceModel::default();
        for (index, text) in ["lovely day 😂", "off to the allotment 😂", "sourdough again 😂"].iter().enumerate()
        {
            model.add(&index.to_string(), &StyleSample::read(text, None, None));
        }
        let persona = model.persona("sam");
        let hits = [
            hit("m1", "Went climbing with Omar. The sourdough starter died while we were away, so sad."),
            hit("m2", "Baked sourdough again today. The new starter is finally lively!"),
        ];
        let answer = compose("How is your sourdough going?", &hits, &persona).unwrap();
        assert!(answer.contains("baked sourdough again today."), "{answer}");
        assert!(answer.contains("the sourdough starter died"), "{answer}");
        assert!(!answer.contains("Went climbing"), "{answer}");
        assert!(answer.starts_with("baked") || answer.starts_with("the"), "writes in lower case as they do: {answer}");
        assert!(answer.ends_with("😂"), "{answer}");
    }

    #[test]
    fn the_sentences_chosen_are_told_in_the_order_they_happened() {
        let persona = VoiceModel::default().persona("sam");
        let dated =
            |id: &str, at: &str, snippet: &str| SearchHit { occurred_at: Some(at.to_owned()), ..hit(id, snippet) };
        let hits = [
            dated("year", "2024-12-31T20:00:00Z", "What a year: a new job, a new home."),
            dated("wish", "2024-01-03T09:00:00Z", "I want to find a job I actually like."),
            dated("news", "2024-02-29T18:00:00Z", "I got the job at Fieldwork! I start in March."),
        ];
        let answer = compose("How is the new job going?", &hits, &persona).unwrap();
        let at = |text: &str| answer.find(text).unwrap_or_else(|| panic!("{text} in {answer}"));
        assert!(at("I want to find") < at("I got the job") && at("I got the job") < at("What a year"), "{answer}");
    }

    #[test]
    fn nothing_to_say_is_none() {
        let persona = VoiceModel::default().persona("sam");
        assert_eq!(compose("anything?", &[], &persona), None);
    }
}

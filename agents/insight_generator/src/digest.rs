//! Digests: what stood out in a day, week, month or year of a person's life, each finding with the memories it
//! rests on and how sure it is. Activity, topics, people and "on this day" come from what recall keeps of each
//! memory; mood and habits from the pattern analyzer; drifting contact from the relationship mapper; the
//! owner's voice from the avatar trainer. Whatever part is missing, the rest is still said.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use mneme_protocol::insights::{DigestPeriod, Insight, InsightKind};
use mneme_protocol::patterns::{Habit, MoodDay, Patterns};
use mneme_protocol::relationships::Relationships;
use mneme_protocol::words::counted;

use crate::colleagues::Voice;
use crate::recall::index::Indexed;

/// Evidence listed per finding, at most.
const EVIDENCE: usize = 10;

/// The first and last day (inclusive) of the `period` holding `ending`.
pub fn span(period: DigestPeriod, ending: Date) -> (Date, Date) {
    match period {
        DigestPeriod::Day => (ending, ending),
        DigestPeriod::Week => (ending.checked_sub(6.days()).unwrap_or(ending), ending),
        DigestPeriod::Month => (ending.first_of_month(), ending.last_of_month()),
        DigestPeriod::Year => (ending.first_of_year(), ending.last_of_year()),
    }
}

/// The period of the same kind just before the one starting on `from`.
pub fn previous(period: DigestPeriod, from: Date) -> (Date, Date) {
    let day_before = from.yesterday().unwrap_or(from);
    span(period, day_before)
}

fn day_of(entry: &Indexed) -> Option<Date> {
    let at = entry.timestamp()?;
    Some(jiff::Timestamp::from_second(at).ok()?.to_zoned_datetime(TimeZone::UTC).date())
}

/// What a digest is made from: the owner's memories the principal may see, with their days, and the parts the
/// other agents gave (none when they could not).
pub struct Sources<'a> {
    /// The owner's id: never one of their own people.
    pub owner: &'a str,
    pub entries: &'a [(String, Arc<Indexed>)],
    pub patterns: Option<&'a Patterns>,
    pub relationships: Option<&'a Relationships>,
    pub voice: Option<&'a Voice>,
}

/// The memories of each day between `from` and `to`.
fn within(entries: &[(String, Arc<Indexed>)], from: Date, to: Date) -> Vec<(&str, &Indexed, Date)> {
    let mut found: Vec<(&str, &Indexed, Date)> = entries
        .iter()
        .filter_map(|(id, entry)| {
            day_of(entry).filter(|day| *day >= from && *day <= to).map(|day| (id.as_str(), entry.as_ref(), day))
        })
        .collect();
    found.sort_by(|a, b| a.2.cmp(&b.2).then_with(|| a.0.cmp(b.0)));
    found
}

fn change(now: usize, before: usize) -> String {
    match before {
        0 if now == 0 => "none before either".to_owned(),
        0 => "none the period before".to_owned(),
        _ if now == 0 => format!("against {before} the period before"),
        _ => format!("{:+.0}% on the period before ({before})", (now as f64 / before as f64 - 1.0) * 100.0),
    }
}

/// A topic the index knows only by its stem ("potteri"): the insight at `insight` names it so until the owner's
/// own word for it is read from one of its memories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnnamedTopic {
    pub insight: usize,
    pub term: String,
}

/// What a period holds: its memories, every finding, and the topics still to be named.
#[derive(Debug)]
pub struct Findings {
    pub memories: u64,
    pub insights: Vec<Insight>,
    pub unnamed: Vec<UnnamedTopic>,
}

/// Every finding of the period `from`..=`to`, and how many memories it holds.
pub fn insights(period: DigestPeriod, from: Date, to: Date, sources: &Sources<'_>) -> Findings {
    let current = within(sources.entries, from, to);
    let (previous_from, previous_to) = previous(period, from);
    let before = within(sources.entries, previous_from, previous_to);
    let mut insights = Vec::new();
    insights.extend(activity(period, &current, &before));
    if let Some(patterns) = sources.patterns {
        insights.extend(mood(patterns, from, to, previous_from));
    }
    let mut unnamed = Vec::new();
    for (insight, stem) in topics(sources.owner, sources.entries, &current, sources.patterns, sources.relationships) {
        if let Some(term) = stem {
            unnamed.push(UnnamedTopic { insight: insights.len(), term });
        }
        insights.push(insight);
    }
    insights.extend(people(sources.owner, &current, &before, sources.relationships, to));
    if let Some(patterns) = sources.patterns {
        insights.extend(habits(patterns, from, to, previous_from));
    }
    insights.extend(on_this_day(sources.entries, period, from, to));
    if let Some(voice) = sources.voice {
        insights.extend(self::voice(period, sources.owner, &current, voice));
    }
    Findings { memories: current.len() as u64, insights, unnamed }
}

/// The title of a topic named `name`.
pub fn topic_title(name: &str) -> String {
    format!("On your mind: {name}")
}

/// How a memory writes a topic's term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// As this word (in lower case), other than as a verb: "pottery" for "potteri".
    Word(String),
    /// Only as a verb, right after a subject or a modal ("Jonas and I broke up", "couldn't face the run") or in
    /// its past form ("Omar called"): something done, not something on the owner's mind.
    Verb,
    /// As how someone feels, right after a verb of feeling ("Everything feels grey", "felt a bit low"): the
    /// mood insights tell of it. A word the owner once writes so is a feeling wherever it stands ("Grey.").
    Feeling,
}

/// Verbs whose complement says how someone feels or seems.
const FEELING_VERBS: &[&str] = &["feel", "feels", "felt", "feeling", "seem", "seems", "seemed"];

/// Words that may stand between a verb of feeling and the feeling ("felt a bit low", "feel so tired").
const DEGREE_WORDS: &[&str] =
    &["so", "very", "really", "quite", "too", "pretty", "rather", "a", "bit", "little", "kind", "sort", "of", "kinda"];

/// Words after which the next is a verb: subject pronouns, and modals and auxiliaries that take one.
const BEFORE_A_VERB: &[&str] = &[
    "i",
    "we",
    "you",
    "he",
    "she",
    "they",
    "i'll",
    "we'll",
    "you'll",
    "i'd",
    "we'd",
    "can",
    "can't",
    "cannot",
    "could",
    "couldn't",
    "will",
    "won't",
    "would",
    "wouldn't",
    "should",
    "shouldn't",
    "must",
    "don't",
    "doesn't",
    "didn't",
];

/// How `text` writes the words whose index term is `term`: `Feeling` if it writes one so, else the first not
/// used as a verb, else `Verb`; `None` when it holds none.
pub fn written(text: &str, term: &str) -> Option<Written> {
    let text = text.replace('’', "'");
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|word| word.trim_matches('\'').to_lowercase())
        .filter(|word| !word.is_empty())
        .collect();
    let mut found = None;
    for (at, word) in words.iter().enumerate() {
        if crate::recall::text::terms(word) != [term] {
            continue;
        }
        let before = &words[..at];
        let feeling_verb = before.iter().rev().find(|word| !DEGREE_WORDS.contains(&word.as_str()));
        if feeling_verb.is_some_and(|verb| FEELING_VERBS.contains(&verb.as_str())) {
            return Some(Written::Feeling);
        }
        // The stemmer takes "-ed" off a verb's past form ("called": "call") and leaves it on a noun ("bed");
        // an irregular past form ("broke") stands for its verb.
        let past_form =
            (word.ends_with("ed") && !term.ends_with("ed")) || crate::recall::text::irregular_base(word).is_some();
        let after_a_subject_or_modal = before.last().is_some_and(|word| BEFORE_A_VERB.contains(&word.as_str()));
        if past_form || after_a_subject_or_modal {
            found.get_or_insert(Written::Verb);
        } else if !matches!(found, Some(Written::Word(_))) {
            found = Some(Written::Word(word.clone()));
        }
    }
    found
}

/// Own memories a period needs before its voice is compared with the usual one.
const VOICE_MEMORIES: u64 = 3;

/// How the owner wrote in the period against how they usually write: formality, sentence length,
/// exclamations and questions, when they moved clearly; and the phrases they leaned on.
fn voice(period: DigestPeriod, owner: &str, current: &[(&str, &Indexed, Date)], voice: &Voice) -> Vec<Insight> {
    let (now, usual) = (&voice.period, &voice.usual);
    if now.memories < VOICE_MEMORIES || usual.memories <= now.memories {
        return Vec::new();
    }
    let mut changes = Vec::new();
    let formality = now.formality.score - usual.formality.score;
    if formality.abs() >= 4.0 {
        let how = if formality > 0.0 { "more formally" } else { "more casually" };
        changes
            .push(format!("{how} than usual ({:.0} against {:.0} of 100)", now.formality.score, usual.formality.score));
    }
    let length = now.sentence_length.mean_words / usual.sentence_length.mean_words.max(1.0);
    if !(0.8..=1.25).contains(&length) {
        let how = if length > 1.0 { "longer" } else { "shorter" };
        changes.push(format!(
            "in {how} sentences ({:.1} words against {:.1})",
            now.sentence_length.mean_words, usual.sentence_length.mean_words
        ));
    }
    for (what, now_share, usual_share) in [
        ("exclamations", now.punctuation.exclamation_share, usual.punctuation.exclamation_share),
        ("questions", now.punctuation.question_share, usual.punctuation.question_share),
    ] {
        if (now_share - usual_share).abs() >= 0.1 {
            let how = if now_share > usual_share { "more" } else { "fewer" };
            changes.push(format!(
                "with {how} {what} ({:.0}% of sentences against {:.0}%)",
                now_share * 100.0,
                usual_share * 100.0
            ));
        }
    }
    let phrases: Vec<String> =
        now.signature_phrases.iter().take(3).map(|phrase| format!("\"{}\"", phrase.phrase)).collect();
    // Spoken to the owner, as every insight is ("On your mind").
    let title = if changes.is_empty() {
        format!("You wrote as you usually do this {}", period.as_str())
    } else {
        format!("You wrote {} this {}", changes.join(", "), period.as_str())
    };
    let mut detail =
        format!("{}, {}", counted(now.memories, "own memory", "own memories"), counted(now.words, "word", "words"));
    if !phrases.is_empty() {
        detail.push_str(&format!("; leaned on {}", phrases.join(", ")));
    }
    let own: Vec<String> = current
        .iter()
        .filter(|(_, entry, _)| mneme_protocol::harvester::written_by_owner(entry.author.as_deref(), owner, &[]))
        .take(EVIDENCE)
        .map(|(id, _, _)| (*id).to_owned())
        .collect();
    // Style figures steady with the words read: a few hundred make a fair comparison.
    let confidence = (now.words as f64 / 500.0).clamp(0.2, 1.0);
    vec![Insight {
        kind: InsightKind::Voice,
        title,
        detail,
        confidence: (confidence * 100.0).round() / 100.0,
        evidence: own,
        weight: 1.0,
    }]
}

fn activity(
    period: DigestPeriod,
    current: &[(&str, &Indexed, Date)],
    before: &[(&str, &Indexed, Date)],
) -> Vec<Insight> {
    if current.is_empty() && before.is_empty() {
        return Vec::new();
    }
    let mut by_day: BTreeMap<Date, Vec<&str>> = BTreeMap::new();
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for (id, entry, day) in current {
        by_day.entry(*day).or_default().push(id);
        *by_kind.entry(entry.kind.as_str()).or_default() += 1;
    }
    let kinds: Vec<String> = by_kind.iter().map(|(kind, count)| format!("{count} {kind}")).collect();
    let busiest = by_day.iter().max_by_key(|(day, ids)| (ids.len(), std::cmp::Reverse(**day)));
    let mut detail = change(current.len(), before.len());
    if !kinds.is_empty() {
        detail = format!("{}; {detail}", kinds.join(", "));
    }
    let mut evidence = Vec::new();
    if let Some((day, ids)) = busiest
        && period != DigestPeriod::Day
    {
        detail.push_str(&format!("; busiest day {day} ({})", counted(ids.len(), "memory", "memories")));
        evidence.extend(ids.iter().take(EVIDENCE).map(|id| (*id).to_owned()));
    } else {
        evidence.extend(current.iter().take(EVIDENCE).map(|(id, _, _)| (*id).to_owned()));
    }
    let memories = match current.len() {
        0 => "No memories".to_owned(),
        count => counted(count, "memory", "memories"),
    };
    let title = match period {
        DigestPeriod::Day => format!("{memories} this day"),
        _ if current.is_empty() => format!("{memories} this {}", period.as_str()),
        _ => format!("{memories} this {}, across {}", period.as_str(), counted(by_day.len(), "day", "days")),
    };
    vec![Insight { kind: InsightKind::Activity, title, detail, confidence: 1.0, evidence, weight: 1.0 }]
}

/// Whether the period's mood moved against the period before, which decides the days that show it.
#[derive(Clone, Copy, PartialEq)]
enum MoodMove {
    Rose,
    Fell,
    Held,
}

fn mood(patterns: &Patterns, from: Date, to: Date, previous_from: Date) -> Vec<Insight> {
    let day = |text: &str| text.parse::<Date>().ok();
    let days_between = |first: Date, last: Date| -> Vec<&MoodDay> {
        patterns.mood.iter().filter(|mood| day(&mood.date).is_some_and(|date| date >= first && date <= last)).collect()
    };
    let mean_of = |days: &[&MoodDay]| days.iter().map(|mood| mood.mean).sum::<f64>() / days.len() as f64;
    let mut insights = Vec::new();
    let period = days_between(from, to);
    if !period.is_empty() {
        let (mean, days) = (mean_of(&period), period.len());
        let earlier = days_between(previous_from, from.yesterday().unwrap_or(from));
        let earlier = (!earlier.is_empty()).then(|| (mean_of(&earlier), earlier.len()));
        let (title, detail, moved) = match earlier {
            Some((before, _)) => {
                let (title, moved) = match mean - before {
                    change if change > 0.1 => ("Mood rose", MoodMove::Rose),
                    change if change < -0.1 => ("Mood fell", MoodMove::Fell),
                    _ => ("Mood held steady", MoodMove::Held),
                };
                (title.to_owned(), format!("mean {mean:+.2} against {before:+.2} the period before"), moved)
            }
            None => {
                ("Mood".to_owned(), format!("mean {mean:+.2} over {}", counted(days, "day", "days")), MoodMove::Held)
            }
        };
        // Surer with more days of mood on both sides.
        let confidence = (days.min(7) as f64 / 7.0)
            * earlier.map_or(0.5, |(_, before_days)| before_days.min(7) as f64 / 7.0).max(0.3);
        insights.push(Insight {
            kind: InsightKind::Mood,
            title,
            detail,
            confidence: confidence.clamp(0.0, 1.0),
            evidence: mood_evidence(period, mean, moved),
            weight: 1.0,
        });
    }
    for shift in &patterns.mood_shifts {
        if day(&shift.date).is_some_and(|date| date >= from && date <= to) {
            let word = if shift.direction == "drop" { "A low day" } else { "A high day" };
            insights.push(Insight {
                kind: InsightKind::Mood,
                title: format!("{word} on {}", shift.date),
                detail: format!(
                    "mood {:+.2} against a baseline of {:+.2} ({:.1} standard deviations)",
                    shift.mean, shift.baseline, shift.z
                ),
                confidence: shift.confidence,
                evidence: shift.evidence.iter().take(EVIDENCE).cloned().collect(),
                weight: 1.0,
            });
        }
    }
    insights
}

/// The memories that show a period's mood: for a rise the highest days', for a fall the lowest days', and for
/// a mood that held those of the days nearest its mean; of each day the memory that tells its mood.
fn mood_evidence(mut days: Vec<&MoodDay>, mean: f64, moved: MoodMove) -> Vec<String> {
    match moved {
        MoodMove::Rose => days.sort_by(|a, b| b.mean.total_cmp(&a.mean).then_with(|| a.date.cmp(&b.date))),
        MoodMove::Fell => days.sort_by(|a, b| a.mean.total_cmp(&b.mean).then_with(|| a.date.cmp(&b.date))),
        MoodMove::Held => days
            .sort_by(|a, b| (a.mean - mean).abs().total_cmp(&(b.mean - mean).abs()).then_with(|| a.date.cmp(&b.date))),
    }
    days.iter().filter_map(|day| day.telling_memory.clone()).take(EVIDENCE).collect()
}

/// The terms the period's memories hold far more than the owner's other memories (at least twice their share
/// there, in two memories or more), by TF-IDF, named by the analyzer's keyphrase for them when it has one. A
/// period holding nearly all the memories has nothing to stand out against: its topics are the analyzer's.
/// People are not topics: the people insights speak of them.
fn topics(
    owner: &str,
    all: &[(String, Arc<Indexed>)],
    current: &[(&str, &Indexed, Date)],
    patterns: Option<&Patterns>,
    relationships: Option<&Relationships>,
) -> Vec<(Insight, Option<String>)> {
    if current.len() < 2 {
        return Vec::new();
    }
    let people = people_terms(all, relationships);
    // The index holds stems ("potteri"); the analyzer's keyphrases hold the owner's own words for them.
    let mut names: HashMap<String, String> = HashMap::new();
    for keyphrase in patterns.map(|patterns| patterns.keyphrases.as_slice()).unwrap_or_default() {
        for term in crate::recall::text::terms(&keyphrase.phrase) {
            names.entry(term).or_insert_with(|| keyphrase.phrase.clone());
        }
    }
    let mut document_frequency: HashMap<&str, usize> = HashMap::new();
    for (_, entry) in all {
        for term in entry.terms.iter().map(String::as_str).collect::<HashSet<_>>() {
            *document_frequency.entry(term).or_default() += 1;
        }
    }
    let mut holding: HashMap<&str, Vec<&str>> = HashMap::new();
    for (id, entry, _) in current {
        for term in entry.terms.iter().map(String::as_str).collect::<HashSet<_>>() {
            if term.chars().count() > 2 && !term.chars().all(|c| c.is_ascii_digit()) {
                holding.entry(term).or_default().push(id);
            }
        }
    }
    let total = all.len().max(1) as f64;
    let others = all.len().saturating_sub(current.len());
    if others * 5 < all.len() {
        let found = patterns.map(|patterns| analyzer_topics(owner, patterns, current, &people)).unwrap_or_default();
        return found.into_iter().map(|insight| (insight, None)).collect();
    }
    let share_here = |ids: &Vec<&str>| ids.len() as f64 / current.len() as f64;
    let share_elsewhere = |term: &str, ids: &Vec<&str>| {
        (document_frequency.get(term).unwrap_or(&0).saturating_sub(ids.len()) as f64 + 1.0) / (others as f64 + 1.0)
    };
    let mut scored: Vec<(&str, f64, &Vec<&str>)> = holding
        .iter()
        .filter(|(term, ids)| {
            ids.len() >= 2
                && !term.eq_ignore_ascii_case(owner)
                && !people.contains(**term)
                && !crate::recall::text::says_no_subject(term)
                && share_here(ids) >= 2.0 * share_elsewhere(term, ids)
        })
        .map(|(term, ids)| {
            let idf = (total / *document_frequency.get(term).unwrap_or(&1) as f64).ln();
            (*term, ids.len() as f64 * idf, ids)
        })
        .filter(|(_, score, _)| *score > 0.0)
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    scored
        .into_iter()
        .take(5)
        .map(|(term, _, ids)| {
            let insight = Insight {
                kind: InsightKind::Topic,
                title: topic_title(names.get(term).map_or(term, String::as_str)),
                detail: format!(
                    "in {} of the period's {} memories, against {} of all {}",
                    ids.len(),
                    current.len(),
                    document_frequency.get(term).unwrap_or(&0),
                    all.len()
                ),
                // Sure from five memories.
                confidence: (ids.len() as f64 / 5.0).min(1.0),
                evidence: ids.iter().take(EVIDENCE).map(|id| (*id).to_owned()).collect(),
                weight: 1.0,
            };
            (insight, (!names.contains_key(term)).then(|| term.to_owned()))
        })
        .collect()
}

/// The terms of the names the owner's people go by: as authors and participants, and as the mapper knows them.
fn people_terms(all: &[(String, Arc<Indexed>)], relationships: Option<&Relationships>) -> HashSet<String> {
    let written = all.iter().flat_map(|(_, entry)| entry.people.iter());
    let known = relationships
        .map(|relationships| relationships.people.as_slice())
        .unwrap_or_default()
        .iter()
        .flat_map(|person| std::iter::once(&person.name).chain(&person.aliases));
    // Each name once: an owner's few people stand in thousands of memories.
    let names: HashSet<&String> = written.chain(known).collect();
    names.into_iter().flat_map(|name| crate::recall::text::terms(name)).collect()
}

/// How many of a period's memories a phrase needs before it can be told to live within another subject's.
const WITHIN_ANOTHER_FROM: usize = 3;

/// The analyzer's keyphrases with memories in the period, most of them first; none that only names people or
/// says when, none whose words hold, or are held by, those of one before it, and none the period writes almost
/// only within one before it.
fn analyzer_topics(
    owner: &str,
    patterns: &Patterns,
    current: &[(&str, &Indexed, Date)],
    people: &HashSet<String>,
) -> Vec<Insight> {
    let names_only_people =
        |phrase: &str| crate::recall::text::terms(phrase).iter().all(|term| people.contains(term.as_str()));
    // "night" or "week" say when, not what about (as in the period's own topics).
    let says_only_when =
        |phrase: &str| crate::recall::text::terms(phrase).iter().all(|term| crate::recall::text::says_no_subject(term));
    let here: HashSet<&str> = current.iter().map(|(id, _, _)| *id).collect();
    let mut found: Vec<(&mneme_protocol::patterns::Keyphrase, Vec<String>)> = patterns
        .keyphrases
        .iter()
        .map(|keyphrase| {
            let ids: Vec<String> = keyphrase.evidence.iter().filter(|id| here.contains(id.as_str())).cloned().collect();
            (keyphrase, ids)
        })
        .filter(|(keyphrase, ids)| {
            !ids.is_empty()
                && !keyphrase.phrase.eq_ignore_ascii_case(owner)
                && !names_only_people(&keyphrase.phrase)
                && !says_only_when(&keyphrase.phrase)
        })
        .collect();
    found.sort_by(|a, b| b.0.memories.cmp(&a.0.memories).then_with(|| b.0.score.total_cmp(&a.0.score)));
    // One subject, one topic: "pottery class" after "pottery" (or "pottery" after "pottery class") says again
    // what is already said, and would take the place of another subject. So does a phrase the period writes
    // almost only within a subject already said: "canal", when every run is "by the canal".
    let mut said: Vec<(HashSet<String>, HashSet<&str>)> = Vec::new();
    found.retain(|(keyphrase, _)| {
        let terms: HashSet<String> = crate::recall::text::terms(&keyphrase.phrase).into_iter().collect();
        let holding: HashSet<&str> = current
            .iter()
            .filter(|(_, entry, _)| terms.iter().all(|term| entry.terms.contains(term)))
            .map(|(id, _, _)| *id)
            .collect();
        let again = said.iter().any(|(earlier, earlier_holding)| {
            earlier.is_subset(&terms)
                || terms.is_subset(earlier)
                || (holding.len() >= WITHIN_ANOTHER_FROM
                    && holding.intersection(earlier_holding).count() * 5 >= holding.len() * 4)
        });
        if !again {
            said.push((terms, holding));
        }
        !again
    });
    found
        .into_iter()
        .take(5)
        .map(|(keyphrase, ids)| Insight {
            kind: InsightKind::Topic,
            title: topic_title(&keyphrase.phrase),
            detail: format!("in {}; {:?}", counted(keyphrase.memories, "memory", "memories"), keyphrase.trend)
                .to_lowercase(),
            confidence: keyphrase.confidence,
            evidence: ids,
            weight: 1.0,
        })
        .collect()
}

fn people(
    owner: &str,
    current: &[(&str, &Indexed, Date)],
    before: &[(&str, &Indexed, Date)],
    relationships: Option<&Relationships>,
    to: Date,
) -> Vec<Insight> {
    // Names as the mapper merges them, when it could say; else as written.
    let mut canonical: HashMap<String, String> = HashMap::new();
    for person in relationships.map(|relationships| relationships.people.as_slice()).unwrap_or_default() {
        for alias in person.aliases.iter().chain(std::iter::once(&person.name)) {
            canonical.insert(alias.to_lowercase(), person.name.clone());
        }
    }
    // The mapper knows who the owner is (their other names included) and leaves them out; without it, their id.
    let is_owner = |person: &str| match relationships {
        Some(_) => !canonical.contains_key(&person.to_lowercase()),
        None => {
            person.eq_ignore_ascii_case(owner)
                || person.split_whitespace().next().is_some_and(|first| first.eq_ignore_ascii_case(owner))
        }
    };
    let count = |memories: &[(&str, &Indexed, Date)]| {
        let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (id, entry, _) in memories {
            for person in entry.people.iter().collect::<HashSet<_>>() {
                if is_owner(person) {
                    continue;
                }
                let name = canonical.get(&person.to_lowercase()).cloned().unwrap_or_else(|| person.clone());
                seen.entry(name).or_default().push((*id).to_owned());
            }
        }
        seen
    };
    let (mut now, mut earlier) = (count(current), count(before));
    // The mapper also knows whom the memories speak of ("Tram 28 with Lena"), not only who wrote or took part.
    let current_ids: HashSet<&str> = current.iter().map(|(id, _, _)| *id).collect();
    let before_ids: HashSet<&str> = before.iter().map(|(id, _, _)| *id).collect();
    for person in relationships.map(|relationships| relationships.people.as_slice()).unwrap_or_default() {
        for id in &person.mentioned_in {
            let seen = if current_ids.contains(id.as_str()) {
                &mut now
            } else if before_ids.contains(id.as_str()) {
                &mut earlier
            } else {
                continue;
            };
            let memories = seen.entry(person.name.clone()).or_default();
            if !memories.contains(id) {
                memories.push(id.clone());
            }
        }
    }
    let mut insights = Vec::new();
    for (name, ids) in &now {
        let was = earlier.get(name).map_or(0, Vec::len);
        // Against a period before without a single memory, everyone would be "more": the memories just do not
        // reach back that far.
        if !before.is_empty() && ids.len() >= 2 && ids.len() >= 2 * was.max(1) {
            insights.push(Insight {
                kind: InsightKind::People,
                title: format!("More of {name}"),
                detail: format!("{} with them, {was} the period before", counted(ids.len(), "memory", "memories")),
                confidence: (ids.len() as f64 / 5.0).min(1.0),
                evidence: ids.iter().take(EVIDENCE).cloned().collect(),
                weight: 1.0,
            });
        }
    }
    for (name, ids) in &earlier {
        let is = now.get(name).map_or(0, Vec::len);
        if ids.len() >= 3 && is * 2 <= ids.len() {
            insights.push(Insight {
                kind: InsightKind::People,
                title: format!("Less of {name}"),
                detail: format!("{} with them, {} the period before", counted(is, "memory", "memories"), ids.len()),
                confidence: (ids.len() as f64 / 6.0).min(1.0),
                evidence: ids.iter().rev().take(EVIDENCE).cloned().collect(),
                weight: 1.0,
            });
        }
    }
    let end = to.to_string();
    for drift in relationships.map(|relationships| relationships.drift.as_slice()).unwrap_or_default() {
        if drift.last_contact.as_str() <= end.as_str() {
            insights.push(Insight {
                kind: InsightKind::People,
                title: format!("Drifting from {}", drift.person),
                detail: format!("last contact {}, {}", drift.last_contact, drift.in_words()),
                confidence: drift.confidence,
                evidence: drift.evidence.iter().take(EVIDENCE).cloned().collect(),
                weight: 1.0,
            });
        }
    }
    insights
}

fn habits(patterns: &Patterns, from: Date, to: Date, previous_from: Date) -> Vec<Insight> {
    let day = |text: &str| text.parse::<Date>().ok();
    let mut insights = Vec::new();
    for habit in &patterns.habits {
        let (Some(first), Some(last)) = (day(&habit.first_seen), day(&habit.last_seen)) else { continue };
        let detail = format!(
            "{}, {:.0}% of the weeks from {} to {}",
            counted(habit.occurrences, "time", "times"),
            habit.support * 100.0,
            habit.first_seen,
            habit.last_seen
        );
        if first >= from && first <= to {
            insights.push(Insight {
                kind: InsightKind::Habit,
                title: format!("New habit: {} on {}", habit.activity, habit.when),
                detail,
                confidence: habit.confidence,
                evidence: habit.evidence.iter().take(EVIDENCE).cloned().collect(),
                weight: 1.0,
            });
        } else if last >= previous_from && last < from && habit.support >= 0.5 && skipped_by_chance(habit, last, to) {
            insights.push(Insight {
                kind: InsightKind::Habit,
                title: format!("Habit paused: {} on {}", habit.activity, habit.when),
                detail,
                confidence: habit.confidence * habit.support,
                evidence: habit.evidence.iter().take(EVIDENCE).cloned().collect(),
                weight: 1.0,
            });
        }
    }
    insights
}

/// How unlikely a habit's absence must be, at its usual rate, before it is called paused.
const PAUSED_CHANCE: f64 = 0.05;

/// Whether `habit`, last seen on `last`, has missed more of its weeks (days, for a daily one) up to `to` than
/// chance would make it miss at its usual rate: a run on 82% of Saturdays misses one in five, and a single
/// Saturday without one is no pause; two in a row are.
fn skipped_by_chance(habit: &Habit, last: Date, to: Date) -> bool {
    let days = last.until(to).map_or(0, |span| span.get_days());
    let missed = if habit.weekday.is_some() { days / 7 } else { days };
    (1.0 - habit.support).max(0.0).powi(missed) < PAUSED_CHANCE
}

/// Memories of the same days in earlier years: for a day or a week only.
fn on_this_day(all: &[(String, Arc<Indexed>)], period: DigestPeriod, from: Date, to: Date) -> Vec<Insight> {
    if !matches!(period, DigestPeriod::Day | DigestPeriod::Week) {
        return Vec::new();
    }
    let mut by_year: BTreeMap<i16, Vec<&str>> = BTreeMap::new();
    for (id, entry) in all {
        let Some(day) = day_of(entry) else { continue };
        if day.year() >= from.year() {
            continue;
        }
        let same_days = (0..=from.until(to).map(|span| span.get_days()).unwrap_or(0))
            .filter_map(|offset| from.checked_add(i64::from(offset).days()).ok())
            .any(|date| date.month() == day.month() && date.day() == day.day());
        if same_days {
            by_year.entry(day.year()).or_default().push(id);
        }
    }
    by_year
        .into_iter()
        .rev()
        .map(|(year, ids)| Insight {
            kind: InsightKind::OnThisDay,
            title: format!("This {} in {year}", if period == DigestPeriod::Day { "day" } else { "week" }),
            detail: counted(ids.len(), "memory", "memories"),
            confidence: 1.0,
            evidence: ids.iter().take(EVIDENCE).map(|id| (*id).to_owned()).collect(),
            weight: 1.0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use mneme_protocol::guardian::Sensitivity;
    use mneme_protocol::harvester::SourceKind;

    fn entry(at: &str, text: &str, people: &[&str]) -> Arc<Indexed> {
        Arc::new(Indexed {
            occurred_at: Some(at.to_owned()),
            terms: crate::recall::text::terms(text),
            people: people.iter().map(|person| (*person).to_owned()).collect(),
            author: None,
            source: None,
            kind: SourceKind::Journal,
            sensitivity: Sensitivity::Personal,
            analysis: crate::recall::text::ANALYSIS,
        })
    }

    #[test]
    fn a_fall_in_mood_shows_its_lowest_days_and_a_held_mood_its_most_usual() {
        let day = |date: &str, mean: f64, telling: &str| MoodDay {
            date: date.to_owned(),
            mean,
            memories: 1,
            baseline: None,
            telling_memory: Some(telling.to_owned()),
        };
        let patterns = Patterns {
            mood: vec![
                day("2024-08-10", 0.5, "august"),
                day("2024-09-02", 0.3, "fine"),
                day("2024-09-10", -0.6, "worst"),
                day("2024-09-20", -0.2, "low"),
            ],
            ..Patterns::default()
        };
        let date = |text: &str| text.parse::<Date>().unwrap();
        let insights = mood(&patterns, date("2024-09-01"), date("2024-09-30"), date("2024-08-01"));
        assert_eq!(insights[0].title, "Mood fell");
        assert_eq!(insights[0].evidence, ["worst", "low", "fine"], "the lowest days first");
        let insights = mood(&patterns, date("2024-09-01"), date("2024-09-30"), date("2024-09-01"));
        assert_eq!(insights[0].title, "Mood");
        assert_eq!(insights[0].evidence[0], "low", "the day nearest the mean of -0.17");
    }

    #[test]
    fn people_the_memories_speak_of_count_as_well_as_those_who_take_part() {
        let entries: Vec<(String, Arc<Indexed>)> = vec![
            ("a".into(), entry("2024-06-12T08:00:00Z", "Lisbon, day one. Lena's flat in Alfama", &[])),
            ("b".into(), entry("2024-06-13T08:00:00Z", "Tram 28 with Lena, then the tiles museum", &[])),
            ("c".into(), entry("2024-06-15T08:00:00Z", "Fado in a tiny bar with Lena and Tom", &[])),
            ("d".into(), entry("2024-06-05T08:00:00Z", "Booked the flights", &[])),
        ];
        let relationships: Relationships = serde_json::from_value(serde_json::json!({
            "owner": "sam", "as_of": "2024-06-16", "total_people": 1, "communities": [], "links": [], "drift": [],
            "people": [{
                "name": "Lena", "aliases": [], "relation": null, "interactions": 0, "mentions": 3,
                "first_contact": null, "last_contact": null, "typical_gap_days": null, "sentiment": 0.3,
                "strength": 1.0, "degree": 0, "pagerank": 1.0, "community": null,
                "mentioned_in": ["a", "b", "c", "elsewhere"]
            }]
        }))
        .unwrap();
        let sources = Sources {
            owner: "sam",
            entries: &entries,
            patterns: None,
            relationships: Some(&relationships),
            voice: None,
        };
        let findings = insights(DigestPeriod::Week, date(2024, 6, 10), date(2024, 6, 16), &sources);
        let lena = findings.insights.iter().find(|insight| insight.title == "More of Lena").expect("more of Lena");
        assert_eq!(lena.detail, "3 memories with them, 0 the period before");
        assert_eq!(lena.evidence, ["a", "b", "c"], "only the period's memories");
    }

    #[test]
    fn periods_and_their_predecessors() {
        assert_eq!(span(DigestPeriod::Week, date(2024, 3, 10)), (date(2024, 3, 4), date(2024, 3, 10)));
        assert_eq!(span(DigestPeriod::Month, date(2024, 2, 10)), (date(2024, 2, 1), date(2024, 2, 29)));
        assert_eq!(previous(DigestPeriod::Month, date(2024, 3, 1)), (date(2024, 2, 1), date(2024, 2, 29)));
        assert_eq!(previous(DigestPeriod::Year, date(2024, 1, 1)), (date(2023, 1, 1), date(2023, 12, 31)));
    }

    #[test]
    fn a_week_of_activity_topics_people_and_earlier_years() {
        let entries: Vec<(String, Arc<Indexed>)> = vec![
            ("a".into(), entry("2024-03-04T08:00:00Z", "Pottery class with Omar, glazed two bowls", &["Omar", "Maya"])),
            ("b".into(), entry("2024-03-06T08:00:00Z", "Pottery again, Omar's kiln cracked a bowl", &["Omar"])),
            ("c".into(), entry("2024-03-07T08:00:00Z", "Long call with Anna about the move", &["Anna"])),
            ("d".into(), entry("2024-02-27T08:00:00Z", "Tea with Anna", &["Anna"])),
            ("e".into(), entry("2024-02-28T08:00:00Z", "Anna came for dinner", &["Anna"])),
            ("f".into(), entry("2024-02-29T08:00:00Z", "Walked with Anna", &["Anna"])),
            ("g".into(), entry("2022-03-05T08:00:00Z", "Snow in March, the whole city white", &[])),
        ];
        let sources = Sources { owner: "maya", entries: &entries, patterns: None, relationships: None, voice: None };
        let findings = insights(DigestPeriod::Week, date(2024, 3, 4), date(2024, 3, 10), &sources);
        let (count, insights) = (findings.memories, &findings.insights);
        assert_eq!(count, 3);
        let titles: Vec<&str> = insights.iter().map(|insight| insight.title.as_str()).collect();
        assert_eq!(titles[0], "3 memories this week, across 3 days");
        let pottery = titles.iter().position(|title| *title == "On your mind: potteri").expect("a topic");
        assert!(findings.unnamed.contains(&UnnamedTopic { insight: pottery, term: "potteri".to_owned() }));
        assert_eq!(written("Glazed two bowls at the pottery class.", "potteri"), Some(Written::Word("pottery".into())));
        assert_eq!(written("Pottery, again", "bowl"), None);
        assert!(!titles.iter().any(|title| title.contains("omar")), "a person is no topic: {titles:?}");
        assert!(titles.contains(&"More of Omar") && titles.contains(&"Less of Anna"), "{titles:?}");
        let earlier = insights.iter().find(|insight| insight.kind == InsightKind::OnThisDay).expect("on this day");
        assert_eq!((earlier.title.as_str(), earlier.evidence.as_slice()), ("This week in 2022", &["g".to_owned()][..]));
        assert_eq!(earlier.detail, "1 memory", "one memory, in the singular");
    }

    /// The analyzer's patterns of sam with these keyphrases (phrase, memories), each with `evidence`, and
    /// nothing else.
    fn patterns_with(keyphrases: &[(&str, u64)], evidence: &[&str]) -> Patterns {
        let keyphrase = |(phrase, memories): &(&str, u64)| mneme_protocol::patterns::Keyphrase {
            phrase: (*phrase).to_owned(),
            memories: *memories,
            score: *memories as f64,
            trend: mneme_protocol::patterns::Trend::Steady,
            confidence: 1.0,
            evidence: evidence.iter().map(|id| (*id).to_owned()).collect(),
        };
        Patterns {
            owner: "sam".to_owned(),
            memories: 40,
            undated: 0,
            rhythms: Default::default(),
            longest_streak: None,
            current_streak: None,
            gaps: Vec::new(),
            mood: Vec::new(),
            mood_shifts: Vec::new(),
            keyphrases: keyphrases.iter().map(keyphrase).collect(),
            topics: Vec::new(),
            habits: Vec::new(),
        }
    }

    fn topic_titles(patterns: &Patterns, current: &[(&str, &Indexed, Date)]) -> Vec<String> {
        analyzer_topics("sam", patterns, current, &HashSet::new()).into_iter().map(|insight| insight.title).collect()
    }

    #[test]
    fn a_subject_is_one_topic_however_many_keyphrases_name_it() {
        let patterns = patterns_with(
            &[
                ("saturday run", 42),
                ("pottery", 30),
                ("pottery class", 12),
                ("canal", 9),
                ("run", 8),
                ("lisbon", 7),
                ("marathon", 6),
            ],
            &["a"],
        );
        let memory = entry("2024-03-04T08:00:00Z", "Saturday run, then pottery class", &[]);
        let current = [("a", memory.as_ref(), date(2024, 3, 4))];
        let expected = ["saturday run", "pottery", "canal", "lisbon", "marathon"].map(topic_title);
        assert_eq!(topic_titles(&patterns, &current), expected);
    }

    #[test]
    fn a_phrase_written_almost_only_within_a_subject_already_said_is_no_topic_of_its_own() {
        let patterns = patterns_with(&[("saturday run", 5), ("canal", 5), ("night", 4), ("tea", 3)], &["run1", "tea"]);
        let mut memories: Vec<(String, Arc<Indexed>)> = (1..=5)
            .map(|km| {
                (format!("run{km}"), entry("2024-03-02T08:00:00Z", &format!("Saturday run, {km}k by the canal"), &[]))
            })
            .collect();
        memories.push(("tea".to_owned(), entry("2024-03-03T16:00:00Z", "Tea by the canal with a book", &[])));
        let current: Vec<(&str, &Indexed, Date)> =
            memories.iter().map(|(id, memory)| (id.as_str(), memory.as_ref(), date(2024, 3, 2))).collect();
        // Five of the six memories by the canal are the runs: "canal" says the runs again. "night" says when.
        assert_eq!(topic_titles(&patterns, &current), ["saturday run", "tea"].map(topic_title));
    }

    #[test]
    fn words_written_only_as_verbs_are_told_apart() {
        assert_eq!(written("Jonas and I broke up last night.", "break"), Some(Written::Verb));
        assert_eq!(written("Couldn’t face the run or the pottery class.", "face"), Some(Written::Verb));
        assert_eq!(written("I can't face pottery.", "face"), Some(Written::Verb));
        assert_eq!(written("Her face lit up. I can't face it.", "face"), Some(Written::Word("face".into())));
        assert_eq!(written("Soup with Lena; I love soup.", "soup"), Some(Written::Word("soup".into())));
        assert_eq!(written("Omar called, then Mum called.", "call"), Some(Written::Verb));
        assert_eq!(written("Omar called after our call.", "call"), Some(Written::Word("call".into())));
        assert_eq!(written("A new bed, finally.", "bed"), Some(Written::Word("bed".into())));
    }

    #[test]
    fn words_written_as_how_someone_feels_are_feelings() {
        assert_eq!(written("Couldn't face the run. Everything feels grey.", "grey"), Some(Written::Feeling));
        assert_eq!(written("Grey skies. I felt a bit grey after.", "grey"), Some(Written::Feeling), "anywhere in it");
        assert_eq!(written("Feel so tired.", "tire"), Some(Written::Feeling));
        assert_eq!(written("A grey morning by the canal.", "grey"), Some(Written::Word("grey".into())));
        assert_eq!(written("I feel the kiln from here.", "kiln"), Some(Written::Word("kiln".into())));
        assert_eq!(written("Omar called; I called back.", "call"), Some(Written::Verb));
    }

    #[test]
    fn words_of_time_are_no_topic() {
        let mut entries: Vec<(String, Arc<Indexed>)> = vec![
            ("a".into(), entry("2024-03-04T08:00:00Z", "A long week, the kiln cracked", &[])),
            ("b".into(), entry("2024-03-06T08:00:00Z", "This week the kiln cracked again", &[])),
            ("c".into(), entry("2024-03-07T08:00:00Z", "End of the week at last", &[])),
        ];
        for day in 1..=20 {
            entries.push((format!("o{day}"), entry(&format!("2024-01-{day:02}T08:00:00Z"), "Tea in the garden", &[])));
        }
        let sources = Sources { owner: "maya", entries: &entries, patterns: None, relationships: None, voice: None };
        let findings = insights(DigestPeriod::Week, date(2024, 3, 4), date(2024, 3, 10), &sources);
        let titles: Vec<&str> = findings.insights.iter().map(|insight| insight.title.as_str()).collect();
        assert!(titles.contains(&"On your mind: kiln"), "{titles:?}");
        assert!(!titles.iter().any(|title| title.ends_with("week")), "{titles:?}");
    }

    #[test]
    fn memories_that_begin_this_period_compare_no_one_with_before() {
        let entries: Vec<(String, Arc<Indexed>)> = vec![
            ("a".into(), entry("2024-03-04T08:00:00Z", "Pottery class with Omar", &["Omar"])),
            ("b".into(), entry("2024-03-06T08:00:00Z", "Omar's kiln cracked a bowl", &["Omar"])),
        ];
        let sources = Sources { owner: "maya", entries: &entries, patterns: None, relationships: None, voice: None };
        let findings = insights(DigestPeriod::Week, date(2024, 3, 4), date(2024, 3, 10), &sources);
        assert!(findings.insights.iter().all(|insight| insight.kind != InsightKind::People), "{:?}", findings.insights);
    }

    #[test]
    fn a_day_is_counted_without_its_days() {
        let entries: Vec<(String, Arc<Indexed>)> = vec![
            ("a".into(), entry("2024-03-04T08:00:00Z", "Tea with Anna", &["Anna"])),
            ("b".into(), entry("2024-03-05T08:00:00Z", "Long walk by the river", &[])),
        ];
        let sources = Sources { owner: "maya", entries: &entries, patterns: None, relationships: None, voice: None };
        let title_and_detail = |day: Date| {
            let findings = insights(DigestPeriod::Day, day, day, &sources);
            let activity = findings.insights.into_iter().find(|insight| insight.kind == InsightKind::Activity);
            activity.map(|insight| (insight.title, insight.detail)).unwrap_or_default()
        };
        let one = title_and_detail(date(2024, 3, 5));
        assert_eq!((one.0.as_str(), one.1.as_str()), ("1 memory this day", "1 journal; +0% on the period before (1)"));
        let none = title_and_detail(date(2024, 3, 6));
        assert_eq!((none.0.as_str(), none.1.as_str()), ("No memories this day", "against 1 the period before"));
    }

    #[test]
    fn a_habit_is_paused_when_it_missed_more_than_its_usual_rate_makes_likely() {
        let habit = |support: f64, first_seen: &str, last_seen: &str| Habit {
            activity: "run".to_owned(),
            related: Vec::new(),
            when: "Saturdays".to_owned(),
            weekday: Some("Saturday".to_owned()),
            part_of_day: None,
            occurrences: 43,
            support,
            confidence: 0.9,
            first_seen: first_seen.to_owned(),
            last_seen: last_seen.to_owned(),
            evidence: vec!["run".to_owned()],
        };
        let titles = |found: Vec<Habit>, from: Date, to: Date| {
            let patterns = Patterns { habits: found, ..Patterns::default() };
            let previous_from = from.checked_sub(from.until(to).unwrap()).unwrap().yesterday().unwrap();
            habits(&patterns, from, to, previous_from).into_iter().map(|insight| insight.title).collect::<Vec<_>>()
        };
        let last_week = (date(2024, 12, 23), date(2024, 12, 29));
        // Run on 82% of Saturdays: one Saturday without is chance, two are a pause.
        assert!(titles(vec![habit(0.82, "2024-01-06", "2024-12-21")], last_week.0, last_week.1).is_empty());
        let paused = titles(vec![habit(0.82, "2024-01-06", "2024-12-14")], date(2024, 12, 16), date(2024, 12, 29));
        assert_eq!(paused, ["Habit paused: run on Saturdays"]);
        // Every Saturday till now: one without is a pause.
        let every_week = titles(vec![habit(1.0, "2024-01-06", "2024-12-21")], last_week.0, last_week.1);
        assert_eq!(every_week, ["Habit paused: run on Saturdays"]);
        let new = titles(vec![habit(1.0, "2024-12-28", "2024-12-28")], last_week.0, last_week.1);
        assert_eq!(new, ["New habit: run on Saturdays"]);
    }
}

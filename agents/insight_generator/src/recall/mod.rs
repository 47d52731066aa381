//! Recall: which of an owner's memories answer a question. BM25 over the memories' terms ([`index`]), with what
//! lexical ranking misses: the time the question speaks of ([`when`]), read against the memories' dates and
//! ranked first; the people it names, weighed up; and words the owner's own memories add to it, by relevance
//! feedback (RM3: the terms of the best first answers, weighed by how well those answered).

pub mod index;
pub mod snippet;
pub mod text;
pub mod when;

use std::collections::{HashMap, HashSet};

use jiff::civil::Date;
use jiff::tz::TimeZone;

use mneme_protocol::insights::{Period, QueryReading, RecallOrder, RecallTally, WeightedTerm};

use index::{Found, IndexError, Indexed, Narrowing, OwnerIndex};
use when::Meaning;

/// How recall weighs what it finds; the defaults are what the evaluation set measured best (BENCHMARKS.md).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    /// How many of the first answers feed the expansion.
    pub feedback_memories: usize,
    /// How many words the expansion adds.
    pub expansion_terms: usize,
    /// The share of the expanded query that the added words make (RM3's lambda).
    pub expansion_share: f32,
    /// What naming a person of the owner's memories weighs, against a query word.
    pub people_weight: f32,
    /// How many candidates each pass ranks before the best are taken.
    pub candidates: usize,
    /// What a chat turn's match lends the two turns after it (an answer follows its question) and the turn
    /// before it, as shares of its score.
    pub following_turns: [f32; 2],
    pub preceding_turn: f32,
    /// Whether time expressions are read; off only to measure what reading them brings.
    pub time_expressions: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            feedback_memories: 10,
            expansion_terms: 10,
            expansion_share: 0.3,
            people_weight: 0.5,
            candidates: 200,
            following_turns: [0.5, 0.25],
            preceding_turn: 0.25,
            time_expressions: true,
        }
    }
}

/// A question as the search takes it.
#[derive(Debug, Clone)]
pub struct Question<'a> {
    pub text: &'a str,
    pub limit: usize,
    /// Hard limits from the request and from the principal's access.
    pub narrowing: Narrowing,
    /// The day relative expressions count from.
    pub today: Date,
}

/// The answer: memory ids, best first, and how the question was read.
#[derive(Debug, Clone, Default)]
pub struct Recalled {
    pub reading: QueryReading,
    pub found: Vec<Found>,
    /// The memories the expansion's words were drawn from, whose wording shows them as the owner writes them
    /// when none of `found` holds them.
    pub lenders: Vec<String>,
}

fn seconds(day: Date) -> Option<i64> {
    day.to_zoned_datetime(TimeZone::UTC).ok().map(|zoned| zoned.timestamp().as_second())
}

fn rfc3339(day: Date) -> String {
    day.to_zoned_datetime(TimeZone::UTC).map(|zoned| zoned.timestamp().to_string()).unwrap_or_default()
}

/// `narrowing`, further narrowed to the days `from` (inclusive) to `until` (exclusive).
fn within(narrowing: &Narrowing, (from, until): (Date, Date)) -> Narrowing {
    let mut within = narrowing.clone();
    within.from = Some(within.from.unwrap_or(i64::MIN).max(seconds(from).unwrap_or(i64::MIN)));
    within.until = Some(within.until.unwrap_or(i64::MAX).min(seconds(until).unwrap_or(i64::MAX)));
    within
}

/// Searches `index` for `question`.
pub fn recall(index: &OwnerIndex, question: &Question<'_>, tuning: &Tuning) -> Result<Recalled, IndexError> {
    // "When did I last ..." asks for an order, not for the word "last", and "how often ..." for a count: their
    // words are blanked (in place, so that what is read after keeps its offsets), and so are verbs of meeting
    // someone ("see", "talk"), which then say only who the question is about.
    let order = if tuning.time_expressions { when::find_order(question.text) } else { None };
    let tally = if tuning.time_expressions { when::find_tally(question.text) } else { None };
    let mut text = question.text.to_owned();
    if order.is_some() || tally.is_some() {
        let asking = order.iter().map(|order| order.span.clone()).chain(tally.iter().map(|(_, span)| span.clone()));
        for span in asking.chain(when::contact_verbs(question.text)) {
            text.replace_range(span.clone(), &" ".repeat(span.len()));
        }
    }
    let mut time = if tuning.time_expressions { when::find(&text, question.today) } else { None };
    let period = match &time {
        Some(found) => match &found.meaning {
            Meaning::Days { from, until } | Meaning::Recent { from, until } => Some((*from, *until)),
            Meaning::Yearly { span, year } => latest_held(index, span, *year, &question.narrowing)?,
            Meaning::Anchored { event, after, days } => {
                anchor(index, event, &question.narrowing, tuning)?.and_then(|day| {
                    let span = jiff::Span::new().days(*days);
                    if *after {
                        Some((day, day.checked_add(span).ok()?.tomorrow().ok()?))
                    } else {
                        Some((day.checked_sub(span).ok()?, day.tomorrow().ok()?))
                    }
                })
            }
        },
        None => None,
    };
    // An event the memories never speak of dates nothing: its words are searched for like the others.
    if period.is_none() {
        time = None;
    }
    // The words of a time expression say when, not what: they are not searched for.
    let words: String = match &time {
        Some(found) => format!("{} {}", &text[..found.span.start], &text[found.span.end..]),
        None => text,
    };
    let terms = text::terms(&words);
    let (people, people_as_written) = named_people(index, &words);
    let searched = unique(&terms);
    let mut reading = QueryReading {
        words: as_written(&searched, &words),
        terms: searched,
        people: people_as_written,
        order: order.as_ref().map(|order| RecallOrder {
            expression: order.expression.clone(),
            latest_first: order.extreme == when::Extreme::Latest,
        }),
        ..QueryReading::default()
    };
    if let (Some(found), Some((from, until))) = (&time, period) {
        reading.period =
            Some(Period { expression: found.expression.clone(), from: rfc3339(from), until: rfc3339(until) });
    }

    let mut weighted = weigh(&terms);
    // The expansion only appends: the question's own terms stay the first `asked` of `weighted`.
    let asked = weighted.len();
    if weighted.is_empty() && people.is_empty() && period.is_none() {
        return Ok(Recalled { reading, ..Recalled::default() });
    }
    // Without words or people, only the period can answer.
    let first = if weighted.is_empty() && people.is_empty() {
        Vec::new()
    } else {
        index.search(&weighted, &people, tuning.people_weight, &question.narrowing, tuning.candidates)?
    };
    let expansion = expand(index, &first, &weighted, tuning);
    let mut lenders = Vec::new();
    if !expansion.is_empty() {
        reading.expansion = expansion
            .iter()
            .map(|(term, weight)| WeightedTerm { term: term.clone(), weight: f64::from(*weight), word: None })
            .collect();
        let added: HashSet<&str> = expansion.iter().map(|(term, _)| term.as_str()).collect();
        lenders = first
            .iter()
            .take(tuning.feedback_memories)
            .filter(|found| {
                index
                    .entry(&found.memory_id)
                    .is_some_and(|entry| entry.terms.iter().any(|term| added.contains(term.as_str())))
            })
            .map(|found| found.memory_id.clone())
            .collect();
        weighted.extend(expansion);
    }
    let limit = tuning.candidates.max(question.limit);
    let everywhere = if reading.expansion.is_empty() {
        first
    } else {
        index.search(&weighted, &people, tuning.people_weight, &question.narrowing, limit)?
    };
    // A question only about people ("when did I last see Omar?") asks for the latest of all their memories;
    // another, for the latest of those that match about as well as the best.
    let named = Named::new(&people);
    let about_people_only = !people.is_empty() && weighted[..asked].iter().all(|(term, _)| named.has_word(term));
    let arrange = |found: Vec<Found>| match &order {
        Some(order) if about_people_only => in_order(index, found, order.extreme, |found| named.involve(index, found)),
        Some(order) => {
            let best = found.first().map_or(0.0, |found| found.score);
            let telling = Telling::of(index, &weighted[..asked]);
            let best_held = found.iter().map(|found| telling.held_by(index, found)).fold(0.0_f32, f32::max);
            in_order(index, found, order.extreme, |found| {
                found.score > 0.0
                    && found.score >= ORDER_MATCH_SHARE * best
                    && telling.held_by(index, found) >= ORDER_MATCH_SHARE * best_held
                    && (people.is_empty() || named.involve(index, found))
            })
        }
        None => found,
    };
    let everywhere = with_context(index, everywhere, tuning);
    let everywhere = match &order {
        // All their memories by date, however many there are, not only those that match best.
        Some(order) if about_people_only => {
            let latest_first = order.extreme == when::Extreme::Latest;
            let dated = index.search_by_date(
                &weighted[..asked],
                &people,
                tuning.people_weight,
                &question.narrowing,
                latest_first,
                limit,
            )?;
            let dated_ids: HashSet<String> = dated.iter().map(|found| found.memory_id.clone()).collect();
            let rest = everywhere.into_iter().filter(|found| !dated_ids.contains(&found.memory_id));
            in_order(index, dated.into_iter().chain(rest).collect(), order.extreme, |found| {
                dated_ids.contains(&found.memory_id) && named.involve(index, found)
            })
        }
        _ => arrange(everywhere),
    };
    let ranked = match period {
        Some(period) => {
            let vague = time.as_ref().is_some_and(|found| matches!(found.meaning, Meaning::Recent { .. }));
            let leading = if vague { &weighted[..asked] } else { &weighted[..] };
            let asking = Asking { leading, people: &people, vague };
            period_first(index, everywhere, period, &asking, question, tuning, arrange)?
        }
        None => everywhere,
    };
    let ranked = match tally {
        Some((expression, _)) => {
            let counted = tally_of(index, &weighted[..asked], &people, period, question, tuning)?;
            let days: HashSet<i64> = counted
                .iter()
                .filter_map(|found| index.entry(&found.memory_id)?.timestamp())
                .map(|at| at.div_euclid(86_400))
                .collect();
            reading.tally = Some(RecallTally { expression, memories: counted.len() as u64, days: days.len() as u64 });
            let ids: HashSet<String> = counted.iter().map(|found| found.memory_id.clone()).collect();
            let rest = ranked.into_iter().filter(|found| !ids.contains(&found.memory_id));
            in_order(index, counted.into_iter().chain(rest).collect(), when::Extreme::Earliest, |found| {
                ids.contains(&found.memory_id)
            })
        }
        None => ranked,
    };
    Ok(Recalled { reading, found: ranked.into_iter().take(question.limit).collect(), lenders })
}

/// The memories that say what a "how often" question asks about, in its period when it names one: every one
/// that holds about as much of its telling words as the best and involves the people it names; for a question
/// only about people, every memory of theirs. Counted, they answer it.
fn tally_of(
    index: &OwnerIndex,
    asked: &[(String, f32)],
    people: &[String],
    period: Option<(Date, Date)>,
    question: &Question<'_>,
    tuning: &Tuning,
) -> Result<Vec<Found>, IndexError> {
    if asked.is_empty() && people.is_empty() {
        return Ok(Vec::new());
    }
    let within = period.map_or_else(|| question.narrowing.clone(), |days| within(&question.narrowing, days));
    let found = index.search(asked, people, tuning.people_weight, &within, index.len().max(1))?;
    let named = Named::new(people);
    let about_people_only = !people.is_empty() && asked.iter().all(|(term, _)| named.has_word(term));
    let telling = Telling::of(index, asked);
    let best_held = found.iter().map(|found| telling.held_by(index, found)).fold(0.0_f32, f32::max);
    Ok(found
        .into_iter()
        .filter(|found| {
            let says_it = about_people_only
                || (best_held > 0.0 && telling.held_by(index, found) >= ORDER_MATCH_SHARE * best_held);
            says_it && (people.is_empty() || named.involve(index, found))
        })
        .collect())
}

/// What a question asks of a period: its `leading` terms, its people, and whether the period is vague.
struct Asking<'a> {
    leading: &'a [(String, f32)],
    people: &'a [String],
    vague: bool,
}

/// The people a question names, each with the index terms of their name (read once, not per memory).
struct Named<'a> {
    people: Vec<(&'a str, Vec<String>)>,
}

impl<'a> Named<'a> {
    fn new(people: &'a [String]) -> Self {
        Named { people: people.iter().map(|person| (person.as_str(), text::terms(person))).collect() }
    }

    /// Whether `term` is a word of one of their names.
    fn has_word(&self, term: &str) -> bool {
        self.people.iter().any(|(_, words)| words.iter().any(|word| word == term))
    }

    /// Whether the memory `found` is of each of them: theirs, or naming them.
    fn involve(&self, index: &OwnerIndex, found: &Found) -> bool {
        index.entry(&found.memory_id).is_some_and(|entry| {
            self.people.iter().all(|(person, words)| {
                entry.person_tokens().any(|token| token == *person)
                    || words.iter().all(|word| entry.terms.contains(word))
            })
        })
    }
}

/// What falls in the period comes first; the rest follows, in case the period was read too narrowly.
///
/// A vague period ("lately") leads only with what the question itself asks for (`leading`, its own terms), and
/// is no frame to fill: a memory of those days that holds only a word the owner's memories added, or none,
/// follows the question's matches from before it.
fn period_first(
    index: &OwnerIndex,
    everywhere: Vec<Found>,
    (from, until): (Date, Date),
    asking: &Asking<'_>,
    question: &Question<'_>,
    tuning: &Tuning,
    arrange: impl Fn(Vec<Found>) -> Vec<Found>,
) -> Result<Vec<Found>, IndexError> {
    let Asking { leading, people, vague } = *asking;
    let limit = tuning.candidates.max(question.limit);
    let within_period = within(&question.narrowing, (from, until));
    let matched = if leading.is_empty() && people.is_empty() {
        Vec::new()
    } else {
        index.search(leading, people, tuning.people_weight, &within_period, limit)?
    };
    // Within a period the words' own matches lead (in the order asked for); the turns around them come with the
    // rest of the period.
    let mut inside = arrange(matched);
    if inside.len() < question.limit && !(vague && (!leading.is_empty() || !people.is_empty())) {
        // The rest of the period, nearest in time to its best match (or in the order it happened).
        let centre = inside.first().and_then(|found| index.entry(&found.memory_id)).and_then(|entry| entry.timestamp());
        let mut rest: Vec<Found> = index
            .search(&[], &[], 0.0, &within_period, limit)?
            .into_iter()
            .filter(|found| !inside.iter().any(|known| known.memory_id == found.memory_id))
            .collect();
        rest.sort_by_cached_key(|found| {
            let at = index.entry(&found.memory_id).and_then(|entry| entry.timestamp()).unwrap_or(i64::MAX);
            (centre.map_or(at, |centre| (at - centre).abs()), index::natural_order(&found.memory_id, index))
        });
        inside.extend(rest.into_iter().map(|found| Found { score: 0.0, ..found }));
    }
    let lead = everywhere.iter().chain(&inside).map(|found| found.score).fold(0.0_f32, f32::max) + 1.0;
    let inside_count = inside.len();
    let mut seen = HashSet::new();
    Ok(inside
        .into_iter()
        .enumerate()
        .map(|(rank, found)| Found { score: found.score + lead + (inside_count - rank) as f32 * f32::EPSILON, ..found })
        .chain(everywhere)
        .filter(|found| seen.insert(found.memory_id.clone()))
        .collect())
}

/// How well, against the best, a memory must match to be among those a question about the first or the last
/// time puts in order of date, or among those a "how often" question counts.
const ORDER_MATCH_SHARE: f32 = 0.5;

/// How telling each of a question's own terms is: the rarer among the owner's memories, the more.
struct Telling(Vec<(String, f32)>);

impl Telling {
    fn of(index: &OwnerIndex, asked: &[(String, f32)]) -> Self {
        let documents = index.len().max(1) as f32;
        Telling(
            asked
                .iter()
                .map(|(term, _)| {
                    let rarity = (documents / (1 + index.document_frequency(term)) as f32).ln().max(0.0);
                    (term.clone(), rarity)
                })
                .collect(),
        )
    }

    fn total(&self) -> f32 {
        self.0.iter().map(|(_, rarity)| rarity).sum()
    }

    /// How much of what the question asks `entry` says in its own words.
    fn held_in(&self, entry: &Indexed) -> f32 {
        self.0.iter().filter(|(term, _)| entry.terms.iter().any(|held| held == term)).map(|(_, rarity)| rarity).sum()
    }

    /// A memory that holds only the question's commonest word ("run" of "when did I first run a marathon?"), or
    /// that ranks only by the chat turn beside it, holds little, however well it scores.
    fn held_by(&self, index: &OwnerIndex, found: &Found) -> f32 {
        index.entry(&found.memory_id).map_or(0.0, |entry| self.held_in(&entry))
    }
}

/// The memories that are `matching`, latest or earliest first; then the rest as they ranked.
fn in_order(
    index: &OwnerIndex,
    ranked: Vec<Found>,
    extreme: when::Extreme,
    matching: impl Fn(&Found) -> bool,
) -> Vec<Found> {
    let best = ranked.iter().map(|found| found.score).fold(0.0_f32, f32::max);
    let (mut matching, rest): (Vec<Found>, Vec<Found>) = ranked.into_iter().partition(|found| matching(found));
    matching.sort_by_cached_key(|found| {
        let at = index.entry(&found.memory_id).and_then(|entry| entry.timestamp());
        // A memory without a date cannot answer when; turns of one conversation keep the order they were said in.
        let by_date = match (extreme, at) {
            (_, None) => i64::MAX,
            (when::Extreme::Latest, Some(at)) => -at,
            (when::Extreme::Earliest, Some(at)) => at,
        };
        (by_date, index::natural_order(&found.memory_id, index))
    });
    let count = matching.len() as f32;
    let lead = best + 1.0;
    matching
        .into_iter()
        .enumerate()
        .map(|(rank, found)| Found { score: lead + (count - rank as f32) / count, ..found })
        .chain(rest)
        .collect()
}

/// Chat turns lend part of their score to the turns around them: the answer to a matching question is the turn
/// after it, and a matching answer often follows the question that names its subject.
fn with_context(index: &OwnerIndex, found: Vec<Found>, tuning: &Tuning) -> Vec<Found> {
    if tuning.following_turns.iter().all(|share| *share <= 0.0) && tuning.preceding_turn <= 0.0 {
        return found;
    }
    let mut scores: HashMap<String, f32> = found.iter().map(|found| (found.memory_id.clone(), found.score)).collect();
    let mut lent: HashMap<String, f32> = HashMap::new();
    for matched in &found {
        let (before, after) = index.neighbours(&matched.memory_id, 2);
        let shares =
            after.iter().zip(tuning.following_turns).chain(before.iter().take(1).map(|id| (id, tuning.preceding_turn)));
        for (neighbour, share) in shares {
            let loan = lent.entry(neighbour.clone()).or_default();
            *loan = loan.max(share * matched.score);
        }
    }
    for (memory_id, loan) in lent {
        *scores.entry(memory_id).or_default() += loan;
    }
    let mut ranked: Vec<Found> = scores.into_iter().map(|(memory_id, score)| Found { memory_id, score }).collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.memory_id.cmp(&b.memory_id)));
    ranked
}

/// Each distinct term with its weight: how often the query says it.
fn weigh(terms: &[String]) -> Vec<(String, f32)> {
    let mut weights: Vec<(String, f32)> = Vec::new();
    for term in terms {
        match weights.iter_mut().find(|(known, _)| known == term) {
            Some((_, weight)) => *weight += 1.0,
            None => weights.push((term.clone(), 1.0)),
        }
    }
    weights
}

/// Each of `terms` as `text` writes it; a term no single word of it stands for (a word the analyzer splits)
/// shows as the term.
fn as_written(terms: &[String], text: &str) -> Vec<String> {
    let wanted: HashSet<&str> = terms.iter().map(String::as_str).collect();
    let written = snippet::words_of(&wanted, [text], []);
    terms.iter().map(|term| written.get(term).unwrap_or(term).clone()).collect()
}

fn unique(terms: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    terms.iter().filter(|term| seen.insert(term.as_str())).cloned().collect()
}

/// The people of the owner's memories the query names (words that are part of a known name): as the index
/// holds them, and as the query writes them.
fn named_people(index: &OwnerIndex, words: &str) -> (Vec<String>, Vec<String>) {
    let (mut named, mut as_written) = (Vec::new(), Vec::new());
    for written in words.split(|c: char| !c.is_alphanumeric() && c != '\'') {
        let written = written.trim_end_matches("'s");
        let word = written.to_lowercase();
        if word.chars().count() < 2 || text::is_stop_word(&word) || named.contains(&word) {
            continue;
        }
        if index.knows_person(&word) {
            named.push(word);
            as_written.push(written.to_owned());
        }
    }
    (named, as_written)
}

/// How well, against the best, a memory must match an event's words to count as matching it as well.
const ANCHOR_MATCH_SHARE: f32 = 0.95;

/// The latest occurrence of months or a day named without their year (`span`, starting in `year` at the
/// latest) that holds any of the owner's memories within `narrowing`: "in September" of someone whose memories
/// end two years ago is the last September they wrote of, not this year's. The one in `year` when none does.
fn latest_held(
    index: &OwnerIndex,
    span: &when::Recurring,
    year: i16,
    narrowing: &Narrowing,
) -> Result<Option<(Date, Date)>, IndexError> {
    let held = |days: (Date, Date)| -> Result<bool, IndexError> {
        Ok(!index.search(&[], &[], 0.0, &within(narrowing, days), 1)?.is_empty())
    };
    let earliest = index.search_by_date(&[], &[], 0.0, narrowing, false, 1)?;
    let earliest = earliest.first().and_then(|found| index.entry(&found.memory_id)).and_then(|entry| entry.timestamp());
    let Some(earliest) = earliest else { return Ok(span.in_year(year)) };
    for back in (1..=year).rev() {
        let Some(days) = span.in_year(back) else { continue };
        if seconds(days.1).is_some_and(|until| until <= earliest) {
            break;
        }
        if held(days)? {
            return Ok(Some(days));
        }
    }
    Ok(span.in_year(year))
}

/// The day of the event a query anchors a time on: the date of the memory that best matches its words.
fn anchor(index: &OwnerIndex, event: &str, narrowing: &Narrowing, tuning: &Tuning) -> Result<Option<Date>, IndexError> {
    let terms = weigh(&text::terms(event));
    let found = index.search(&terms, &[], tuning.people_weight, narrowing, 5)?;
    // The memory that matches the event best dates it; among memories that match it as well (an event spoken
    // of before and after), the latest is the nearest to what followed it.
    let best = found.first().map_or(0.0, |found| found.score);
    let latest = found
        .iter()
        .filter(|found| found.score >= ANCHOR_MATCH_SHARE * best)
        .filter_map(|found| index.entry(&found.memory_id)?.timestamp())
        .max();
    Ok(latest.and_then(|at| Some(jiff::Timestamp::from_second(at).ok()?.to_zoned_datetime(TimeZone::UTC).date())))
}

/// RM3's expansion: the terms of the best first answers, each weighed by how much of those answers it makes and
/// how well they answered, leaving out the query's own terms, terms most memories hold and terms that say when or
/// how much rather than what (the question's time is read from its wording).
fn expand(index: &OwnerIndex, first: &[Found], query: &[(String, f32)], tuning: &Tuning) -> Vec<(String, f32)> {
    let feedback: Vec<&Found> = first.iter().take(tuning.feedback_memories).collect();
    if query.is_empty() || feedback.len() < 3 || tuning.expansion_terms == 0 || tuning.expansion_share <= 0.0 {
        return Vec::new();
    }
    let total_score: f32 = feedback.iter().map(|found| found.score).sum();
    if total_score <= 0.0 {
        return Vec::new();
    }
    let query_terms: HashSet<&str> = query.iter().map(|(term, _)| term.as_str()).collect();
    let common = (index.len() as u64 / 5).max(2);
    // A feedback memory speaks for the question as far as it holds the question's telling words: "New personal
    // best" answers "how is the new job going?" only by its commonest word, and must not steer the expansion.
    let telling = Telling::of(index, query);
    let query_telling = telling.total();
    let mut weights: HashMap<String, f32> = HashMap::new();
    // Memories written to one pattern (a weekly "Saturday run, 7k by the canal") speak once: otherwise a habit
    // the question only brushes against outvotes what it asks about.
    let mut heard: Vec<HashSet<&str>> = Vec::new();
    let entries: Vec<_> = feedback.iter().map(|found| index.entry(&found.memory_id)).collect();
    for (found, entry) in feedback.iter().zip(&entries) {
        let Some(entry) = entry else { continue };
        if entry.terms.is_empty() {
            continue;
        }
        // Told apart by their words, not by their figures ("7k", "10k").
        let said: HashSet<&str> = entry
            .terms
            .iter()
            .map(String::as_str)
            .filter(|term| !term.contains(|c: char| c.is_ascii_digit()))
            .collect();
        let alike = |other: &HashSet<&str>| {
            let shared = said.intersection(other).count();
            shared * 5 >= (said.len() + other.len() - shared) * 4
        };
        if heard.iter().any(alike) {
            continue;
        }
        heard.push(said);
        let coverage = if query_telling > 0.0 { telling.held_in(entry) / query_telling } else { 1.0 };
        let length = entry.terms.len() as f32;
        let mut counts: HashMap<&str, f32> = HashMap::new();
        for term in &entry.terms {
            *counts.entry(term.as_str()).or_default() += 1.0;
        }
        for (term, count) in counts {
            if query_terms.contains(term) || term.chars().count() < 3 || text::says_no_subject(term) {
                continue;
            }
            *weights.entry(term.to_owned()).or_default() += (found.score / total_score) * coverage * (count / length);
        }
    }
    let mut ranked: Vec<(String, f32)> =
        weights.into_iter().filter(|(term, _)| index.document_frequency(term) <= common).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(tuning.expansion_terms);
    let sum: f32 = ranked.iter().map(|(_, weight)| weight).sum();
    if sum <= 0.0 {
        return Vec::new();
    }
    // The original terms weigh 1 each; the added ones share what makes them `expansion_share` of the whole.
    let query_weight: f32 = query.iter().map(|(_, weight)| weight).sum();
    let share = tuning.expansion_share / (1.0 - tuning.expansion_share) * query_weight;
    ranked.into_iter().map(|(term, weight)| (term, share * weight / sum)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use mneme_protocol::guardian::Sensitivity;
    use mneme_protocol::harvester::SourceKind;

    fn entry(text: &str, at: &str, people: &[&str]) -> Indexed {
        Indexed {
            occurred_at: Some(at.to_owned()),
            terms: text::terms(text),
            people: people.iter().map(|person| (*person).to_owned()).collect(),
            author: None,
            source: None,
            kind: SourceKind::Journal,
            sensitivity: Sensitivity::Personal,
            analysis: text::ANALYSIS,
        }
    }

    fn corpus() -> OwnerIndex {
        let index = OwnerIndex::new("maya").unwrap();
        let memories = [
            (
                "wedding",
                "Anna and Tom's wedding by the lake, I cried during the vows",
                "2023-06-10T15:00:00Z",
                &["Anna"][..],
            ),
            ("after", "Drove to the coast with Omar, swam in the cold sea", "2023-06-14T10:00:00Z", &["Omar"][..]),
            ("later", "Drove to the coast again, windy and grey", "2023-09-20T10:00:00Z", &[][..]),
            ("may", "Started the new job at the studio", "2023-05-08T09:00:00Z", &[][..]),
            ("run1", "Morning run along the river, 5k", "2023-07-01T07:00:00Z", &[][..]),
            ("run2", "A 10k run by the river with Omar", "2023-07-08T07:00:00Z", &["Omar"][..]),
            ("run3", "Long run, knees sore afterwards", "2024-01-08T07:00:00Z", &[][..]),
        ];
        let added = memories.iter().map(|(id, text, at, people)| ((*id).to_owned(), entry(text, at, people)));
        index.apply(added, []).unwrap();
        index
    }

    fn ask(index: &OwnerIndex, text: &str) -> Recalled {
        let question = Question { text, limit: 3, narrowing: Narrowing::default(), today: date(2024, 3, 1) };
        recall(index, &question, &Tuning::default()).unwrap()
    }

    fn ids(recalled: &Recalled) -> Vec<&str> {
        recalled.found.iter().map(|found| found.memory_id.as_str()).collect()
    }

    #[test]
    fn time_expressions_put_their_period_first() {
        let index = corpus();
        let answer = ask(&index, "when did I drive to the coast the week after the wedding?");
        assert_eq!(ids(&answer)[0], "after");
        let period = answer.reading.period.expect("a period");
        assert_eq!(period.from, "2023-06-10T00:00:00Z");
        let answer = ask(&index, "running last summer");
        let mut summer = ids(&answer)[..2].to_vec();
        summer.sort_unstable();
        assert_eq!(summer, ["run1", "run2"]);
        assert_eq!(ids(&ask(&index, "what happened in May 2023?")), ["may"]);
    }

    #[test]
    fn lately_asks_for_the_last_month_and_is_no_word_to_search_for() {
        let index = corpus();
        let added = [
            ("late", entry("Stayed up late glazing", "2023-11-02T23:00:00Z", &[])),
            ("recent", entry("Pottery class, a new bowl", "2024-02-20T19:00:00Z", &[])),
            ("recent run", entry("Short run in the rain", "2024-02-25T07:00:00Z", &[])),
            ("brace", entry("A knee brace came in the post", "2024-02-26T07:00:00Z", &[])),
        ];
        index.apply(added.map(|(id, entry)| (id.to_owned(), entry)), []).unwrap();
        let answer = ask(&index, "what have I been up to lately?");
        assert_eq!(ids(&answer), ["recent", "recent run", "brace"]);
        assert_eq!(answer.reading.period.expect("a period").from, "2024-02-01T00:00:00Z");
        // What a question asks for lately leads, then the same further back, not the rest of the month.
        let running = ask(&index, "how's running these days?");
        assert_eq!(ids(&running)[0], "recent run");
        assert!(running.reading.expansion.iter().any(|added| added.term == "knee"), "{:?}", running.reading);
        assert!(!ids(&running).iter().any(|id| ["recent", "brace"].contains(id)), "{:?}", ids(&running));
    }

    #[test]
    fn memories_written_to_one_pattern_speak_once_in_the_expansion() {
        let index = OwnerIndex::new("sam").unwrap();
        let mut memories = vec![
            ("got", "Got the new job at Fieldwork!".to_owned()),
            ("first", "New job: first day at Fieldwork, met Priya".to_owned()),
            ("wish", "Want to find a job I like this year".to_owned()),
        ];
        for km in 3..10 {
            memories.push(("run", format!("Saturday run, {km}k by the canal. New personal best on the hill.")));
        }
        // Enough else that the pattern's words are not the words of most memories.
        for day in 1..40 {
            memories.push(("other", format!("Tea with someone, page {day} of the novel")));
        }
        let added = memories.iter().enumerate().map(|(number, (id, text))| {
            (format!("{id}{number}"), entry(text, &format!("2024-0{}-01T08:00:00Z", 1 + number % 9), &[]))
        });
        index.apply(added, []).unwrap();
        let reading = ask(&index, "how is the new job going?").reading;
        let weight =
            |term: &str| reading.expansion.iter().find(|added| added.term == term).map_or(0.0, |added| added.weight);
        assert!(weight("fieldwork") > 0.0, "{:?}", reading.expansion);
        // Seven Saturday runs brush against "new" as one memory does, not as seven.
        assert!(weight("canal") < weight("fieldwork") / 10.0, "{:?}", reading.expansion);
    }

    #[test]
    fn the_reading_shows_the_words_searched_for_as_the_question_writes_them() {
        let index = corpus();
        let reading = ask(&index, "Pottery classes with Omar, and running in 2023?").reading;
        assert_eq!(reading.terms, ["potteri", "class", "omar", "run"]);
        assert_eq!(reading.words, ["pottery", "classes", "Omar", "running"]);
        // A term shows once, as the question first writes it, lower-cased where it opens the question.
        assert_eq!(ask(&index, "Runs, runs and more runs").reading.words, ["runs"]);
    }

    #[test]
    fn the_last_or_first_time_puts_the_best_matches_in_order_of_date() {
        let index = corpus();
        let last = ask(&index, "when did I last go for a run?");
        assert_eq!(ids(&last), ["run3", "run2", "run1"]);
        assert_eq!(last.reading.order, Some(RecallOrder { expression: "last".to_owned(), latest_first: true }));
        assert!(!last.reading.terms.contains(&"last".to_owned()), "{:?}", last.reading.terms);
        assert_eq!(ids(&ask(&index, "the first time I went running")), ["run1", "run2", "run3"]);
        // A verb's irregular past meets its other forms.
        assert_eq!(ids(&ask(&index, "when was the last time I ran?")), ["run3", "run2", "run1"]);
        // A question about someone and nothing else asks for the latest of all their memories, those that only
        // name them too; the verb of meeting them is no word to search for.
        let omar = ask(&index, "when did I last see Omar?");
        assert_eq!(ids(&omar)[..2], ["run2", "after"]);
        assert!(!omar.reading.terms.contains(&"see".to_owned()), "{:?}", omar.reading.terms);
        index.apply([("named".to_owned(), entry("Omar came round for tea", "2024-02-10T18:00:00Z", &[]))], []).unwrap();
        assert_eq!(ids(&ask(&index, "when did I last see Omar?"))[..3], ["named", "run2", "after"]);
        // A period still leads, and within it the order holds.
        assert_eq!(ids(&ask(&index, "when did I last run in 2023?"))[..2], ["run2", "run1"]);
        // Words besides the person's still count: only the memories that match about as well as the best.
        assert_eq!(ids(&ask(&index, "when did I last run with Omar?"))[0], "run2");
        // However many memories of them there are, not only the best matches.
        let chats = (1..=250).map(|day| {
            let at = format!("2022-{:02}-{:02}T10:00:00Z", day % 12 + 1, day % 28 + 1);
            (format!("chat{day}"), entry("Omar", &at, &["Omar"]))
        });
        index.apply(chats, []).unwrap();
        let long = "A long walk by the river, then the market, the bakery, the bookshop and, at last, tea with Omar";
        index.apply([("latest".to_owned(), entry(long, "2024-02-20T18:00:00Z", &[]))], []).unwrap();
        assert_eq!(ids(&ask(&index, "when did I last see Omar?"))[0], "latest");
    }

    #[test]
    fn the_time_of_an_event_is_not_a_memory_holding_only_its_commonest_word_or_lent_a_score() {
        let index = corpus();
        let chat = |text: &str, at: &str, source: &str| Indexed {
            kind: SourceKind::Chat,
            source: Some(source.to_owned()),
            ..entry(text, at, &["Omar"])
        };
        let marathon = [
            ("early".to_owned(), entry("Grey. No run", "2023-02-01T07:00:00Z", &[])),
            (
                "signed".to_owned(),
                entry(
                    "Signed up for the marathon in October, the training plan is on the fridge",
                    "2023-08-01T07:00:00Z",
                    &[],
                ),
            ),
            (
                "ran".to_owned(),
                chat(
                    "Ran the marathon today! Omar and Lena at mile 20 with a sign",
                    "2023-10-20T12:00:00Z",
                    "chat#omar/1",
                ),
            ),
            ("reply".to_owned(), chat("Amazing. How are the legs?", "2023-10-20T12:01:00Z", "chat#omar/2")),
        ];
        index.apply(marathon, []).unwrap();
        // "run" is in half the memories, "marathon" in two: a run without one says nothing of when it was, and
        // the turn after the marathon's ranks only by it.
        assert_eq!(ids(&ask(&index, "when did I first run a marathon?")), ["signed", "ran", "reply"]);
        assert_eq!(ids(&ask(&index, "when did I last run a marathon?"))[..2], ["ran", "signed"]);
    }

    #[test]
    fn a_month_without_its_year_is_the_latest_that_holds_memories() {
        let index = OwnerIndex::new("sam").unwrap();
        let memories = [
            ("sep2021", "Started pottery", "2021-09-10T08:00:00Z"),
            ("sep2022", "Everything feels grey", "2022-09-06T08:00:00Z"),
            ("jan2024", "New notebook", "2024-01-03T08:00:00Z"),
        ];
        index.apply(memories.iter().map(|(id, text, at)| ((*id).to_owned(), entry(text, at, &[]))), []).unwrap();
        let asked_on = |today: Date, question: &str| {
            let question = Question { text: question, limit: 3, narrowing: Narrowing::default(), today };
            recall(&index, &question, &Tuning::default()).unwrap()
        };
        let september = asked_on(date(2026, 12, 8), "how did I feel in September?");
        let period = september.reading.period.clone().unwrap();
        assert_eq!((&period.from[..10], &period.until[..10]), ("2022-09-01", "2022-10-01"));
        assert_eq!(ids(&september)[0], "sep2022");
        let autumn = asked_on(date(2026, 12, 8), "how was I between August and October?").reading.period.unwrap();
        assert_eq!((&autumn.from[..10], &autumn.until[..10]), ("2022-08-01", "2022-11-01"));
        let since = asked_on(date(2026, 12, 8), "what happened since July?").reading.period.unwrap();
        assert_eq!(
            (&since.from[..10], &since.until[..10]),
            ("2023-07-01", "2026-12-09"),
            "the latest with memories since"
        );
        // Named with its year, or as last September, it is that one, whatever it holds.
        let last = asked_on(date(2026, 12, 8), "how did I feel last September?").reading.period.unwrap();
        assert_eq!(&last.from[..10], "2026-09-01");
        // A month none of the memories is of is the latest up to the day asked.
        let may = asked_on(date(2026, 12, 8), "what did I do in May?").reading.period.unwrap();
        assert_eq!(&may.from[..10], "2026-05-01");
    }

    #[test]
    fn how_often_counts_the_memories_that_say_it() {
        let index = corpus();
        let tally = |question: &str| {
            let recalled = ask(&index, question);
            let found: Vec<String> = ids(&recalled).into_iter().map(str::to_owned).collect();
            (recalled.reading.tally.map(|tally| tally.memories), found)
        };
        assert_eq!(tally("how often did I run?"), (Some(3), vec!["run1".to_owned(), "run2".into(), "run3".into()]));
        assert_eq!(tally("How many times did I go running in 2023?").0, Some(2));
        // Only about someone: every memory of theirs, the verb of meeting them no word to search for.
        let omar = ask(&index, "how many times did I see Omar?");
        assert_eq!(omar.reading.tally.as_ref().map(|tally| (tally.memories, tally.days)), Some((2, 2)));
        assert!(omar.reading.terms == ["omar"], "{:?}", omar.reading.terms);
        assert_eq!(ask(&index, "how often?").reading.tally, None, "nothing asked about, nothing counted");
        assert_eq!(ask(&index, "how did I feel?").reading.tally, None);
    }

    #[test]
    fn named_people_weigh_and_questions_without_words_find_nothing() {
        let index = corpus();
        let answer = ask(&index, "run with Omar");
        assert_eq!(ids(&answer)[0], "run2");
        assert_eq!(answer.reading.people, ["Omar"], "as the question writes them");
        assert!(ask(&index, "what was it?").found.is_empty());
    }

    /// The words the owner's memories add to `question` asked on `today`, among twenty memories of nothing
    /// in particular.
    fn expansion(memories: Vec<(&str, Indexed)>, question: &str, today: Date) -> Vec<WeightedTerm> {
        let index = OwnerIndex::new("sam").unwrap();
        let filler =
            (1..=20).map(|day| ("tea", entry("Tea in the garden", &format!("2024-01-{day:02}T08:00:00Z"), &[])));
        let added =
            memories.into_iter().chain(filler).enumerate().map(|(at, (id, entry))| (format!("{id}{at}"), entry));
        index.apply(added, []).unwrap();
        let question = Question { text: question, limit: 3, narrowing: Narrowing::default(), today };
        recall(&index, &question, &Tuning::default()).unwrap().reading.expansion
    }

    #[test]
    fn memories_that_share_only_a_questions_commonest_word_do_not_steer_its_expansion() {
        let mut memories = vec![
            ("offer", entry("Offer for the job at Fieldwork, the design studio", "2024-02-29T08:00:00Z", &[])),
            ("first", entry("First day of the job at Fieldwork, the studio is lovely", "2024-03-11T08:00:00Z", &[])),
            ("year", entry("What a year: a new job at Fieldwork", "2024-12-31T08:00:00Z", &[])),
        ];
        for day in 1..=5 {
            let at = format!("2024-04-{day:02}T08:00:00Z");
            memories.push(("run", entry("Saturday run by the canal. New personal best on the hill.", &at, &[])));
        }
        let added = expansion(memories, "how is the new job going?", date(2024, 12, 31));
        assert_eq!(added.first().map(|term| term.term.as_str()), Some("fieldwork"), "{added:?}");
        let weight = |wanted: &str| added.iter().find(|term| term.term == wanted).map_or(0.0, |term| term.weight);
        // Five runs against three memories of the job: the job's words still weigh more.
        assert!(weight("hill") < weight("studio"), "{added:?}");
    }

    #[test]
    fn expansion_widens_a_question_by_subjects_not_by_when_or_how_much() {
        let memories = vec![
            ("left", entry("Jonas left last night", "2024-09-04T22:00:00Z", &["Jonas"])),
            ("a", entry("I feel a bit grey this week, no pottery", "2024-09-06T08:00:00Z", &[])),
            ("b", entry("Feel a bit better this week after dinner with Lena", "2024-09-09T08:00:00Z", &[])),
            ("c", entry("This week I feel distant, dinner alone, no pottery", "2024-09-11T08:00:00Z", &[])),
        ];
        let expanded = expansion(memories, "how did I feel the week after Jonas left?", date(2024, 12, 1));
        let added: Vec<&str> = expanded.iter().map(|term| term.term.as_str()).collect();
        assert!(added.contains(&"dinner") && added.contains(&"potteri"), "{added:?}");
        assert!(!added.iter().any(|term| ["week", "bit"].contains(term)), "{added:?}");
    }
}

//! What an owner writes about: keyphrases ranked by TF-IDF over their memories, grouped into topics where
//! their memories overlap, each with its trend; and habits, the activities that recur in one slot of the week
//! or day, with support and confidence.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::civil::{Date, Weekday};

use mneme_protocol::patterns::{Habit, Keyphrase, Topic, Trend};

use super::terms::{ACTIVITIES, has_capitals, is_stop_word, lower, stem};

/// A memory as topics and habits see it.
pub struct Item<'o> {
    pub id: &'o str,
    pub date: Option<Date>,
    /// None for memories known only by their date.
    pub hour: Option<i8>,
    pub terms: &'o [String],
}

/// A term's forms and the memories it appears in.
struct Term<'o> {
    /// Its words' stems, a space between: what groups its forms.
    stem: String,
    /// The form the owner writes most.
    display: &'o str,
    /// Indexes into the items.
    memories: BTreeSet<usize>,
}

impl Term<'_> {
    fn words(&self) -> usize {
        self.stem.split(' ').count()
    }
}

const KEYPHRASES: usize = 20;
/// A term in half the memories or more says little about any of them; in a corpus this small, every term is.
const UBIQUITY_MIN_MEMORIES: f64 = 20.0;
/// Keyphrases considered for topics.
const TOPIC_CANDIDATES: usize = 40;
/// Two keyphrases belong to one topic when their memories overlap this much (Jaccard).
const TOPIC_OVERLAP: f64 = 0.2;
const TOPICS: usize = 10;
const EVIDENCE: usize = 10;
/// The recent stretch a trend compares against what came before.
const RECENT_MONTHS: i16 = 3;
/// A habit recurs in at least this many weeks (days, when daily), in at least this share of them, and holds
/// at least this share of the activity's memories.
const HABIT_MIN_PERIODS: usize = 4;
const HABIT_MIN_SUPPORT: f64 = 0.5;
const HABIT_MIN_CONFIDENCE: f64 = 0.6;
const HABITS: usize = 10;
/// Habits of one slot are one when their memories overlap this much (Dice).
const HABIT_SAME_OVERLAP: f64 = 0.6;

fn month(date: Date) -> i32 {
    i32::from(date.year()) * 12 + i32::from(date.month()) - 1
}

fn month_name(month: i32) -> String {
    format!("{:04}-{:02}", month / 12, month % 12 + 1)
}

/// A term shows its capitals when one in this many of its memories or more writes them inside a sentence: the
/// others may have it open a sentence, which takes its capitals away.
const CAPITALS_ONE_IN: u64 = 4;

/// Of a term's forms and the memories of each, the one the owner writes most (by its lower case), with its
/// capitals where enough memories write it with them inside a sentence ("Lena", "Lisbon" and "run").
fn display_form<'o>(forms: &BTreeMap<&'o str, u64>) -> &'o str {
    let mut by_lower: BTreeMap<std::borrow::Cow<'o, str>, u64> = BTreeMap::new();
    for (form, memories) in forms {
        *by_lower.entry(lower(form)).or_default() += memories;
    }
    // The first of the most written, as the lower cases sort.
    let Some((most_written, memories)) = by_lower.iter().rev().max_by_key(|(_, memories)| **memories) else {
        return "";
    };
    let (capitalized, plain): (Vec<(&&'o str, &u64)>, Vec<_>) =
        forms.iter().filter(|(form, _)| lower(form) == *most_written).partition(|(form, _)| has_capitals(form));
    let capitalized_memories: u64 = capitalized.iter().map(|(_, memories)| **memories).sum();
    let shown = match capitalized.iter().max_by_key(|(_, memories)| **memories) {
        Some(written) if capitalized_memories * CAPITALS_ONE_IN >= *memories => Some(written),
        _ => plain.first(),
    };
    shown.map_or("", |(form, _)| **form)
}

/// The analysis of one owner's items.
pub struct Subjects<'o> {
    items: &'o [Item<'o>],
    terms: Vec<Term<'o>>,
    /// Indexes into `terms` with their scores, highest first (see [`Subjects::rank`]).
    ranked: Vec<(usize, f64)>,
    /// The latest month with memories, and memories per month.
    latest_month: Option<i32>,
    per_month: BTreeMap<i32, u64>,
}

impl<'o> Subjects<'o> {
    /// The subjects of `items`, leaving out every term with one of `unwanted` among its words (the owner's
    /// own name says nothing of what they write about), or a stop word: terms kept before a word joined the
    /// stop words are judged by today's list.
    pub fn new(items: &'o [Item<'o>], unwanted: &[&str]) -> Self {
        let mut by_stem: HashMap<String, (BTreeMap<&'o str, u64>, BTreeSet<usize>)> = HashMap::new();
        for (index, item) in items.iter().enumerate() {
            for term in item.terms {
                if term.split(' ').map(lower).any(|word| unwanted.contains(&word.as_ref()) || is_stop_word(&word)) {
                    continue;
                }
                let (forms, memories) = by_stem.entry(stem(term)).or_default();
                *forms.entry(term.as_str()).or_default() += 1;
                memories.insert(index);
            }
        }
        let mut terms: Vec<Term<'o>> = by_stem
            .into_iter()
            .map(|(stem, (forms, memories))| Term { stem, display: display_form(&forms), memories })
            .collect();
        terms.sort_by(|a, b| a.display.cmp(b.display));
        let mut per_month = BTreeMap::new();
        for date in items.iter().filter_map(|item| item.date) {
            *per_month.entry(month(date)).or_default() += 1;
        }
        let ranked = Self::rank(&terms, items.len());
        Subjects { items, terms, ranked, latest_month: per_month.keys().next_back().copied(), per_month }
    }

    fn evidence(&self, memories: &BTreeSet<usize>) -> Vec<String> {
        let mut dated: Vec<(Option<Date>, &str)> =
            memories.iter().map(|index| (self.items[*index].date, self.items[*index].id)).collect();
        dated.sort_by(|a, b| b.cmp(a));
        dated.iter().take(EVIDENCE).map(|(_, id)| (*id).to_owned()).collect()
    }

    fn trend(&self, memories: &BTreeSet<usize>) -> Trend {
        let Some(latest) = self.latest_month else { return Trend::Steady };
        let recent_start = latest - i32::from(RECENT_MONTHS) + 1;
        let (mut recent, mut before) = (0u64, 0u64);
        for date in memories.iter().filter_map(|index| self.items[*index].date) {
            if month(date) >= recent_start {
                recent += 1;
            } else {
                before += 1;
            }
        }
        let all_recent: u64 = self.per_month.range(recent_start..).map(|(_, count)| count).sum();
        let all_before: u64 = self.per_month.range(..recent_start).map(|(_, count)| count).sum();
        if all_before == 0 || all_recent == 0 {
            return Trend::Steady;
        }
        if before == 0 {
            return if recent >= 2 { Trend::New } else { Trend::Steady };
        }
        let rate_recent = recent as f64 / all_recent as f64;
        let rate_before = before as f64 / all_before as f64;
        if rate_recent >= 1.5 * rate_before && recent >= 2 {
            Trend::Rising
        } else if rate_recent <= 0.5 * rate_before {
            Trend::Fading
        } else {
            Trend::Steady
        }
    }

    /// Terms of two or more memories by TF-IDF (binary term frequency: a memory is about a term or not), a
    /// single word dropped when a phrase holding it covers most of its memories.
    fn rank(terms: &[Term], items: usize) -> Vec<(usize, f64)> {
        let total = items as f64;
        let mut ranked: Vec<(usize, f64)> = terms
            .iter()
            .enumerate()
            .filter(|(_, term)| {
                let ubiquitous = total >= UBIQUITY_MIN_MEMORIES && term.memories.len() as f64 >= total * 0.5;
                term.memories.len() >= 2 && !ubiquitous
            })
            .map(|(index, term)| {
                let df = term.memories.len() as f64;
                // Phrases name subjects more exactly than their words alone.
                let specificity = if term.words() > 1 { 1.5 } else { 1.0 };
                (index, df * (total / df).ln() * specificity)
            })
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        // For each word stem, the most memories a ranked phrase holding it appears in.
        let mut widest_phrase: HashMap<&str, usize> = HashMap::new();
        for (index, _) in &ranked {
            let phrase = &terms[*index];
            if phrase.words() > 1 {
                for word in phrase.stem.split(' ') {
                    let widest = widest_phrase.entry(word).or_default();
                    *widest = (*widest).max(phrase.memories.len());
                }
            }
        }
        ranked.retain(|(index, _)| {
            let term = &terms[*index];
            term.words() > 1
                || widest_phrase
                    .get(term.stem.as_str())
                    .is_none_or(|widest| (*widest as f64) < 0.8 * term.memories.len() as f64)
        });
        ranked
    }

    pub fn keyphrases(&self) -> Vec<Keyphrase> {
        self.ranked
            .iter()
            .take(KEYPHRASES)
            .map(|&(index, score)| {
                let term = &self.terms[index];
                Keyphrase {
                    phrase: term.display.to_owned(),
                    memories: term.memories.len() as u64,
                    score,
                    trend: self.trend(&term.memories),
                    confidence: (term.memories.len() as f64 / 10.0).min(1.0),
                    evidence: self.evidence(&term.memories),
                }
            })
            .collect()
    }

    /// The top keyphrases joined wherever their memories overlap enough (single link), groups of two or more.
    pub fn topics(&self) -> Vec<Topic> {
        let candidates: Vec<usize> = self.ranked.iter().take(TOPIC_CANDIDATES).map(|(index, _)| *index).collect();
        let mut group: Vec<usize> = (0..candidates.len()).collect();
        fn root(group: &mut [usize], mut at: usize) -> usize {
            while group[at] != at {
                group[at] = group[group[at]];
                at = group[at];
            }
            at
        }
        for a in 0..candidates.len() {
            for b in a + 1..candidates.len() {
                let (first, second) = (&self.terms[candidates[a]].memories, &self.terms[candidates[b]].memories);
                let shared = first.intersection(second).count() as f64;
                let jaccard = shared / (first.len() as f64 + second.len() as f64 - shared).max(1.0);
                if jaccard >= TOPIC_OVERLAP {
                    let (ra, rb) = (root(&mut group, a), root(&mut group, b));
                    group[ra.max(rb)] = ra.min(rb);
                }
            }
        }
        let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for position in 0..candidates.len() {
            let leader = root(&mut group, position);
            members.entry(leader).or_default().push(position);
        }
        let mut topics: Vec<Topic> = members
            .into_values()
            .filter(|positions| positions.len() >= 2)
            .map(|positions| self.topic(&positions.iter().map(|position| candidates[*position]).collect::<Vec<_>>()))
            .collect();
        topics.sort_by(|a, b| b.memories.cmp(&a.memories).then_with(|| a.label.cmp(&b.label)));
        topics.truncate(TOPICS);
        topics
    }

    fn topic(&self, terms: &[usize]) -> Topic {
        let memories: BTreeSet<usize> =
            terms.iter().flat_map(|index| self.terms[*index].memories.iter().copied()).collect();
        let keyphrases: Vec<String> = terms.iter().map(|index| self.terms[*index].display.to_owned()).collect();
        let mut by_month: BTreeMap<i32, u64> = BTreeMap::new();
        for date in memories.iter().filter_map(|index| self.items[*index].date) {
            *by_month.entry(month(date)).or_default() += 1;
        }
        // Cohesion: how much of the topic's memories its average keyphrase covers.
        let coverage = terms.iter().map(|index| self.terms[*index].memories.len() as f64).sum::<f64>()
            / (terms.len() as f64 * memories.len() as f64);
        Topic {
            label: keyphrases.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
            keyphrases,
            memories: memories.len() as u64,
            by_month: by_month.into_iter().map(|(month, count)| (month_name(month), count)).collect(),
            trend: self.trend(&memories),
            confidence: ((memories.len() as f64 / 10.0).min(1.0) * (0.5 + 0.5 * coverage)).clamp(0.0, 1.0),
            evidence: self.evidence(&memories),
        }
    }

    /// Activities (terms of four or more memories) whose memories gather in one slot: a weekday and a part of
    /// the day, a weekday, or a part of every day; the most specific slot that holds is reported.
    ///
    /// The words of one recurring memory all recur with it: habits of one slot whose memories mostly overlap
    /// are one habit, named by a word for an activity where there is one, else by the most used word.
    pub fn habits(&self) -> Vec<Habit> {
        let mut found: Vec<(Habit, BTreeSet<usize>, usize)> = self
            .terms
            .iter()
            .filter(|term| term.memories.len() >= HABIT_MIN_PERIODS && term.words() == 1)
            .filter_map(|term| self.habit(term).map(|(habit, memories)| (habit, memories, term.memories.len())))
            .collect();
        let is_activity = |habit: &Habit| ACTIVITIES.contains(&lower(&habit.activity).as_ref());
        found.sort_by(|a, b| {
            is_activity(&b.0).cmp(&is_activity(&a.0)).then(b.2.cmp(&a.2)).then_with(|| a.0.activity.cmp(&b.0.activity))
        });
        let mut habits: Vec<(Habit, BTreeSet<usize>)> = Vec::new();
        for (habit, memories, _) in found {
            let same = habits.iter_mut().find(|(kept, kept_memories)| {
                let shared = kept_memories.intersection(&memories).count() as f64;
                kept.when == habit.when
                    && shared / (kept_memories.len() + memories.len()) as f64 * 2.0 >= HABIT_SAME_OVERLAP
            });
            match same {
                Some((kept, _)) => kept.related.push(habit.activity),
                None => habits.push((habit, memories)),
            }
        }
        let mut habits: Vec<Habit> = habits.into_iter().map(|(habit, _)| habit).collect();
        // Habits named by an activity first: they read as habits; the others are recurring subjects.
        habits.sort_by(|a, b| {
            is_activity(b)
                .cmp(&is_activity(a))
                .then((b.support * b.confidence).total_cmp(&(a.support * a.confidence)))
                .then_with(|| a.activity.cmp(&b.activity))
        });
        habits.truncate(HABITS);
        habits
    }

    fn habit(&self, term: &Term) -> Option<(Habit, BTreeSet<usize>)> {
        let dated: Vec<(usize, Date, Option<Part>)> = term
            .memories
            .iter()
            .filter_map(|index| {
                let item = &self.items[*index];
                Some((*index, item.date?, item.hour.map(Part::of)))
            })
            .collect();
        if dated.len() < HABIT_MIN_PERIODS {
            return None;
        }
        let slots = [
            Slot { weekday: true, part: true },
            Slot { weekday: true, part: false },
            Slot { weekday: false, part: true },
        ];
        for slot in slots {
            let mut by_value: BTreeMap<SlotValue, Vec<(usize, Date)>> = BTreeMap::new();
            for (index, date, part) in &dated {
                if slot.part && part.is_none() {
                    continue;
                }
                let key = (
                    slot.weekday.then(|| date.weekday().to_monday_zero_offset()),
                    if slot.part { *part } else { None },
                );
                by_value.entry(key).or_default().push((*index, *date));
            }
            let best = by_value.into_iter().max_by_key(|(_, hits)| hits.len());
            let Some(((weekday, part), hits)) = best else { continue };
            let weekday = weekday.and_then(|offset| Weekday::from_monday_zero_offset(offset).ok());
            let first = hits.iter().map(|(_, date)| *date).min()?;
            let last = hits.iter().map(|(_, date)| *date).max()?;
            let periods: BTreeSet<i64> = hits.iter().map(|(_, date)| period(*date, slot.weekday)).collect();
            let span = period(last, slot.weekday) - period(first, slot.weekday) + 1;
            let support = periods.len() as f64 / span as f64;
            let confidence = hits.len() as f64 / dated.len() as f64;
            if periods.len() < HABIT_MIN_PERIODS || support < HABIT_MIN_SUPPORT || confidence < HABIT_MIN_CONFIDENCE {
                continue;
            }
            let memories: BTreeSet<usize> = hits.iter().map(|(index, _)| *index).collect();
            let habit = Habit {
                activity: term.display.to_owned(),
                related: Vec::new(),
                when: when(weekday, part),
                weekday: weekday.map(|day| weekday_name(day).to_owned()),
                part_of_day: part.map(|part| part.name().to_owned()),
                occurrences: hits.len() as u64,
                support,
                confidence,
                first_seen: first.to_string(),
                last_seen: last.to_string(),
                evidence: self.evidence(&memories),
            };
            return Some((habit, memories));
        }
        None
    }
}

/// A weekday (Monday zero) and a part of the day, either left open.
type SlotValue = (Option<i8>, Option<Part>);

#[derive(Clone, Copy)]
struct Slot {
    weekday: bool,
    part: bool,
}

/// Weeks (Monday first) for weekly habits, days for daily ones, counted from a fixed origin.
fn period(date: Date, weekly: bool) -> i64 {
    let days = (date - jiff::civil::date(1970, 1, 5)).get_days() as i64;
    if weekly { days.div_euclid(7) } else { days }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Morning,
    Afternoon,
    Evening,
    Night,
}

impl Part {
    fn of(hour: i8) -> Part {
        match hour {
            5..=11 => Part::Morning,
            12..=16 => Part::Afternoon,
            17..=21 => Part::Evening,
            _ => Part::Night,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Part::Morning => "morning",
            Part::Afternoon => "afternoon",
            Part::Evening => "evening",
            Part::Night => "night",
        }
    }
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

fn when(weekday: Option<Weekday>, part: Option<Part>) -> String {
    match (weekday, part) {
        (Some(day), Some(part)) => format!("{} {}s", weekday_name(day), part.name()),
        (Some(day), None) => format!("{}s", weekday_name(day)),
        (None, Some(part)) => format!("{}s", part.name()),
        (None, None) => "any time".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patterns::terms::terms;

    /// Sixteen weeks of a diary written for the test: a Saturday morning run, Wednesday evening piano,
    /// coffee every morning, thesis work on weekdays that grows in spring, a garden that fades after January.
    fn diary() -> Vec<(String, Date, i8, Vec<String>)> {
        let mut entries = Vec::new();
        let start = jiff::civil::date(2024, 1, 1);
        for offset in 0..112 {
            let day = start.checked_add(jiff::Span::new().days(offset)).unwrap();
            let mut add = |hour: i8, text: &str| {
                entries.push((format!("m{}", entries.len()), day, hour, terms(text, None, &[])));
            };
            add(7, "Coffee and the crossword before anyone else woke up.");
            match day.weekday() {
                Weekday::Saturday => add(8, "A long run along the river, ten kilometres at an easy pace."),
                Weekday::Wednesday => add(19, "Piano practice: the Chopin nocturne, left hand smoother now."),
                _ => {}
            }
            let weekday = day.weekday().to_monday_zero_offset() < 5;
            if weekday && (offset >= 56 || offset % 3 == 0) {
                add(14, "Thesis chapter on glacier melt; supervisor wants more glacier data.");
            }
            if offset < 31 && offset % 4 == 0 {
                add(16, "Planted tomatoes in the garden beds and fixed the garden hose.");
            }
        }
        entries
    }

    #[test]
    fn habits_topics_and_trends_of_a_known_diary() {
        let diary = diary();
        let items: Vec<Item> = diary
            .iter()
            .map(|(id, date, hour, terms)| Item { id, date: Some(*date), hour: Some(*hour), terms })
            .collect();
        let subjects = Subjects::new(&items, &[]);

        let habits = subjects.habits();
        let habit = |activity: &str| habits.iter().find(|habit| habit.activity == activity);
        let run = habit("run").unwrap_or_else(|| panic!("the run is a habit: {habits:#?}"));
        assert_eq!(run.when, "Saturday mornings");
        assert_eq!((run.occurrences, run.confidence), (16, 1.0));
        assert!(run.support > 0.9, "{run:?}");
        assert_eq!(habit("piano").expect("piano is a habit").when, "Wednesday evenings");
        assert_eq!(habit("coffee").expect("coffee is a habit").when, "mornings");
        assert!(habit("glacier").is_none_or(|habit| habit.weekday.is_none()), "thesis work has no one weekday");

        let topics = subjects.topics();
        let thesis = topics
            .iter()
            .find(|topic| topic.keyphrases.iter().any(|phrase| phrase.contains("glacier")))
            .unwrap_or_else(|| panic!("{topics:#?}"));
        assert!(thesis.keyphrases.iter().any(|phrase| phrase.contains("thesis")), "{thesis:?}");
        assert_eq!(thesis.trend, Trend::Rising);
        let garden = topics
            .iter()
            .find(|topic| topic.keyphrases.iter().any(|phrase| phrase.contains("garden")))
            .unwrap_or_else(|| panic!("{topics:#?}"));
        assert_eq!(garden.trend, Trend::Fading);
        assert!(!topics.iter().any(|topic| topic.keyphrases.iter().any(|phrase| phrase.contains("glacier"))
            && topic.keyphrases.iter().any(|phrase| phrase.contains("garden"))));

        let keyphrases = subjects.keyphrases();
        assert!(keyphrases.iter().all(|keyphrase| {
            keyphrase.memories >= 2 && !keyphrase.evidence.is_empty() && keyphrase.confidence > 0.0
        }));
        assert!(
            !keyphrases.iter().any(|keyphrase| keyphrase.phrase == "coffee"),
            "in half the memories, coffee says little"
        );
    }

    #[test]
    fn terms_kept_before_a_word_became_a_stop_word_are_no_keyphrase() {
        let kept: Vec<(String, Vec<String>)> = (0..6)
            .map(|n| {
                let terms = if n % 2 == 0 { ["best", "best pottery", "pottery"] } else { ["best", "glaze", "kiln"] };
                (format!("m{n}"), terms.map(str::to_owned).to_vec())
            })
            .collect();
        let items: Vec<Item> = kept
            .iter()
            .map(|(id, terms)| Item { id, date: Some(jiff::civil::date(2024, 3, 1)), hour: None, terms })
            .collect();
        let phrases: Vec<String> =
            Subjects::new(&items, &[]).keyphrases().into_iter().map(|keyphrase| keyphrase.phrase).collect();
        assert!(phrases.iter().all(|phrase| !phrase.contains("best")), "{phrases:?}");
        assert!(phrases.contains(&"pottery".to_owned()), "{phrases:?}");
    }

    #[test]
    fn a_term_shows_the_capitals_enough_of_its_memories_write_inside_a_sentence() {
        let forms = |written: &[(&'static str, u64)]| written.iter().copied().collect::<BTreeMap<&str, u64>>();
        assert_eq!(display_form(&forms(&[("lena", 3), ("Lena", 1)])), "Lena", "the others opened sentences");
        assert_eq!(display_form(&forms(&[("run", 10), ("Run", 1)])), "run", "a slip is no name");
        assert_eq!(display_form(&forms(&[("runs", 2), ("run", 5), ("Running", 4)])), "run");
        assert_eq!(display_form(&forms(&[("Lisbon", 2)])), "Lisbon");
    }
}

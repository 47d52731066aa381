//! An owner's patterns: each stored memory is reduced to an observation (when, how it felt, what it is
//! about), kept per owner and day; the report (rhythms, streaks and gaps, daily mood with its baseline and
//! shifts, keyphrases, topics, habits) is computed from the observations when asked for.

pub mod terms;
pub mod topics;

use std::collections::BTreeMap;

use jiff::civil::{Date, Weekday};
use serde::{Deserialize, Serialize};

use mneme_protocol::harvester::ProcessedMemory;
use mneme_protocol::patterns::{DayRange, MoodDay, MoodShift, Patterns, Rhythms};
use mneme_runtime::ledger::Entry;

use crate::sentiment::polarity;
use topics::{Item, Subjects};

/// The bucket of observations.
pub const BUCKET: &str = "mneme_patterns";

/// What the patterns keep of one memory: its time, its sentiment, and its terms (never its text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// RFC 3339, UTC; none for undated memories.
    pub at: Option<String>,
    pub compound: f64,
    #[serde(default)]
    pub terms: Vec<String>,
}

impl Entry for Observation {
    fn occurred_at(&self) -> Option<&str> {
        self.at.as_deref()
    }
}

pub fn observe(memory: &ProcessedMemory) -> Observation {
    Observation {
        at: memory.occurred_at.clone(),
        compound: polarity(&memory.text).compound,
        terms: terms::terms(&memory.text, memory.title.as_deref(), &memory.tags),
    }
}

/// How the mood baseline is drawn: the mean of the days with memories among the preceding `BASELINE_DAYS`,
/// once there are `MIN_BASELINE_DAYS` of them; a day `SHIFT_Z` standard deviations away is a shift.
const BASELINE_DAYS: i32 = 28;
const MIN_BASELINE_DAYS: usize = 5;
const SHIFT_Z: f64 = 2.0;
/// Day-to-day mood varies less than sentiment of single texts; below this the spread is taken as this.
const MIN_SPREAD: f64 = 0.1;
const MAX_GAPS: usize = 5;

struct Dated {
    id: String,
    date: Date,
    /// None for memories known only by their date: their timestamp is midnight exactly.
    hour: Option<i8>,
    weekday: Weekday,
    compound: f64,
}

/// The report for `owner` from all their observations.
pub fn report(owner: &str, observations: &BTreeMap<String, Observation>) -> Patterns {
    let mut dated = Vec::new();
    let mut undated = 0u64;
    let mut items = Vec::with_capacity(observations.len());
    for (id, observation) in observations {
        match observation.at.as_deref().and_then(|at| at.parse::<jiff::Timestamp>().ok()) {
            Some(at) => {
                let civil = at.to_zoned_datetime(jiff::tz::TimeZone::UTC).datetime();
                let hour = (civil.time() != jiff::civil::Time::midnight()).then(|| civil.hour());
                dated.push(Dated {
                    id: id.clone(),
                    date: civil.date(),
                    hour,
                    weekday: civil.weekday(),
                    compound: observation.compound,
                });
                items.push(Item { id, date: Some(civil.date()), hour, terms: &observation.terms });
            }
            None => {
                undated += 1;
                items.push(Item { id, date: None, hour: None, terms: &observation.terms });
            }
        }
    }
    let owner_name = owner.to_lowercase();
    let subjects = Subjects::new(&items, &[owner_name.as_str()]);
    let mut by_day: BTreeMap<Date, Vec<&Dated>> = BTreeMap::new();
    for observation in &dated {
        by_day.entry(observation.date).or_default().push(observation);
    }
    let days: Vec<Date> = by_day.keys().copied().collect();
    let (longest_streak, current_streak) = streaks(&days);
    let (mood, mood_shifts) = mood(&by_day);
    Patterns {
        owner: owner.to_owned(),
        memories: observations.len() as u64,
        undated,
        rhythms: rhythms(&dated),
        longest_streak,
        current_streak,
        gaps: gaps(&days),
        mood,
        mood_shifts,
        keyphrases: subjects.keyphrases(),
        topics: subjects.topics(),
        habits: subjects.habits(),
    }
}

fn rhythms(dated: &[Dated]) -> Rhythms {
    let mut by_hour = vec![0u64; 24];
    let mut by_weekday = vec![0u64; 7];
    let mut by_month: BTreeMap<String, u64> = BTreeMap::new();
    for observation in dated {
        if let Some(hour) = observation.hour {
            by_hour[hour as usize] += 1;
        }
        by_weekday[observation.weekday.to_monday_zero_offset() as usize] += 1;
        *by_month.entry(observation.date.strftime("%Y-%m").to_string()).or_default() += 1;
    }
    let peak = |counts: &[u64]| {
        let max = counts.iter().copied().max().filter(|max| *max > 0)?;
        counts.iter().position(|count| *count == max)
    };
    const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    Rhythms {
        peak_hour: peak(&by_hour).map(|hour| hour as u8),
        peak_weekday: peak(&by_weekday).map(|day| WEEKDAYS[day].to_owned()),
        by_hour,
        by_weekday,
        by_month: by_month.into_iter().collect(),
    }
}

fn range(from: Date, to: Date) -> DayRange {
    let days = (to - from).get_days() + 1;
    DayRange { from: from.to_string(), to: to.to_string(), days: u32::try_from(days).unwrap_or(0) }
}

/// The longest run of consecutive days with memories, and the run that ends on the last such day.
fn streaks(days: &[Date]) -> (Option<DayRange>, Option<DayRange>) {
    let Some(&first) = days.first() else { return (None, None) };
    let (mut start, mut longest) = (first, (first, first));
    for pair in days.windows(2) {
        if pair[0].tomorrow().ok() != Some(pair[1]) {
            start = pair[1];
        }
        if (pair[1] - start).get_days() > (longest.1 - longest.0).get_days() {
            longest = (start, pair[1]);
        }
    }
    let last = *days.last().expect("not empty");
    (Some(range(longest.0, longest.1)), Some(range(start, last)))
}

/// The longest stretches between days with memories, longest first.
fn gaps(days: &[Date]) -> Vec<DayRange> {
    let mut found: Vec<DayRange> = days
        .windows(2)
        .filter_map(|pair| {
            let from = pair[0].tomorrow().ok()?;
            let to = pair[1].yesterday().ok()?;
            (to >= from && (to - from).get_days() >= 1).then(|| range(from, to))
        })
        .collect();
    found.sort_by(|a, b| b.days.cmp(&a.days).then_with(|| a.from.cmp(&b.from)));
    found.truncate(MAX_GAPS);
    found
}

fn mood(by_day: &BTreeMap<Date, Vec<&Dated>>) -> (Vec<MoodDay>, Vec<MoodShift>) {
    let means: Vec<(Date, f64, usize)> = by_day
        .iter()
        .map(|(date, observations)| {
            let mean = observations.iter().map(|o| o.compound).sum::<f64>() / observations.len() as f64;
            (*date, mean, observations.len())
        })
        .collect();
    let mut days = Vec::with_capacity(means.len());
    let mut shifts = Vec::new();
    for (index, (date, mean, count)) in means.iter().enumerate() {
        let window: Vec<f64> = means[..index]
            .iter()
            .filter(|(earlier, _, _)| (*date - *earlier).get_days() <= BASELINE_DAYS)
            .map(|(_, mean, _)| *mean)
            .collect();
        let baseline = (window.len() >= MIN_BASELINE_DAYS).then(|| window.iter().sum::<f64>() / window.len() as f64);
        if let Some(baseline) = baseline {
            let variance = window.iter().map(|value| (value - baseline).powi(2)).sum::<f64>() / window.len() as f64;
            let spread = variance.sqrt().max(MIN_SPREAD);
            let z = (mean - baseline) / spread;
            if z.abs() >= SHIFT_Z {
                // Stronger departures, on days with more memories, over longer baselines, are surer.
                let strength = ((z.abs() - SHIFT_Z) / SHIFT_Z + 0.5).min(1.0);
                let support = (*count as f64 / 3.0).min(1.0) * (window.len() as f64 / 10.0).min(1.0);
                shifts.push(MoodShift {
                    date: date.to_string(),
                    direction: if z < 0.0 { "drop" } else { "rise" }.to_owned(),
                    mean: *mean,
                    baseline,
                    z,
                    confidence: (strength * (0.5 + 0.5 * support)).clamp(0.0, 1.0),
                    evidence: by_day[date].iter().map(|observation| observation.id.clone()).collect(),
                });
            }
        }
        days.push(MoodDay {
            date: date.to_string(),
            mean: *mean,
            memories: *count as u32,
            baseline,
            telling_memory: telling_memory(&by_day[date], *mean),
        });
    }
    (days, shifts)
}

/// The memory of a day furthest from neutral on the side of its mean.
fn telling_memory(observations: &[&Dated], mean: f64) -> Option<String> {
    let side = if mean < 0.0 { -1.0 } else { 1.0 };
    observations
        .iter()
        .max_by(|a, b| (side * a.compound).total_cmp(&(side * b.compound)).then_with(|| b.id.cmp(&a.id)))
        .map(|observation| observation.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observations(entries: &[(&str, &str, f64)]) -> BTreeMap<String, Observation> {
        entries
            .iter()
            .map(|(id, at, compound)| {
                let at = (!at.is_empty()).then(|| (*at).to_owned());
                ((*id).to_owned(), Observation { at, compound: *compound, terms: Vec::new() })
            })
            .collect()
    }

    #[test]
    fn memories_known_by_date_alone_have_no_hour() {
        let report =
            report("ann", &observations(&[("a", "2024-05-06T00:00:00Z", 0.0), ("b", "2024-05-07T00:00:00Z", 0.0)]));
        assert_eq!(report.rhythms.by_hour.iter().sum::<u64>(), 0);
        assert_eq!(report.rhythms.peak_hour, None);
        assert_eq!(report.rhythms.by_weekday.iter().sum::<u64>(), 2);
    }

    #[test]
    fn rhythms_streaks_and_gaps() {
        let report = report(
            "ann",
            &observations(&[
                ("a", "2024-05-06T07:10:00Z", 0.2),
                ("b", "2024-05-07T07:40:00Z", 0.1),
                ("c", "2024-05-08T19:00:00Z", 0.3),
                ("d", "2024-05-20T07:05:00Z", 0.0),
                ("e", "2024-05-21T08:00:00Z", 0.4),
                ("f", "", 0.9),
            ]),
        );
        assert_eq!((report.memories, report.undated), (6, 1));
        assert_eq!(report.rhythms.peak_hour, Some(7));
        assert_eq!(report.rhythms.by_weekday[0], 2, "two Mondays");
        assert_eq!(report.rhythms.by_month, [("2024-05".to_owned(), 5)]);
        let longest = report.longest_streak.unwrap();
        assert_eq!((longest.from.as_str(), longest.days), ("2024-05-06", 3));
        let current = report.current_streak.unwrap();
        assert_eq!((current.from.as_str(), current.to.as_str(), current.days), ("2024-05-20", "2024-05-21", 2));
        assert_eq!(report.gaps[0].from, "2024-05-09");
        assert_eq!(report.gaps[0].days, 11);
    }

    #[test]
    fn the_owners_own_name_is_no_keyphrase() {
        let texts =
            ["Dear Sam, the pottery class moves to Thursday.", "Sam, bring clay to pottery.", "Pottery with Lena."];
        let observations: BTreeMap<String, Observation> = texts
            .iter()
            .enumerate()
            .map(|(index, text)| {
                let at = Some(format!("2024-05-{:02}T18:00:00Z", index + 1));
                (format!("m{index}"), Observation { at, compound: 0.0, terms: terms::terms(text, None, &[]) })
            })
            .collect();
        let phrases: Vec<String> =
            report("Sam", &observations).keyphrases.into_iter().map(|keyphrase| keyphrase.phrase).collect();
        assert!(phrases.iter().any(|phrase| phrase.contains("pottery")), "{phrases:?}");
        assert!(!phrases.iter().any(|phrase| phrase.split(' ').any(|word| word == "sam")), "{phrases:?}");
    }

    #[test]
    fn a_bad_day_after_steady_ones_is_a_drop_with_its_evidence() {
        let mut entries = Vec::new();
        let steady: Vec<String> = (1..=10).map(|day| format!("2024-03-{day:02}T12:00:00Z")).collect();
        for (index, at) in steady.iter().enumerate() {
            entries.push((format!("s{index}"), at.clone(), 0.4 + if index % 2 == 0 { 0.05 } else { -0.05 }));
        }
        entries.push(("bad1".into(), "2024-03-11T09:00:00Z".into(), -0.7));
        entries.push(("bad2".into(), "2024-03-11T21:00:00Z".into(), -0.8));
        let borrowed: Vec<(&str, &str, f64)> =
            entries.iter().map(|(id, at, c)| (id.as_str(), at.as_str(), *c)).collect();
        let report = report("ann", &observations(&borrowed));
        assert_eq!(report.mood.len(), 11);
        assert!(report.mood[4].baseline.is_none() && report.mood[5].baseline.is_some());
        assert_eq!(report.mood_shifts.len(), 1, "{:?}", report.mood_shifts);
        let shift = &report.mood_shifts[0];
        assert_eq!((shift.date.as_str(), shift.direction.as_str()), ("2024-03-11", "drop"));
        assert_eq!(shift.evidence, ["bad1", "bad2"]);
        assert!(shift.confidence > 0.5 && shift.z < -2.0, "{shift:?}");
        assert_eq!(report.mood[10].telling_memory.as_deref(), Some("bad2"), "a low day's lowest memory");
        assert_eq!(report.mood[0].telling_memory.as_deref(), Some("s0"));
    }
}

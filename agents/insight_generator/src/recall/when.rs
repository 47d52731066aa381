//! Time expressions in a query ("yesterday", "last summer", "in May 2023", "two weeks ago", "lately", "the week
//! after the wedding") read as spans of days, counted from a reference day. An expression anchored on an event names
//! the event; the search finds when it happened in the owner's memories. A question for the last or the first time
//! of something ("when did I last see Omar?") asks for an order instead.
//!
//! Seasons are the meteorological ones of the northern hemisphere (summer is June to August); weeks start on
//! Monday; months or a day named without a year ("in September", "on 3 May", "between March and May", "since
//! July") are their latest occurrence begun by the reference day that holds any of the owner's memories (recall
//! looks for it), "last September" the one before this month, "this September" this year's.

use std::ops::Range;
use std::sync::LazyLock;

use jiff::ToSpan;
use jiff::civil::{Date, Weekday};
use regex::{Captures, Regex};

/// What a query says about time.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeExpression {
    /// The words it was read from.
    pub expression: String,
    /// Where they stand in the query, in bytes.
    pub span: Range<usize>,
    pub meaning: Meaning,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Meaning {
    /// The days `from` (inclusive) to `until` (exclusive).
    Days { from: Date, until: Date },
    /// Months, or a day of one, named without their year ("in September", "on 3 May", "between March and
    /// May", "since July"): starting in `year` is the latest occurrence up to the reference day. Someone whose
    /// memories end years ago asks of the last one they wrote of, which recall looks for, a year at a time back
    /// from `year`.
    Yearly { span: Recurring, year: i16 },
    /// The recent past, `from` up to the reference day (`until`, exclusive): "lately". Vaguer than a named
    /// period, so what else the question asks for is not put behind the rest of those days.
    Recent { from: Date, until: Date },
    /// `days` days after (or before) an event the query names in `event`.
    Anchored { event: String, after: bool, days: i64 },
}

const MONTH: &str = r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?";
const SEASON: &str = r"spring|summer|autumn|fall|winter";
const WEEKDAY: &str = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday";
const COUNT: &str = r"a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a\s+few|a\s+couple\s+of|a\s+couple|couple\s+of|few|several|\d{1,3}";
const UNIT: &str = r"day|week|weekend|month|year";

/// Words that say when and nothing else: the weekdays, the units above, the parts of a day, and the adverbs
/// of time and of how often.
pub fn words_of_time() -> impl Iterator<Item = &'static str> {
    const ADVERBS: [&str; 19] = [
        "already",
        "still",
        "yet",
        "soon",
        "again",
        "later",
        "earlier",
        "recently",
        "lately",
        "now",
        "ago",
        "once",
        "twice",
        "always",
        "often",
        "sometimes",
        "usually",
        "rarely",
        "never",
    ];
    const OTHERS: [&str; 11] = [
        "today",
        "tonight",
        "tomorrow",
        "yesterday",
        "morning",
        "afternoon",
        "evening",
        "night",
        "hour",
        "minute",
        "time",
    ];
    WEEKDAY.split('|').chain(UNIT.split('|')).chain(OTHERS).chain(ADVERBS)
}

/// The patterns, most specific first; each is tried where no earlier one matched.
static PATTERNS: LazyLock<Vec<(Kind, Regex)>> = LazyLock::new(|| {
    let pattern = |text: String| Regex::new(&format!(r"(?i)\b(?:{text})(?:\b|$)")).expect("a valid pattern");
    vec![
        (
            Kind::Anchored,
            pattern(format!(
                r"(?:the\s+|a\s+)?(?P<unit>{UNIT})\s+(?P<relation>after|before)\s+(?:the\s+|my\s+|our\s+|his\s+|her\s+|their\s+)?(?P<event>[a-z][a-z'\- ]*?)(?:\s+(?:and|when|where|that|did|was|with)\b.*|\s*[?.!,;:]|$)"
            )),
        ),
        (Kind::IsoDay, pattern(r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})".to_owned())),
        (
            Kind::DayMonth,
            pattern(format!(
                r"(?:on\s+)?(?:the\s+)?(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+(?P<month>{MONTH})(?:,?\s+(?P<year>\d{{4}}))?"
            )),
        ),
        (
            Kind::MonthDay,
            pattern(format!(
                r"(?:on\s+)?(?P<month>{MONTH})\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{{4}}))?"
            )),
        ),
        (
            Kind::MonthRange,
            pattern(format!(
                r"(?:between|from)\s+(?P<start>{MONTH})\s+(?:and|to|till|until|through)\s+(?P<end>{MONTH})(?:,?\s+(?P<year>\d{{4}}))?"
            )),
        ),
        (
            Kind::Season,
            pattern(format!(
                r"(?:(?P<which>last|this|past|previous)\s+(?P<season>{SEASON}))|(?:(?:in\s+|during\s+)?(?:the\s+)?(?P<season2>{SEASON})\s+(?:of\s+)?(?P<year>\d{{4}}))"
            )),
        ),
        (
            Kind::Month,
            pattern(format!(
                r"(?:(?P<prefix>in|during|last|this|since|early|late|mid|by|of)\s+(?:early\s+|late\s+|mid\s+)?(?P<month>{MONTH})(?:\s+(?P<year>\d{{4}}))?)|(?:(?P<month2>{MONTH})\s+(?P<year2>\d{{4}}))"
            )),
        ),
        (Kind::Year, pattern(r"(?:in|during|of|since|back\s+in)\s+(?P<year>(?:19|20)\d{2})".to_owned())),
        (Kind::Ago, pattern(format!(r"(?P<count>{COUNT})\s+(?P<unit>{UNIT})s?\s+ago"))),
        (Kind::Relative, pattern(format!(r"(?P<which>last|this|past|previous)\s+(?P<unit>{UNIT})"))),
        (Kind::Weekday, pattern(format!(r"(?:last|this|on)\s+(?P<weekday>{WEEKDAY})"))),
        (Kind::Named, pattern(r"yesterday|today|tonight|last\s+night|this\s+morning|this\s+evening".to_owned())),
        (
            Kind::Recent,
            pattern(
                r"lately|recently|of\s+late|these\s+days|nowadays|in\s+recent\s+(?P<recent>days|weeks|months)"
                    .to_owned(),
            ),
        ),
    ]
});

#[derive(Debug, Clone, Copy)]
enum Kind {
    Anchored,
    IsoDay,
    DayMonth,
    MonthDay,
    MonthRange,
    Season,
    Month,
    Year,
    Ago,
    Relative,
    Weekday,
    Named,
    Recent,
}

/// Which end of its matches a question asks for by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extreme {
    /// "When did I last see Omar?", "the last time we spoke", "most recently".
    Latest,
    /// "When did we first meet?", "the first time I went to pottery".
    Earliest,
}

/// Where a question asks for the first or the last time something happened.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderExpression {
    /// The words it was read from.
    pub expression: String,
    /// The words that say it and nothing else, in bytes: not searched for. ("when did Omar last call" keeps
    /// "Omar" and "call".)
    pub span: Range<usize>,
    pub extreme: Extreme,
}

static ORDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:(?P<time>(?:for\s+)?the\s+(?P<which>last|first|latest|earliest|most\s+recent)\s+time)|when\s+(?:did|was|were|have|has|had|do|does)\s+(?:[\w']+\s+){1,2}?(?P<adverb>(?:last|first)(?:\s+time)?|most\s+recently)|(?P<alone>most\s+recently))\b",
    )
    .expect("a valid pattern")
});

/// Verbs of meeting or hearing from someone: in "when did I last see Omar?" they say only that the question is
/// about Omar, and are no word to search for.
static CONTACT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:see|saw|seen|meet|met|talk(?:ed)?|speak|spoke(?:n)?|hear(?:d)?|call(?:ed)?|visit(?:ed)?|text(?:ed)?|messag(?:e|ed)|e-?mail(?:ed)?)\b",
    )
    .expect("a valid pattern")
});

/// Where `query` has a verb of meeting or hearing from someone.
pub fn contact_verbs(query: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    CONTACT.find_iter(query).map(|found| found.range())
}

/// The first place `query` asks for the first or the last time of something.
pub fn find_order(query: &str) -> Option<OrderExpression> {
    let captures = ORDER.captures(query)?;
    let (said, which) = match (captures.name("time"), captures.name("adverb"), captures.name("alone")) {
        (Some(time), _, _) => (time, captures.name("which")?),
        (None, Some(adverb), _) => (adverb, adverb),
        (None, None, Some(alone)) => (alone, alone),
        (None, None, None) => return None,
    };
    let which = which.as_str().to_lowercase();
    let extreme = if which.starts_with("first") || which == "earliest" { Extreme::Earliest } else { Extreme::Latest };
    Some(OrderExpression { expression: said.as_str().to_owned(), span: said.range(), extreme })
}

static TALLY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bhow\s+(?:often|frequently|many\s+times)\b").expect("a valid pattern"));

/// Where `query` asks how often something happened ("how often did I run?", "how many times did we meet?"):
/// the words that ask it, and where they stand, in bytes.
pub fn find_tally(query: &str) -> Option<(String, Range<usize>)> {
    TALLY.find(query).map(|found| (found.as_str().to_owned(), found.range()))
}

/// A day `query` writes as `YYYY-MM-DD` that the calendar has not ("2024-02-30"), with why: searched for as
/// words, it would find whatever holds its numbers.
pub fn impossible_day(query: &str) -> Option<String> {
    let (_, iso_day) = PATTERNS.iter().find(|(kind, _)| matches!(kind, Kind::IsoDay))?;
    iso_day.captures_iter(query).find_map(|captures| {
        let part = |name: &str| captures.name(name).and_then(|found| found.as_str().parse::<i16>().ok());
        let (year, month, day) = (part("year")?, i8::try_from(part("month")?).ok()?, i8::try_from(part("day")?).ok()?);
        let error = Date::new(year, month, day).err()?;
        Some(format!("`{}` ({error})", &captures[0]))
    })
}

/// The first time expression of `query` (by the most specific pattern that matches), read against `today`.
pub fn find(query: &str, today: Date) -> Option<TimeExpression> {
    PATTERNS.iter().find_map(|(kind, pattern)| {
        pattern.captures_iter(query).find_map(|captures| {
            let whole = captures.get(0).expect("the whole match");
            let meaning = read(*kind, &captures, today)?;
            let expression = whole.as_str().trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace());
            Some(TimeExpression {
                expression: expression.to_owned(),
                span: whole.start()..whole.start() + expression.len(),
                meaning,
            })
        })
    })
}

fn read(kind: Kind, captures: &Captures<'_>, today: Date) -> Option<Meaning> {
    let text = |name: &str| captures.name(name).map(|found| found.as_str().to_lowercase());
    let year = |name: &str| text(name).and_then(|year| year.parse::<i16>().ok());
    let days = |from: Date, until: Date| Some(Meaning::Days { from, until });
    match kind {
        Kind::Anchored => {
            let event = text("event")?.trim().to_owned();
            if event.is_empty() || crate::recall::text::terms(&event).is_empty() {
                return None;
            }
            let length = unit_days(&text("unit")?);
            Some(Meaning::Anchored { event, after: text("relation")? == "after", days: length })
        }
        Kind::IsoDay => {
            let day = Date::new(year("year")?, text("month")?.parse().ok()?, text("day")?.parse().ok()?).ok()?;
            days(day, day.tomorrow().ok()?)
        }
        Kind::DayMonth | Kind::MonthDay => {
            let month = month_number(&text("month")?)?;
            let day_of_month: i8 = text("day")?.parse().ok()?;
            match year("year") {
                Some(year) => {
                    let day = Date::new(year, month, day_of_month).ok()?;
                    days(day, day.tomorrow().ok()?)
                }
                None => {
                    let span = Recurring { day: Some(day_of_month), ..Recurring::month(month) };
                    Some(Meaning::Yearly { span, year: span.latest_year(today)? })
                }
            }
        }
        Kind::MonthRange => {
            let (first_month, last_month) = (month_number(&text("start")?)?, month_number(&text("end")?)?);
            let span = Recurring { first_month, day: None, last_month, through: None };
            match year("year") {
                // The year is the last month's: "between November and February 2024" starts in 2023.
                Some(year) => {
                    let (from, until) = span.in_year(if last_month < first_month { year - 1 } else { year })?;
                    days(from, until)
                }
                None => Some(Meaning::Yearly { span, year: span.latest_year(today)? }),
            }
        }
        Kind::Season => {
            let (season, given_year) = match text("season") {
                Some(season) => (season, None),
                None => (text("season2")?, year("year")),
            };
            let span = |year: i16| season_span(&season, year);
            let (from, until) = match given_year {
                Some(year) => span(year)?,
                None => {
                    // "last summer" is the latest that has ended; "this summer" the one of this year.
                    let this = span(today.year())?;
                    let previous = span(today.year() - 1)?;
                    match text("which").as_deref() {
                        Some("this") => this,
                        _ if this.1 <= today => this,
                        _ => previous,
                    }
                }
            };
            days(from, until)
        }
        Kind::Month => {
            let month = month_number(&text("month").or_else(|| text("month2"))?)?;
            let in_year = |year: i16| Date::new(year, month, 1).ok();
            let first = match (year("year").or_else(|| year("year2")), text("prefix").as_deref()) {
                (Some(year), Some("since")) => return days(in_year(year)?, today.tomorrow().ok()?),
                (Some(year), _) => in_year(year)?,
                (None, Some("this")) => in_year(today.year())?,
                // "last September", asked in September, is a year ago.
                (None, Some("last")) => {
                    let end_of_last_month = today.first_of_month().yesterday().ok()?;
                    in_year(Recurring::month(month).latest_year(end_of_last_month)?)?
                }
                // "since July": from the latest July up to the reference day.
                (None, Some("since")) => {
                    let span = Recurring { through: Some(today), ..Recurring::month(month) };
                    return Some(Meaning::Yearly { span, year: span.latest_year(today)? });
                }
                (None, _) => {
                    let span = Recurring::month(month);
                    return Some(Meaning::Yearly { span, year: span.latest_year(today)? });
                }
            };
            days(first, first.checked_add(1.month()).ok()?)
        }
        Kind::Year => {
            let year = year("year")?;
            days(Date::new(year, 1, 1).ok()?, Date::new(year + 1, 1, 1).ok()?)
        }
        Kind::Ago => {
            let (count, vague) = count(&text("count")?)?;
            let unit = text("unit")?;
            let (from, until) = unit_around(&unit, today, count)?;
            if vague {
                // "a few weeks ago": a unit either side.
                let (earlier, _) = unit_around(&unit, today, count + 1)?;
                let (_, later) = unit_around(&unit, today, count.saturating_sub(1).max(1))?;
                return days(earlier, later);
            }
            days(from, until)
        }
        Kind::Relative => {
            let unit = text("unit")?;
            match text("which")?.as_str() {
                "this" => {
                    let (from, _) = unit_around(&unit, today, 0)?;
                    days(from, today.tomorrow().ok()?)
                }
                "past" => {
                    let length = unit_days(&unit);
                    days(today.checked_sub(length.days()).ok()?, today.tomorrow().ok()?)
                }
                _ => {
                    let (from, until) = unit_around(&unit, today, 1)?;
                    days(from, until)
                }
            }
        }
        Kind::Weekday => {
            let weekday = weekday(&text("weekday")?)?;
            let mut day = today.yesterday().ok()?;
            while day.weekday() != weekday {
                day = day.yesterday().ok()?;
            }
            days(day, day.tomorrow().ok()?)
        }
        Kind::Named => {
            let phrase = captures.get(0)?.as_str().to_lowercase();
            let day = if phrase == "yesterday" || phrase.starts_with("last") { today.yesterday().ok()? } else { today };
            days(day, day.tomorrow().ok()?)
        }
        Kind::Recent => {
            // "Lately" is the last month; "in recent days" the last week, "in recent months" the last three.
            let back = match text("recent").as_deref() {
                Some("days") => 1.week(),
                Some("months") => 3.months(),
                _ => 1.month(),
            };
            Some(Meaning::Recent { from: today.checked_sub(back).ok()?, until: today.tomorrow().ok()? })
        }
    }
}

/// A span of the calendar that comes back every year: a day of a month, or months from `first_month` to
/// `last_month` (into the next year when it is the smaller), or from a month up to a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recurring {
    pub first_month: i8,
    /// Of the first month: the span is that one day.
    pub day: Option<i8>,
    pub last_month: i8,
    /// The span runs from its first month up to this day (included) instead: "since July".
    pub through: Option<Date>,
}

impl Recurring {
    fn month(month: i8) -> Self {
        Recurring { first_month: month, day: None, last_month: month, through: None }
    }

    /// The span starting in `year`: the days from (inclusive) until (exclusive). None for a day the year has
    /// not (29 February), or a span starting after its `through`.
    pub fn in_year(&self, year: i16) -> Option<(Date, Date)> {
        let first = Date::new(year, self.first_month, self.day.unwrap_or(1)).ok()?;
        let until = match (self.day, self.through) {
            (_, Some(through)) if through < first => return None,
            (_, Some(through)) => through.tomorrow().ok()?,
            (Some(_), None) => first.tomorrow().ok()?,
            (None, None) => {
                let last_year = if self.last_month < self.first_month { year.checked_add(1)? } else { year };
                Date::new(last_year, self.last_month, 1).ok()?.checked_add(1.month()).ok()?
            }
        };
        Some((first, until))
    }

    /// The latest year up to `today` it starts in (29 February is up to eight years back).
    fn latest_year(&self, today: Date) -> Option<i16> {
        (0..=8)
            .filter_map(|back| today.year().checked_sub(back))
            .find(|year| self.in_year(*year).is_some_and(|(first, _)| first <= today))
    }
}

fn month_number(name: &str) -> Option<i8> {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    MONTHS.iter().position(|month| name.starts_with(month)).map(|index| index as i8 + 1)
}

fn weekday(name: &str) -> Option<Weekday> {
    Some(match name {
        "monday" => Weekday::Monday,
        "tuesday" => Weekday::Tuesday,
        "wednesday" => Weekday::Wednesday,
        "thursday" => Weekday::Thursday,
        "friday" => Weekday::Friday,
        "saturday" => Weekday::Saturday,
        "sunday" => Weekday::Sunday,
        _ => return None,
    })
}

/// The number a count word stands for, and whether it is vague ("a few").
fn count(word: &str) -> Option<(i64, bool)> {
    let word = word.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(match word.as_str() {
        "a" | "an" | "one" => (1, false),
        "two" => (2, false),
        "three" => (3, false),
        "four" => (4, false),
        "five" => (5, false),
        "six" => (6, false),
        "seven" => (7, false),
        "eight" => (8, false),
        "nine" => (9, false),
        "ten" => (10, false),
        "eleven" => (11, false),
        "twelve" => (12, false),
        "a couple of" | "a couple" | "couple of" => (2, true),
        "a few" | "few" => (3, true),
        "several" => (4, true),
        digits => (digits.parse().ok()?, false),
    })
}

fn unit_days(unit: &str) -> i64 {
    match unit {
        "day" => 1,
        "week" => 7,
        "weekend" => 3,
        "month" => 31,
        _ => 366,
    }
}

/// The calendar `unit` (day, Monday-to-Sunday week, weekend, month, year) `back` units before the one holding
/// `today`.
fn unit_around(unit: &str, today: Date, back: i64) -> Option<(Date, Date)> {
    Some(match unit {
        "day" => {
            let day = today.checked_sub(back.days()).ok()?;
            (day, day.tomorrow().ok()?)
        }
        "week" => {
            let monday = today.checked_sub((today.weekday().to_monday_zero_offset() as i64).days()).ok()?;
            let from = monday.checked_sub((7 * back).days()).ok()?;
            (from, from.checked_add(7.days()).ok()?)
        }
        "weekend" => {
            let monday = today.checked_sub((today.weekday().to_monday_zero_offset() as i64).days()).ok()?;
            // The weekend of this week when it has begun, else the one before.
            let this_friday = monday.checked_add(4.days()).ok()?;
            let latest = if today >= this_friday.checked_add(1.days()).ok()? {
                this_friday
            } else {
                this_friday.checked_sub(7.days()).ok()?
            };
            let from = latest.checked_sub((7 * back.max(1) - 7).days()).ok()?;
            (from, from.checked_add(3.days()).ok()?)
        }
        "month" => {
            let first = today.first_of_month().checked_sub(back.months()).ok()?;
            (first, first.checked_add(1.month()).ok()?)
        }
        _ => {
            let year = today.year() - i16::try_from(back).ok()?;
            (Date::new(year, 1, 1).ok()?, Date::new(year + 1, 1, 1).ok()?)
        }
    })
}

fn season_span(season: &str, year: i16) -> Option<(Date, Date)> {
    let (from, until) = match season {
        "spring" => (Date::new(year, 3, 1), Date::new(year, 6, 1)),
        "summer" => (Date::new(year, 6, 1), Date::new(year, 9, 1)),
        "autumn" | "fall" => (Date::new(year, 9, 1), Date::new(year, 12, 1)),
        // The winter of a year is the one that begins in its December.
        _ => (Date::new(year, 12, 1), Date::new(year + 1, 3, 1)),
    };
    Some((from.ok()?, until.ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn days_of(query: &str, today: Date) -> Option<(Date, Date)> {
        match find(query, today)?.meaning {
            Meaning::Days { from, until } | Meaning::Recent { from, until } => Some((from, until)),
            Meaning::Yearly { span, year } => span.in_year(year),
            Meaning::Anchored { .. } => None,
        }
    }

    #[test]
    fn absolute_dates_months_and_years() {
        let today = date(2024, 3, 15);
        assert_eq!(days_of("what happened on 2023-05-08?", today), Some((date(2023, 5, 8), date(2023, 5, 9))));
        assert_eq!(days_of("dinner on 8 May, 2023", today), Some((date(2023, 5, 8), date(2023, 5, 9))));
        assert_eq!(days_of("the talk on May 8th", today), Some((date(2023, 5, 8), date(2023, 5, 9))));
        assert_eq!(days_of("what did I do in May 2023", today), Some((date(2023, 5, 1), date(2023, 6, 1))));
        assert_eq!(days_of("trips in February", today), Some((date(2024, 2, 1), date(2024, 3, 1))));
        assert_eq!(days_of("what did we do in 2022?", today), Some((date(2022, 1, 1), date(2023, 1, 1))));
        // "may" as a verb is not a month.
        assert_eq!(find("may I see my notes about running", today), None);
    }

    #[test]
    fn a_month_without_its_year_is_the_latest_unless_last_or_this_says_otherwise() {
        let today = date(2024, 12, 8);
        let meaning = |query: &str, today: Date| find(query, today).map(|found| found.meaning);
        let month = |month: i8, year: i16| Some(Meaning::Yearly { span: Recurring::month(month), year });
        assert_eq!(meaning("in December", today), month(12, 2024));
        assert_eq!(meaning("in March", today), month(3, 2024));
        assert_eq!(days_of("last December", today), Some((date(2023, 12, 1), date(2024, 1, 1))));
        assert_eq!(days_of("last March", today), Some((date(2024, 3, 1), date(2024, 4, 1))));
        assert_eq!(days_of("this December", today), Some((date(2024, 12, 1), date(2025, 1, 1))));
        let leap_day = meaning("on 29 February", date(2027, 3, 1));
        let february_29 = Recurring { day: Some(29), ..Recurring::month(2) };
        assert_eq!(leap_day, Some(Meaning::Yearly { span: february_29, year: 2024 }));
        assert_eq!(february_29.in_year(2023), None);
        assert_eq!(days_of("since July", today), Some((date(2024, 7, 1), date(2024, 12, 9))));
        assert_eq!(days_of("since December", today), Some((date(2024, 12, 1), date(2024, 12, 9))));
        assert_eq!(days_of("since July 2023", today), Some((date(2023, 7, 1), date(2024, 12, 9))));
        assert_eq!(days_of("between March and May", today), Some((date(2024, 3, 1), date(2024, 6, 1))));
        assert_eq!(days_of("from November to February", today), Some((date(2024, 11, 1), date(2025, 3, 1))));
        assert_eq!(days_of("from November to February 2024", today), Some((date(2023, 11, 1), date(2024, 3, 1))));
        assert_eq!(days_of("between March and May 2022", today), Some((date(2022, 3, 1), date(2022, 6, 1))));
    }

    #[test]
    fn how_often_asks_for_a_count() {
        assert_eq!(find_tally("How often did I run?"), Some(("How often".to_owned(), 0..9)));
        assert_eq!(find_tally("so how many times did we meet").map(|(said, _)| said), Some("how many times".into()));
        assert_eq!(find_tally("how did I feel?"), None);
    }

    #[test]
    fn a_day_the_calendar_has_not_is_told_apart() {
        assert_eq!(impossible_day("what did I do on 2024-02-29?"), None);
        let told = impossible_day("what did I do on 2024-02-30?").unwrap();
        assert!(told.starts_with("`2024-02-30` (") && told.contains("1..=29"), "{told}");
        assert!(impossible_day("notes of 2023-13-01").is_some());
        assert_eq!(impossible_day("the 2024 plan"), None);
    }

    #[test]
    fn relative_expressions_count_from_today() {
        let today = date(2024, 3, 15); // a Friday
        assert_eq!(days_of("yesterday", today), Some((date(2024, 3, 14), date(2024, 3, 15))));
        assert_eq!(days_of("last week", today), Some((date(2024, 3, 4), date(2024, 3, 11))));
        assert_eq!(days_of("last month", today), Some((date(2024, 2, 1), date(2024, 3, 1))));
        assert_eq!(days_of("two weeks ago", today), Some((date(2024, 2, 26), date(2024, 3, 4))));
        assert_eq!(days_of("3 days ago", today), Some((date(2024, 3, 12), date(2024, 3, 13))));
        assert_eq!(days_of("last summer", today), Some((date(2023, 6, 1), date(2023, 9, 1))));
        assert_eq!(days_of("last summer", date(2024, 10, 1)), Some((date(2024, 6, 1), date(2024, 9, 1))));
        assert_eq!(days_of("in the summer of 2021", today), Some((date(2021, 6, 1), date(2021, 9, 1))));
        assert_eq!(days_of("last Tuesday", today), Some((date(2024, 3, 12), date(2024, 3, 13))));
        assert_eq!(days_of("a few weeks ago", today).map(|(from, _)| from), Some(date(2024, 2, 12)));
    }

    #[test]
    fn the_last_or_first_time_is_an_order_and_last_summer_a_period() {
        fn order(query: &str) -> Option<(String, Extreme, &str)> {
            find_order(query).map(|found| (found.expression, found.extreme, &query[found.span]))
        }
        assert_eq!(order("When did I last see Omar?"), Some(("last".to_owned(), Extreme::Latest, "last")));
        assert_eq!(order("when did my sister last call"), Some(("last".to_owned(), Extreme::Latest, "last")));
        assert_eq!(order("when was my last pottery class?"), Some(("last".to_owned(), Extreme::Latest, "last")));
        assert_eq!(order("when did we first meet?"), Some(("first".to_owned(), Extreme::Earliest, "first")));
        assert_eq!(
            order("the first time I went to pottery"),
            Some(("the first time".to_owned(), Extreme::Earliest, "the first time"))
        );
        assert_eq!(
            order("when was the last time we spoke"),
            Some(("last time".to_owned(), Extreme::Latest, "last time"))
        );
        assert_eq!(
            order("who did I see most recently?"),
            Some(("most recently".to_owned(), Extreme::Latest, "most recently"))
        );
        for no_order in
            ["what did we do last summer?", "when did I see Omar last week?", "at last, the kiln", "my first marathon"]
        {
            assert_eq!(order(no_order), None, "{no_order}");
        }
    }

    #[test]
    fn lately_is_the_last_month_up_to_today() {
        let today = date(2024, 3, 15);
        let found = find("what have I been up to lately?", today).expect("found");
        assert_eq!(found.expression, "lately");
        assert_eq!(found.meaning, Meaning::Recent { from: date(2024, 2, 15), until: date(2024, 3, 16) });
        assert_eq!(days_of("How's Lena these days", today), Some((date(2024, 2, 15), date(2024, 3, 16))));
        assert_eq!(days_of("anything new recently?", today).map(|(from, _)| from), Some(date(2024, 2, 15)));
        assert_eq!(days_of("pottery in recent months", today).map(|(from, _)| from), Some(date(2023, 12, 15)));
        assert_eq!(days_of("in recent days", today).map(|(from, _)| from), Some(date(2024, 3, 8)));
        assert_eq!(find("a late night at the studio", today), None, "late is no time expression");
    }

    #[test]
    fn events_anchor_expressions() {
        let found = find("what did we do the week after the wedding?", date(2024, 3, 15)).expect("found");
        assert_eq!(found.meaning, Meaning::Anchored { event: "wedding".to_owned(), after: true, days: 7 });
        assert_eq!(found.expression, "the week after the wedding");
        let found = find("the day before my sister's graduation", date(2024, 3, 15)).expect("found");
        assert_eq!(found.meaning, Meaning::Anchored { event: "sister's graduation".to_owned(), after: false, days: 1 });
    }
}

//! People, places and nationalities, found without a language model: runs of capitalized words weighed
//! against word lists (given names, surnames, places, English words) and the words around them.
//!
//! The rules, in order: a title (`Dr`, `Mrs`) makes the following run a person; a run that is a known place
//! is a location; a run of two or more words that starts with a given name, or that holds no English word
//! at all, is a person; a single word is a person when it is a given name that is not also an English word,
//! or when the words around it say so (`with Anna`, `Anna said`), or when it is also an English word
//! capitalized inside a sentence (`and Tom`); an unknown single word after `in` or `from` is a location. Then
//! a name found once, or known from the owner's other memories, is a person wherever else the text
//! capitalizes it, and an unknown name joined to a person's by `and` is a person too.

use std::collections::BTreeSet;

use mneme_protocol::guardian::PiiEntityType;

use super::Finding;
use super::lexicon::{Lexicon, lexicon};

/// A word of the text: letters with inner apostrophes and hyphens, or a single capital as an initial.
#[derive(Debug, Clone, Copy)]
struct Word<'t> {
    text: &'t str,
    start: usize,
    end: usize,
}

impl Word<'_> {
    fn is_capitalized(&self) -> bool {
        self.text.chars().next().is_some_and(char::is_uppercase)
    }

    fn is_initial(&self) -> bool {
        self.text.chars().count() == 1 && self.is_capitalized()
    }

    fn lower(&self) -> String {
        self.text.to_lowercase()
    }
}

fn words(text: &str) -> Vec<Word<'_>> {
    let mut found = Vec::new();
    let mut start = None;
    let mut characters = text.char_indices().peekable();
    while let Some((at, character)) = characters.next() {
        let inner_joiner = matches!(character, '\'' | '’' | '-')
            && start.is_some()
            && characters.peek().is_some_and(|(_, next)| next.is_alphabetic());
        if character.is_alphabetic() || (start.is_some() && is_mark(character)) || inner_joiner {
            start.get_or_insert(at);
        } else if let Some(begin) = start.take() {
            found.push(Word { text: &text[begin..at], start: begin, end: at });
        }
    }
    if let Some(begin) = start {
        found.push(Word { text: &text[begin..], start: begin, end: text.len() });
    }
    // `Anna's` is Anna.
    for word in &mut found {
        for possessive in ["'s", "’s", "'S"] {
            if let Some(stem) = word.text.strip_suffix(possessive)
                && !stem.is_empty()
            {
                word.text = stem;
                word.end = word.start + stem.len();
            }
        }
    }
    found
}

fn is_mark(character: char) -> bool {
    // Combining diacritics of decomposed text (`e` + U+0301).
    ('\u{300}'..='\u{36f}').contains(&character)
}

const TITLES: [&str; 14] =
    ["mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame", "madam", "madame", "mme", "herr"];
/// Words before a name that make it a person: greetings, verbs of talking and meeting, and kinship and
/// closeness (`my sister Anna`, where Anna is also a town).
const PERSON_BEFORE: [&str; 42] = [
    "dear",
    "hi",
    "hello",
    "hey",
    "thanks",
    "with",
    "named",
    "called",
    "met",
    "meet",
    "meeting",
    "ask",
    "asked",
    "tell",
    "told",
    "text",
    "texted",
    "call",
    "by",
    "love",
    "cc",
    "from",
    "sister",
    "brother",
    "mom",
    "mum",
    "dad",
    "wife",
    "husband",
    "son",
    "daughter",
    "aunt",
    "uncle",
    "cousin",
    "niece",
    "nephew",
    "friend",
    "colleague",
    "boss",
    "partner",
    "girlfriend",
    "boyfriend",
];
/// Words after a name that make it a person: verbs of saying, and of what people do rather than things.
const PERSON_AFTER: [&str; 34] = [
    "said", "says", "told", "asked", "wrote", "replied", "thinks", "thought", "called", "texted", "emailed", "lives",
    "works", "spent", "got", "gets", "went", "goes", "moved", "wants", "wanted", "loves", "laughed", "cried", "smiled",
    "agreed", "invited", "drove", "cooked", "brought", "sent", "joined", "married", "quit",
];
/// Words before a capitalized word that make it a thing (`the King`, `last Summer`) rather than someone.
const DETERMINERS: [&str; 17] = [
    "the", "a", "an", "this", "that", "these", "those", "last", "next", "every", "each", "my", "your", "our", "their",
    "its", "some",
];
const PLACE_BEFORE: [&str; 12] =
    ["in", "from", "to", "near", "visit", "visiting", "visited", "around", "outside", "across", "via", "towards"];
/// Company designators: a run ending in one is an organization, never a person.
const ORGANIZATION_WORDS: [&str; 24] = [
    "inc",
    "llc",
    "ltd",
    "corp",
    "corporation",
    "company",
    "co",
    "gmbh",
    "ag",
    "plc",
    "sa",
    "bv",
    "group",
    "partners",
    "holdings",
    "bank",
    "university",
    "college",
    "school",
    "institute",
    "foundation",
    "associates",
    "hospital",
    "church",
];
/// Function words: capitalized at the start of a sentence or in a title (`Carry Me Back To Canada`), they
/// name nobody, and a capitalized run that holds one is a title rather than a name.
const FUNCTION_WORDS: [&str; 64] = [
    "i", "i'm", "i've", "i'll", "i'd", "me", "my", "mine", "you", "your", "he", "him", "his", "she", "her", "it",
    "its", "we", "us", "our", "they", "them", "their", "the", "a", "an", "and", "or", "but", "if", "of", "to", "in",
    "on", "at", "for", "with", "from", "by", "as", "is", "are", "was", "be", "this", "that", "these", "those", "there",
    "here", "what", "when", "where", "who", "why", "how", "not", "no", "yes", "ok", "okay", "so", "do", "all",
];

/// Whether the word starts a sentence, a line or a field: its capital says nothing there.
fn starts_sentence(text: &str, word: &Word<'_>) -> bool {
    let before = text[..word.start].trim_end_matches([' ', '\t', '"', '“', '\'', '(', '*', '-']);
    match before.chars().last() {
        None => true,
        Some(last) => mneme_protocol::words::ends_sentence(last),
    }
}

/// Whether only spaces (or an initial's full stop) separate two words of a name.
fn joined(text: &str, left: &Word<'_>, right: &Word<'_>) -> bool {
    let gap = &text[left.end..right.start];
    gap == " " || (left.is_initial() && (gap == ". " || gap == "."))
}

/// The least score of a person found that is worth remembering as one of the owner's people: what the
/// words around a name or its shape say, not a [`GUESSED`] one.
pub const CONFIDENT: f64 = 0.6;

/// The score of a person found from another finding (the same name, or a name beside it) or from its
/// capital alone: enough to hide it, not to remember it.
const GUESSED: f64 = 0.55;

/// The words of `phrase` that can stand alone as a name: capitalized, two letters or more (`Omar`, `Haddad`
/// of `Dr. Omar Haddad`), and neither a title nor a function word.
pub fn single_names(phrase: &str) -> impl Iterator<Item = String> + '_ {
    words(phrase)
        .into_iter()
        .filter(|word| {
            let lower = word.lower();
            word.is_capitalized()
                && word.text.chars().count() >= 2
                && !TITLES.contains(&lower.as_str())
                && !FUNCTION_WORDS.contains(&lower.as_str())
        })
        .map(|word| word.text.to_owned())
}

/// The names of someone written as an author or participant (`Omar Haddad`, `Priya <priya@example.com>`):
/// each word, when there is one or the first is a given name. An address alone, and what reads as an
/// organization's name (`Fieldwork HR`, `Richmond Marathon`), give none.
pub fn names_of_someone(person: &str) -> Vec<String> {
    let display = person.split('<').next().unwrap_or_default().trim();
    if display.contains('@') {
        return Vec::new();
    }
    let names: Vec<String> = single_names(display).filter(|name| name.chars().any(char::is_lowercase)).collect();
    let one_word = names.len() == 1 && display.split_whitespace().count() == 1;
    if one_word || names.first().is_some_and(|first| lexicon().is_first_name(first)) { names } else { Vec::new() }
}

/// Every capitalized word of `text` that is one of `people`.
pub fn known(text: &str, people: &BTreeSet<String>) -> Vec<Finding> {
    words(text)
        .into_iter()
        .filter(|word| word.is_capitalized() && people.contains(word.text))
        .map(|word| Finding { kind: PiiEntityType::Person, start: word.start, end: word.end, score: 0.9 })
        .collect()
}

pub fn recognize(text: &str, people: &BTreeSet<String>, findings: &mut Vec<Finding>) {
    let lexicon = lexicon();
    let words = words(text);
    let mut index = 0;
    while index < words.len() {
        let word = &words[index];
        if lexicon.is_demonym(word.text) {
            findings.push(Finding { kind: PiiEntityType::Nrp, start: word.start, end: word.end, score: 0.7 });
        }
        if !word.is_capitalized() {
            index += lower_case_name(text, lexicon, &words, index, findings)
                .unwrap_or_else(|| lower_case_place(text, lexicon, &words, index, findings));
            continue;
        }
        let mut end = index + 1;
        while end < words.len() && words[end].is_capitalized() && joined(text, &words[end - 1], &words[end]) {
            end += 1;
        }
        if !speaker(text, lexicon, &words[index..end], findings) {
            classify_run(text, lexicon, &words, index, end, findings);
        }
        index = end;
    }
    enumerated_people(text, lexicon, &words, findings);
    people_named_again(text, lexicon, &words, people, findings);
}

/// `Lunch with Tom. … Tom got the job`: a word the text shows to be a person's name is that person
/// wherever else it is capitalized in the text, though nothing around it says so there; and `Priya and
/// Omar`: a name no list knows, paired with someone's, is someone's too.
fn people_named_again(
    text: &str,
    lexicon: &Lexicon,
    words: &[Word<'_>],
    people: &BTreeSet<String>,
    findings: &mut Vec<Finding>,
) {
    let covered = |findings: &[Finding], word: &Word<'_>| {
        findings.iter().any(|found| found.start < word.end && word.start < found.end)
    };
    let is_person = |findings: &[Finding], word: &Word<'_>| {
        findings.iter().any(|found| {
            found.kind == PiiEntityType::Person
                && found.score >= GUESSED
                && found.start <= word.start
                && word.end <= found.end
        })
    };
    if people.is_empty() && !findings.iter().any(|found| found.kind == PiiEntityType::Person && found.score >= GUESSED)
    {
        return;
    }
    let names: Vec<&str> = words
        .iter()
        .filter(|word| word.is_capitalized() && !word.is_initial() && is_person(findings, word))
        .map(|word| word.text)
        .collect();
    let again: Vec<Word<'_>> = words
        .iter()
        .filter(|word| {
            word.is_capitalized()
                && (names.contains(&word.text) || people.contains(word.text))
                && !covered(findings, word)
        })
        .copied()
        .collect();
    let could_be_a_name = |findings: &[Finding], word: &Word<'_>| {
        word.is_capitalized()
            && !word.is_initial()
            && (!lexicon.is_english(word.text) || lexicon.is_first_name(word.text))
            && !lexicon.is_place(word.text)
            && !lexicon.is_demonym(word.text)
            && !is_calendar_word(word.text)
            && !covered(findings, word)
    };
    let ampersands = words.windows(2).filter(|pair| &text[pair[0].end..pair[1].start] == " & ");
    let ands = words
        .windows(3)
        .filter(|three| three[1].text == "and" && text[three[0].end..three[2].start].len() == " and ".len());
    let paired: Vec<Word<'_>> = ampersands
        .map(|pair| (pair[0], pair[1]))
        .chain(ands.map(|three| (three[0], three[2])))
        .filter_map(|(left, right)| match (is_person(findings, &left), is_person(findings, &right)) {
            (true, false) if could_be_a_name(findings, &right) => Some(right),
            (false, true) if could_be_a_name(findings, &left) => Some(left),
            _ => None,
        })
        .collect();
    for word in again.into_iter().chain(paired) {
        // A name the owner's memories have shown before is as sure as what showed it.
        let score = if people.contains(word.text) { CONFIDENT } else { GUESSED };
        findings.push(Finding { kind: PiiEntityType::Person, start: word.start, end: word.end, score });
    }
}

/// `Anna: see you at six` at the start of a line is a chat's speaker; `Phone: 555…` is a field.
fn speaker(text: &str, lexicon: &Lexicon, run: &[Word<'_>], findings: &mut Vec<Finding>) -> bool {
    let (first, last) = (&run[0], &run[run.len() - 1]);
    let line_start = text[..first.start].rsplit('\n').next().is_some_and(|line| line.trim().is_empty());
    let colon_after = text[last.end..].starts_with(':');
    let says_something =
        text[last.end + usize::from(colon_after)..].lines().next().is_some_and(|rest| !rest.trim().is_empty());
    if !(line_start && colon_after && says_something && run.len() <= 3) {
        return false;
    }
    let field_label = run.iter().any(|word| {
        (lexicon.is_english(word.text) && !lexicon.is_first_name(word.text))
            || FUNCTION_WORDS.contains(&word.lower().as_str())
            || word.text.chars().all(char::is_uppercase)
    });
    if field_label {
        return false;
    }
    findings.push(Finding { kind: PiiEntityType::Person, start: first.start, end: last.end, score: 0.8 });
    true
}

/// `Kónya, Becker and Vasquez`: single capitalized words in a list, where one is a known name and none is
/// an English word, are all people.
fn enumerated_people(text: &str, lexicon: &Lexicon, words: &[Word<'_>], findings: &mut Vec<Finding>) {
    let mut index = 0;
    while index < words.len() {
        let mut end = index + 1;
        while end < words.len() && {
            let gap = &text[words[end - 1].end..words[end].start];
            (gap == ", " || gap == " and " || gap == ", and ") && words[end].is_capitalized()
        } {
            end += 1;
        }
        let list = &words[index..end];
        let is_list = list.len() >= 3 && list.iter().all(Word::is_capitalized);
        let names = list.iter().filter(|word| lexicon.is_name(word.text)).count();
        let english = list.iter().any(|word| lexicon.is_english(word.text) && !lexicon.is_name(word.text));
        if is_list && names >= 1 && !english && !list.iter().any(|word| lexicon.is_place(word.text)) {
            for word in list {
                findings.push(Finding { kind: PiiEntityType::Person, start: word.start, end: word.end, score: 0.6 });
            }
        }
        index = end;
    }
}

/// `lunch with anna`: in lower case, a given name that is no English word, right after a word that
/// introduces a person, with the surname after it when it is no English word either.
fn lower_case_name(
    text: &str,
    lexicon: &Lexicon,
    words: &[Word<'_>],
    index: usize,
    findings: &mut Vec<Finding>,
) -> Option<usize> {
    let word = &words[index];
    let previous = index.checked_sub(1).map(|at| words[at].lower())?;
    if !PERSON_BEFORE.contains(&previous.as_str())
        || !lexicon.is_first_name(word.text)
        || lexicon.is_english(word.text)
        || !text[words[index - 1].end..word.start].chars().all(char::is_whitespace)
    {
        return None;
    }
    let surname = words
        .get(index + 1)
        .filter(|next| joined(text, word, next) && !next.is_capitalized() && !lexicon.is_english(next.text));
    let end = surname.map_or(word.end, |next| next.end);
    findings.push(Finding { kind: PiiEntityType::Person, start: word.start, end, score: 0.6 });
    Some(if surname.is_some() { 2 } else { 1 })
}

/// Countries written in lower case (`from belgium`) are still countries.
fn lower_case_place(
    text: &str,
    lexicon: &Lexicon,
    words: &[Word<'_>],
    index: usize,
    findings: &mut Vec<Finding>,
) -> usize {
    for length in (1..=3).rev() {
        if index + length > words.len() {
            continue;
        }
        let (first, last) = (&words[index], &words[index + length - 1]);
        if lexicon.is_country(&text[first.start..last.end]) && !lexicon.is_english(&text[first.start..last.end]) {
            findings.push(Finding { kind: PiiEntityType::Location, start: first.start, end: last.end, score: 0.7 });
            return length;
        }
    }
    1
}

fn classify_run(
    text: &str,
    lexicon: &Lexicon,
    words: &[Word<'_>],
    mut start: usize,
    end: usize,
    findings: &mut Vec<Finding>,
) {
    let previous = start.checked_sub(1).map(|at| words[at].lower());
    let mut titled = start.checked_sub(1).is_some_and(|at| is_title_before(&words[at]));
    // Leading words that are capitalized only because they start a sentence, or are titles.
    while start < end {
        let word = &words[start];
        let lower = word.lower();
        if TITLES.contains(&lower.as_str()) {
            titled = true;
            start += 1;
        } else if FUNCTION_WORDS.contains(&lower.as_str())
            || lexicon.is_demonym(word.text)
            || (starts_sentence(text, word)
                && lexicon.is_english(word.text)
                && !lexicon.is_first_name(word.text)
                && !lexicon.is_place(word.text))
        {
            start += 1;
        } else {
            break;
        }
    }
    if start >= end {
        return;
    }
    // Months and weekdays are times, even where a town shares the name (March, Cambridgeshire).
    while end > start && is_calendar_word(words[start].text) {
        start += 1;
    }
    // So are holidays, whole: "Christmas Eve" is no Eve.
    if start >= end || words[start..end].iter().any(|word| is_holiday(word.text)) {
        return;
    }
    let run = &words[start..end];
    let span = |from: usize, to: usize| (run[from].start, run[to - 1].end);
    let phrase = &text[run[0].start..run[run.len() - 1].end];

    if run.iter().any(|word| {
        let lower = word.lower();
        ORGANIZATION_WORDS.contains(&lower.as_str()) || FUNCTION_WORDS.contains(&lower.as_str())
    }) {
        // An organization or a title; a place inside it is still a place.
        if let Some((from, to)) = longest_place(text, lexicon, run)
            && (to - from >= 2 || lexicon.is_country(&text[run[from].start..run[to - 1].end]))
        {
            findings.push(Finding {
                kind: PiiEntityType::Location,
                start: run[from].start,
                end: run[to - 1].end,
                score: 0.6,
            });
        }
        return;
    }
    if titled {
        let (start, end) = span(0, run.len());
        findings.push(Finding { kind: PiiEntityType::Person, start, end, score: 0.85 });
        return;
    }
    if let Some((from, to)) = longest_place(text, lexicon, run) {
        let whole = from == 0 && to == run.len();
        let introduced_as_a_person = previous.as_deref().is_some_and(|word| PERSON_BEFORE.contains(&word))
            && !previous.as_deref().is_some_and(|word| PLACE_BEFORE.contains(&word));
        let named_like_a_person = (run.len() >= 2 || introduced_as_a_person)
            && lexicon.is_first_name(run[0].text)
            && !lexicon.is_country(phrase);
        if whole && !named_like_a_person {
            let ambiguous = run.len() == 1 && lexicon.is_english(run[0].text);
            let before_place = previous.as_deref().is_some_and(|word| PLACE_BEFORE.contains(&word));
            if !ambiguous || before_place {
                let (start, end) = span(from, to);
                let score = if lexicon.is_country(phrase) {
                    0.85
                } else if before_place {
                    0.8
                } else {
                    0.6
                };
                findings.push(Finding { kind: PiiEntityType::Location, start, end, score });
            }
            return;
        }
        if !named_like_a_person {
            let (start, end) = span(from, to);
            findings.push(Finding { kind: PiiEntityType::Location, start, end, score: 0.6 });
            return;
        }
    }

    // Surnames that are also English words (`Baker`, `Force`) count as English here: alone they prove nothing.
    let english = |word: &Word<'_>| lexicon.is_english(word.text) && !lexicon.is_first_name(word.text);
    if run.len() >= 2 {
        let starts_with_given_name = lexicon.is_first_name(run[0].text) && !english(&run[0]);
        let no_english = run.iter().all(|word| !english(word) || word.is_initial());
        let known = run.iter().filter(|word| lexicon.is_name(word.text)).count();
        let score = match (starts_with_given_name, no_english) {
            (true, true) => 0.85,
            (true, false) if lexicon.is_surname(run[run.len() - 1].text) => 0.6,
            (false, true) if known > 0 => 0.75,
            (false, true) => 0.6,
            _ => return,
        };
        let (start, end) = span(0, run.len());
        findings.push(Finding { kind: PiiEntityType::Person, start, end, score });
        return;
    }

    let word = &run[0];
    if word.text.chars().count() < 2 || word.text.chars().all(char::is_uppercase) {
        return;
    }
    let next = words.get(end).filter(|next| joined_loosely(text, word, next)).map(Word::lower);
    // `Met Priya`: the word before may have been left out of the run for opening the sentence.
    let just_before = start.checked_sub(1).map(|at| words[at].lower());
    let person_context = [&previous, &just_before]
        .iter()
        .any(|before| before.as_deref().is_some_and(|word| PERSON_BEFORE.contains(&word)))
        || next.as_deref().is_some_and(|word| PERSON_AFTER.contains(&word))
        || text[word.end..].starts_with("'s ")
        || text[word.end..].starts_with("’s ")
        || name_is_before(text, word);
    let place_context = previous.as_deref().is_some_and(|word| PLACE_BEFORE.contains(&word));
    let given = lexicon.is_first_name(word.text);
    let is_english = lexicon.is_english(word.text);
    // English writes `tom`, `will` and `grace` in lower case: one capitalized inside a sentence, with no
    // article before it, is a name.
    let determined = just_before.as_deref().is_some_and(|word| DETERMINERS.contains(&word));
    let proper_inside_a_sentence = !starts_sentence(text, word) && !place_context && !determined;
    let score = match (given, is_english, person_context) {
        (true, false, true) => 0.85,
        (true, false, false) => 0.6,
        (true, true, true) => 0.6,
        (true, true, false) if proper_inside_a_sentence => GUESSED,
        (false, false, true) => 0.6,
        (false, false, false) if lexicon.is_surname(word.text) => 0.45,
        _ => {
            if place_context && !is_english && !lexicon.is_name(word.text) {
                findings.push(Finding { kind: PiiEntityType::Location, start: word.start, end: word.end, score: 0.5 });
            }
            return;
        }
    };
    findings.push(Finding { kind: PiiEntityType::Person, start: word.start, end: word.end, score });
}

fn is_calendar_word(word: &str) -> bool {
    const CALENDAR: [&str; 19] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    CALENDAR.contains(&word)
}

/// A title before a name: `Dr`, `mrs`; `Miss` only capitalized, since "I miss Lisbon" misses a place.
fn is_title_before(word: &Word<'_>) -> bool {
    let lower = word.lower();
    TITLES.contains(&lower.as_str()) && (lower != "miss" || word.is_capitalized())
}

fn is_holiday(word: &str) -> bool {
    const HOLIDAYS: [&str; 10] = [
        "Christmas",
        "Xmas",
        "Easter",
        "Halloween",
        "Thanksgiving",
        "Hanukkah",
        "Passover",
        "Ramadan",
        "Diwali",
        "Pentecost",
    ];
    HOLIDAYS.contains(&word)
}

fn joined_loosely(text: &str, left: &Word<'_>, right: &Word<'_>) -> bool {
    text[left.end..right.start].chars().all(|c| c == ' ' || c == ',')
}

/// `my name is …`, `I'm …`, `this is …`, `it's under …`.
fn name_is_before(text: &str, word: &Word<'_>) -> bool {
    let before = text[..word.start].trim_end().to_lowercase();
    ["name is", "name's", "i am", "i'm", "this is", "under", "signed", "regards,", "sincerely,"]
        .iter()
        .any(|cue| before.ends_with(cue))
}

/// The longest stretch of the run that is a known place.
fn longest_place(text: &str, lexicon: &Lexicon, run: &[Word<'_>]) -> Option<(usize, usize)> {
    let longest = lexicon.longest_place.min(run.len());
    for length in (1..=longest).rev() {
        for from in 0..=run.len() - length {
            let phrase = &text[run[from].start..run[from + length - 1].end];
            if lexicon.is_place(phrase) {
                return Some((from, from + length));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(PiiEntityType, String)> {
        let mut findings = Vec::new();
        recognize(text, &BTreeSet::new(), &mut findings);
        findings.into_iter().map(|finding| (finding.kind, text[finding.start..finding.end].to_owned())).collect()
    }

    #[test]
    fn people_by_list_by_title_and_by_shape() {
        let people =
            found("Yesterday Anna Keller met Dr. Okonkwo and Krisztián Szöllösy at the Entertainment Weekly party.");
        assert!(people.contains(&(PiiEntityType::Person, "Anna Keller".into())), "{people:?}");
        assert!(people.contains(&(PiiEntityType::Person, "Okonkwo".into())), "{people:?}");
        assert!(people.contains(&(PiiEntityType::Person, "Krisztián Szöllösy".into())), "{people:?}");
        assert!(!people.iter().any(|(_, text)| text.contains("Entertainment") || text == "Yesterday"), "{people:?}");
    }

    #[test]
    fn a_given_name_after_a_kinship_word_is_a_person_though_a_town_shares_it() {
        let people = found("Dinner with Mom, Dad and my sister Anna. Then we drove to Anna, Texas.");
        assert_eq!(people[0], (PiiEntityType::Person, "Anna".into()), "{people:?}");
        assert!(!people[1..].iter().any(|(kind, _)| *kind == PiiEntityType::Person), "{people:?}");
    }

    #[test]
    fn missing_a_place_is_no_title() {
        assert_eq!(found("I miss Lisbon already."), [(PiiEntityType::Location, "Lisbon".into())]);
        assert_eq!(found("We met Miss Marple."), [(PiiEntityType::Person, "Marple".into())]);
    }

    #[test]
    fn places_and_nationalities() {
        let places = found("We flew from Budapest to Iceland with a Polish crew, then drove to belgium.");
        assert!(places.contains(&(PiiEntityType::Location, "Budapest".into())), "{places:?}");
        assert!(places.contains(&(PiiEntityType::Location, "Iceland".into())), "{places:?}");
        assert!(places.contains(&(PiiEntityType::Location, "belgium".into())), "{places:?}");
        assert!(places.contains(&(PiiEntityType::Nrp, "Polish".into())), "{places:?}");
    }

    #[test]
    fn a_given_name_that_is_also_a_word_is_a_person_where_english_would_not_capitalize_the_word() {
        let people = found("Fado with Lena and Tom. Grace came too, and Will. The King sang.");
        assert!(people.contains(&(PiiEntityType::Person, "Tom".into())), "{people:?}");
        assert!(people.contains(&(PiiEntityType::Person, "Will".into())), "{people:?}");
        assert!(!people.iter().any(|(_, text)| text == "King"), "{people:?}");
        assert_eq!(found("Tom got the job in Lisbon.")[0], (PiiEntityType::Person, "Tom".into()));
        assert!(found("Hope is all we have. Love is patient.").is_empty());
    }

    #[test]
    fn a_name_found_once_is_found_everywhere_in_the_text() {
        let people = found("Drinks with Tom on Friday. Tom seems happier.");
        assert_eq!(people.iter().filter(|(kind, text)| *kind == PiiEntityType::Person && text == "Tom").count(), 2);
    }

    #[test]
    fn an_author_gives_the_names_of_a_person_and_none_of_an_organization() {
        assert_eq!(names_of_someone("Omar Haddad <omar@example.com>"), ["Omar", "Haddad"]);
        assert_eq!(names_of_someone("Priya"), ["Priya"]);
        for organization in ["Fieldwork HR <hr@fieldwork.studio>", "Richmond Marathon", "lena@example.com", "HR"] {
            assert!(names_of_someone(organization).is_empty(), "{organization}");
        }
    }

    #[test]
    fn a_name_no_list_knows_is_a_person_beside_one() {
        assert_eq!(found("First day. Met Priya, who runs it."), [(PiiEntityType::Person, "Priya".into())]);
        let people = found("Priya and Omar came. Lisbon and Omar, too.");
        assert!(people.contains(&(PiiEntityType::Person, "Priya".into())), "{people:?}");
        assert!(!people.contains(&(PiiEntityType::Person, "Lisbon".into())), "{people:?}");
    }

    #[test]
    fn sentence_starts_and_organizations_are_not_people() {
        let none = found("When the Civil Rights Act passed, Berkshire Hathaway Inc was already old. The End.");
        assert!(!none.iter().any(|(kind, _)| *kind == PiiEntityType::Person), "{none:?}");
    }
}

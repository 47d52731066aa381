//! The word lists the name and place recognizers consult, built once per process from the files in
//! `data/` (their sources and licences are in `data/README.md`).

use std::collections::HashSet;
use std::sync::LazyLock;

/// Words that say little alone but much beside a name or a place.
pub struct Lexicon {
    first_names: HashSet<&'static str>,
    surnames: HashSet<&'static str>,
    /// Lower-cased, so that `belgium` and `BELGIUM` are found too.
    countries: HashSet<String>,
    /// Places as written (mostly title case), multi-word names included.
    places: HashSet<&'static str>,
    /// Lower-cased English words: a capitalized token that is one is a weak sign of a name.
    english: HashSet<&'static str>,
    demonyms: HashSet<&'static str>,
    /// The given names and surnames in file order (sorted), for made-up names that must be the same in every
    /// process.
    given_name_list: Vec<&'static str>,
    surname_list: Vec<&'static str>,
    /// The most words a place name in `places` has.
    pub longest_place: usize,
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(Lexicon::load);

pub fn lexicon() -> &'static Lexicon {
    &LEXICON
}

fn lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#'))
}

impl Lexicon {
    fn load() -> Self {
        let places: HashSet<&'static str> = lines(include_str!("../../data/places.txt")).collect();
        let longest_place = places.iter().map(|place| place.split_whitespace().count()).max().unwrap_or(1);
        let given_name_list: Vec<&'static str> = lines(include_str!("../../data/first_names.txt")).collect();
        let surname_list: Vec<&'static str> = lines(include_str!("../../data/surnames.txt")).collect();
        Lexicon {
            first_names: given_name_list.iter().copied().collect(),
            surnames: surname_list.iter().copied().collect(),
            given_name_list,
            surname_list,
            countries: lines(include_str!("../../data/countries.txt")).map(str::to_lowercase).collect(),
            places,
            english: lines(include_str!("../../data/english_words.txt")).collect(),
            demonyms: lines(include_str!("../../data/demonyms.txt")).collect(),
            longest_place,
        }
    }

    /// The `index`-th given name, wrapping around.
    pub fn given_name_at(&self, index: u64) -> &'static str {
        self.given_name_list[(index % self.given_name_list.len() as u64) as usize]
    }

    pub fn surname_at(&self, index: u64) -> &'static str {
        self.surname_list[(index % self.surname_list.len() as u64) as usize]
    }

    /// Whether `word` (as written, title case) is a given name.
    pub fn is_first_name(&self, word: &str) -> bool {
        self.first_names.contains(title_case(word).as_str())
    }

    pub fn is_surname(&self, word: &str) -> bool {
        self.surnames.contains(title_case(word).as_str())
    }

    pub fn is_name(&self, word: &str) -> bool {
        self.is_first_name(word) || self.is_surname(word)
    }

    /// Whether `word` in lower case is an English word.
    pub fn is_english(&self, word: &str) -> bool {
        self.english.contains(word.to_lowercase().as_str())
    }

    pub fn is_country(&self, phrase: &str) -> bool {
        self.countries.contains(&phrase.to_lowercase())
    }

    /// A place name as written, or in title case when written in capitals (`BUDAPEST`).
    pub fn is_place(&self, phrase: &str) -> bool {
        self.places.contains(phrase)
            || (phrase.chars().any(char::is_uppercase)
                && !phrase.chars().any(char::is_lowercase)
                && self.places.contains(title_case_words(phrase).as_str()))
            || self.is_country(phrase)
    }

    /// Nationalities and peoples (`Polish`, `Norwegians`), in any case.
    pub fn is_demonym(&self, word: &str) -> bool {
        let lower = word.to_lowercase();
        self.demonyms.contains(lower.as_str())
            || lower.strip_suffix('s').is_some_and(|singular| self.demonyms.contains(singular))
    }
}

/// `ANNA` and `anna` as `Anna`.
fn title_case(word: &str) -> String {
    let mut characters = word.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters.flat_map(char::to_lowercase)).collect(),
        None => String::new(),
    }
}

fn title_case_words(phrase: &str) -> String {
    phrase.split(' ').map(title_case).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_load_and_answer_in_any_case() {
        let lexicon = lexicon();
        assert!(lexicon.is_first_name("Anna") && lexicon.is_first_name("ANNA"));
        assert!(lexicon.is_surname("Johnson"));
        assert!(lexicon.is_country("belgium") && lexicon.is_place("Belgium"));
        assert!(lexicon.is_place("Budapest") && lexicon.is_place("BUDAPEST") && lexicon.is_place("San Francisco"));
        assert!(lexicon.is_english("Orchestra") && !lexicon.is_english("Szöllösy"));
        assert!(lexicon.is_demonym("Polish") && lexicon.is_demonym("norwegians"));
        assert!(lexicon.longest_place >= 3);
    }
}

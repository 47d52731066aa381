//! The part of a memory to show with a result: the run of words that holds most of what was searched for, and
//! the words that index terms stand for.

use std::collections::{HashMap, HashSet};

/// Words a snippet holds at most.
const WINDOW_WORDS: usize = 40;

/// The window of `text` (about [`WINDOW_WORDS`] words) holding the most of `terms` (index terms), earliest
/// first among equals, with an ellipsis where the text was cut.
pub fn snippet(text: &str, terms: &HashSet<String>) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() <= WINDOW_WORDS {
        return words.join(" ");
    }
    let hits: Vec<usize> = words
        .iter()
        .map(|word| usize::from(super::text::terms(word).iter().any(|term| terms.contains(term))))
        .collect();
    let mut count: usize = hits[..WINDOW_WORDS].iter().sum();
    let (mut best, mut best_count) = (0, count);
    for start in 1..=words.len() - WINDOW_WORDS {
        count = count + hits[start + WINDOW_WORDS - 1] - hits[start - 1];
        if count > best_count {
            (best, best_count) = (start, count);
        }
    }
    let mut shown = words[best..best + WINDOW_WORDS].join(" ");
    if best > 0 {
        shown.insert_str(0, "… ");
    }
    if best + WINDOW_WORDS < words.len() {
        shown.push_str(" …");
    }
    shown
}

/// The word each of `terms` (index terms) stands for in `texts` and in `names` (authors and participants, as
/// written): as written inside a sentence or in a name, or lower-cased when it is only ever seen opening a
/// sentence (so that "Already" reads "already" and "Lena" stays "Lena").
pub fn words_of<'t>(
    terms: &HashSet<&str>,
    texts: impl IntoIterator<Item = &'t str>,
    names: impl IntoIterator<Item = &'t str>,
) -> HashMap<String, String> {
    let mut words: HashMap<String, (String, bool)> = HashMap::new();
    let mut consider = |word: &str, opening: bool| {
        // A word that stands for one term; a stop word stands for none.
        let Ok([term]) = <[String; 1]>::try_from(super::text::terms(word)) else { return };
        if !terms.contains(term.as_str()) {
            return;
        }
        match words.get(&term) {
            Some((_, inside)) if *inside || opening => {}
            _ => {
                let shown = if opening { word.to_lowercase() } else { word.to_owned() };
                words.insert(term, (shown, !opening));
            }
        }
    };
    let word_of = |written: &'t str| written.trim_matches(|c: char| !c.is_alphanumeric());
    for text in texts {
        let mut opens_sentence = true;
        for written in text.split_whitespace() {
            let opening = std::mem::replace(&mut opens_sentence, written.ends_with(['.', '!', '?', ':']));
            consider(word_of(written), opening);
        }
    }
    for name in names {
        for written in name.split_whitespace() {
            consider(word_of(written), false);
        }
    }
    words.into_iter().map(|(term, (word, _))| (term, word)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_read_as_the_words_they_stand_for() {
        let terms: HashSet<&str> = ["alreadi", "lena", "miss", "absent"].into();
        let words = words_of(&terms, ["Already home. I miss Lena.", "Lena says hi, already!"], []);
        assert_eq!(words["alreadi"], "already");
        assert_eq!(words["lena"], "Lena");
        assert_eq!(words["miss"], "miss");
        assert!(!words.contains_key("absent"));
    }

    #[test]
    fn a_name_reads_as_its_author_writes_it() {
        let terms: HashSet<&str> = ["omar"].into();
        assert_eq!(words_of(&terms, ["Omar? Deal."], [])["omar"], "omar", "only seen opening a sentence");
        assert_eq!(words_of(&terms, ["Omar? Deal."], ["Omar"])["omar"], "Omar");
    }

    #[test]
    fn the_window_follows_the_matches() {
        let terms: HashSet<String> = ["kayak".to_owned()].into();
        assert_eq!(snippet("short  text", &terms), "short text");
        let long = format!("{} we went kayaking at dawn {}", "filler ".repeat(60), "more ".repeat(60));
        let shown = snippet(&long, &terms);
        assert!(shown.contains("kayaking") && shown.starts_with("… ") && shown.ends_with(" …"), "{shown}");
    }
}

//! The part of a memory to show with a result: the run of words that holds most of what was searched for.

use std::collections::HashSet;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_follows_the_matches() {
        let terms: HashSet<String> = ["kayak".to_owned()].into();
        assert_eq!(snippet("short  text", &terms), "short text");
        let long = format!("{} we went kayaking at dawn {}", "filler ".repeat(60), "more ".repeat(60));
        let shown = snippet(&long, &terms);
        assert!(shown.contains("kayaking") && shown.starts_with("… ") && shown.ends_with(" …"), "{shown}");
    }
}

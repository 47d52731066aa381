//! What one memory says about people: who wrote it, who was in the conversation, whom the text speaks of
//! (names the guardian finds, @handles, kinship terms such as "my sister Anna" or "mom"). Kept as written;
//! [`crate::people`] decides later who is who across the whole corpus.

use serde::{Deserialize, Serialize};

use mneme_protocol::harvester::ProcessedMemory;
use mneme_protocol::relationships::Role;
use mneme_runtime::ledger::Entry;

/// The bucket of references.
pub const BUCKET: &str = "mneme_relationships";

/// One person as a memory names them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// As written: `Anna Keller <anna@example.org>`, `@anna_k`, `Anna`, `Mom`.
    pub name: String,
    pub role: Role,
    /// What the text says they are to the owner: `sister`, `mother`, ...
    #[serde(default)]
    pub relation: Option<String>,
}

/// What the relationships keep of one memory: when, how it felt, and the people in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// RFC 3339, UTC; none for undated memories.
    pub at: Option<String>,
    pub compound: f64,
    pub people: Vec<Reference>,
}

impl Entry for Contact {
    fn occurred_at(&self) -> Option<&str> {
        self.at.as_deref()
    }
}

/// Kinship and closeness words, each with the relation it names. Those marked `alone` name a person even
/// without "my" before them ("Mom called"); the others only after "my" ("my sister", "my sister Anna").
const RELATIONS: [(&str, &str, bool); 44] = [
    ("mom", "mother", true),
    ("mum", "mother", true),
    ("mommy", "mother", true),
    ("mummy", "mother", true),
    ("mama", "mother", true),
    ("mother", "mother", false),
    ("dad", "father", true),
    ("daddy", "father", true),
    ("papa", "father", true),
    ("father", "father", false),
    ("grandma", "grandmother", true),
    ("granny", "grandmother", true),
    ("nana", "grandmother", true),
    ("grandmother", "grandmother", false),
    ("grandpa", "grandfather", true),
    ("grandad", "grandfather", true),
    ("granddad", "grandfather", true),
    ("grandfather", "grandfather", false),
    ("sister", "sister", false),
    ("sis", "sister", false),
    ("brother", "brother", false),
    ("bro", "brother", false),
    ("wife", "wife", false),
    ("husband", "husband", false),
    ("partner", "partner", false),
    ("girlfriend", "girlfriend", false),
    ("boyfriend", "boyfriend", false),
    ("fiancé", "fiancé", false),
    ("fiance", "fiancé", false),
    ("fiancée", "fiancée", false),
    ("son", "son", false),
    ("daughter", "daughter", false),
    ("aunt", "aunt", false),
    ("auntie", "aunt", true),
    ("uncle", "uncle", false),
    ("cousin", "cousin", false),
    ("niece", "niece", false),
    ("nephew", "nephew", false),
    ("friend", "friend", false),
    ("colleague", "colleague", false),
    ("boss", "boss", false),
    ("manager", "manager", false),
    ("roommate", "roommate", false),
    ("neighbour", "neighbour", false),
];

/// The relation a kinship word names, and whether it names a person alone (`Mum`) or only after "my".
pub(crate) fn relation_of(word: &str) -> Option<(&'static str, bool)> {
    let lower = word.to_lowercase();
    RELATIONS.iter().find(|(term, _, _)| *term == lower).map(|(_, relation, alone)| (*relation, *alone))
}

/// The name a relation goes by when the text gives none.
pub fn relation_name(relation: &str) -> String {
    match relation {
        "mother" => "Mom".to_owned(),
        "father" => "Dad".to_owned(),
        "grandmother" => "Grandma".to_owned(),
        "grandfather" => "Grandpa".to_owned(),
        other => format!("My {other}"),
    }
}

/// A word of the text and where it is.
struct Word<'t> {
    text: &'t str,
    start: usize,
    end: usize,
}

fn words(text: &str) -> Vec<Word<'_>> {
    let mut found = Vec::new();
    let mut start = None;
    for (at, character) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        let part_of_word = character.is_alphanumeric() || matches!(character, '@' | '_' | '\'' | '’');
        match (part_of_word, start) {
            (true, None) => start = Some(at),
            (false, Some(begin)) => {
                found.push(Word { text: &text[begin..at], start: begin, end: at });
                start = None;
            }
            _ => {}
        }
    }
    found
}

/// The people of `memory`: its author and participants, then those its text speaks of. `names` are the
/// spans (byte ranges of the text) of people's names, as the privacy guardian finds them.
pub fn references(memory: &ProcessedMemory, names: &[(usize, usize)]) -> Vec<Reference> {
    let mut found = Vec::new();
    if let Some(author) = memory.author.as_deref().filter(|author| !author.trim().is_empty()) {
        found.push(Reference { name: author.trim().to_owned(), role: Role::Author, relation: None });
    }
    for participant in memory.participants.iter().filter(|participant| !participant.trim().is_empty()) {
        found.push(Reference { name: participant.trim().to_owned(), role: Role::Participant, relation: None });
    }
    found.extend(mentions(&memory.text, names));
    found
}

fn mentions(text: &str, names: &[(usize, usize)]) -> Vec<Reference> {
    let words = words(text);
    let mut found = Vec::new();
    // Kinship words that introduce a name ("my sister Anna") belong to that name, not to a person of their own.
    let mut used = vec![false; words.len()];
    for &(start, end) in names {
        let Some(name) = text.get(start..end).map(str::trim).filter(|name| !name.is_empty()) else { continue };
        let first = words.iter().position(|word| word.start >= start);
        let relation = first.and_then(|first| first.checked_sub(1)).and_then(|before| {
            let (relation, alone) = relation_of(words[before].text)?;
            let after_my = before > 0 && words[before - 1].text.eq_ignore_ascii_case("my");
            (alone || after_my).then(|| {
                used[before] = true;
                relation.to_owned()
            })
        });
        for (index, word) in words.iter().enumerate() {
            if word.start >= start && word.end <= end {
                used[index] = true;
            }
        }
        found.push(Reference { name: name.to_owned(), role: Role::Mention, relation });
    }
    for (index, word) in words.iter().enumerate() {
        if used[index] {
            continue;
        }
        if let Some(handle) = word.text.strip_prefix('@') {
            let handle = handle.trim_end_matches(['\'', '’', '_']);
            let is_mail = index > 0 && words[index - 1].end == word.start;
            if handle.chars().count() >= 2 && handle.chars().any(char::is_alphabetic) && !is_mail {
                found.push(Reference { name: format!("@{handle}"), role: Role::Mention, relation: None });
            }
            continue;
        }
        let Some((relation, alone)) = relation_of(word.text) else { continue };
        let after_my = index > 0 && words[index - 1].text.eq_ignore_ascii_case("my");
        // "Mom" and "my sister" are someone; "a friend" or "my friend" could be anyone.
        if alone || (after_my && !matches!(relation, "friend" | "colleague" | "neighbour")) {
            found.push(Reference {
                name: relation_name(relation),
                role: Role::Mention,
                relation: Some(relation.to_owned()),
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str, names: &[&str]) -> Vec<(usize, usize)> {
        names
            .iter()
            .map(|name| {
                let start = text.find(name).unwrap();
                (start, start + name.len())
            })
            .collect()
    }

    #[test]
    fn kinship_before_a_name_is_the_persons_relation() {
        let text = "Lunch with my sister Anna and Omar, then called Mom.";
        let found = mentions(text, &spans(text, &["Anna", "Omar"]));
        let summary: Vec<(&str, Option<&str>)> =
            found.iter().map(|reference| (reference.name.as_str(), reference.relation.as_deref())).collect();
        assert_eq!(summary, [("Anna", Some("sister")), ("Omar", None), ("Mom", Some("mother"))]);
    }

    #[test]
    fn handles_and_nameless_relations() {
        let text = "Thanks @lena_k for the tip. My brother is visiting; a friend said hi. Mail me at x@example.org";
        let found = mentions(text, &[]);
        let names: Vec<&str> = found.iter().map(|reference| reference.name.as_str()).collect();
        assert_eq!(names, ["@lena_k", "My brother"]);
    }

    #[test]
    fn the_author_and_participants_come_first() {
        let memory = crate::tests::memory(
            "m1",
            "ann",
            Some("2024-05-06T07:10:00Z"),
            "Say hi to dad",
            Some("Omar"),
            &["Ann", " "],
        );
        let found = references(&memory, &[]);
        let roles: Vec<(&str, Role)> =
            found.iter().map(|reference| (reference.name.as_str(), reference.role)).collect();
        assert_eq!(roles, [("Omar", Role::Author), ("Ann", Role::Participant), ("Dad", Role::Mention)]);
    }
}

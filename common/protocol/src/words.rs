//! Words as people write and read them: counts for the texts agents and the CLI show ("1 memory"), and where
//! a sentence ends, so that every agent reads a capital the same way.

use std::fmt::Display;

/// `count` with its noun, in the singular for one.
pub fn counted<T: Display + PartialEq + From<u8>>(count: T, one: &str, many: &str) -> String {
    let noun = if count == T::from(1) { one } else { many };
    format!("{count} {noun}")
}

/// Whether a word after `character` opens a sentence, a line or a field (`.`, `!`, `?`, `:`, `;`, `…`, a line
/// break, a table's `|`, a quote's `>`): there its capital says nothing of the word.
pub fn ends_sentence(character: char) -> bool {
    matches!(character, '.' | '!' | '?' | ':' | ';' | '…' | '\n' | '|' | '>')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(counted(1_usize, "memory", "memories"), "1 memory");
        assert_eq!(counted(0_u64, "memory", "memories"), "0 memories");
        assert_eq!(counted(12_i64, "day", "days"), "12 days");
    }
}

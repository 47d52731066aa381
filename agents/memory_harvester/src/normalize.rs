//! Text normalization: one canonical form for the same words, whatever editor or export produced them.

use unicode_normalization::UnicodeNormalization;

/// Characters that carry no text and only make equal texts differ: BOM, zero-width space, word joiner.
/// The zero-width joiner stays, because emoji sequences need it.
fn is_invisible(character: char) -> bool {
    matches!(character, '\u{feff}' | '\u{200b}' | '\u{2060}' | '\u{00ad}')
}

/// NFC, `\n` line endings, no control characters, white space runs folded to one space within lines,
/// at most one blank line between paragraphs, no white space at either end.
pub fn normalize(raw: &str) -> String {
    let unified = raw.replace("\r\n", "\n").replace('\r', "\n");
    let mut lines: Vec<String> = Vec::new();
    for line in unified.split('\n') {
        let mut folded = String::with_capacity(line.len());
        let mut pending_space = false;
        for character in line.nfc() {
            if is_invisible(character) || (character.is_control() && character != '\t') {
                continue;
            }
            if character.is_whitespace() {
                pending_space = !folded.is_empty();
                continue;
            }
            if pending_space {
                folded.push(' ');
                pending_space = false;
            }
            folded.push(character);
        }
        lines.push(folded);
    }
    let mut text = String::with_capacity(raw.len());
    let mut blank_run = 0;
    for line in lines {
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !text.is_empty() {
            text.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        text.push_str(&line);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_white_space_and_line_endings() {
        assert_eq!(normalize("  Hello \t  world  \r\n\r\n\r\n\r\nSecond\rline  "), "Hello world\n\nSecond\nline");
        assert_eq!(normalize("a\u{00a0}\u{00a0}b"), "a b");
    }

    #[test]
    fn composes_unicode_so_equal_words_are_equal_bytes() {
        let decomposed = "Cafe\u{0301} cre\u{0300}me";
        assert_eq!(normalize(decomposed), "Café crème");
        assert_eq!(normalize(decomposed), normalize("Café crème"));
    }

    #[test]
    fn drops_invisible_and_control_characters_but_keeps_emoji_joiners() {
        assert_eq!(normalize("\u{feff}he\u{200b}llo\u{0007}"), "hello");
        let family = "👩\u{200d}👩\u{200d}👧";
        assert_eq!(normalize(family), family);
    }

    #[test]
    fn white_space_only_becomes_empty() {
        assert_eq!(normalize(" \n\t \r\n "), "");
    }
}

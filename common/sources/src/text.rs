//! The text of a file as it was saved: UTF-8, UTF-16 with a byte-order mark, or a legacy encoding
//! (Windows-1252, ISO-8859-x, Shift_JIS, ...) told from its bytes, as notes written on older systems are.

use std::borrow::Cow;

/// The file's text, without a byte-order mark; `None` for bytes that are no text: binary (a NUL byte where no
/// mark says UTF-16, or control characters beyond one in a hundred), or in no encoding that reads them whole.
pub fn decode(bytes: &[u8]) -> Option<Cow<'_, str>> {
    if let Some((encoding, mark)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[mark..]);
        return (!had_errors && reads_as_text(&text)).then_some(text);
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return reads_as_text(text).then_some(Cow::Borrowed(text));
    }
    if bytes.contains(&0) {
        return None;
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    // Not UTF-8, as it did not read as such.
    let encoding = detector.guess(None, false);
    let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
    (!had_errors && reads_as_text(&text)).then_some(text)
}

/// Whether decoded characters read as text: control characters other than tabs and line and page breaks are at
/// most one in a hundred.
fn reads_as_text(text: &str) -> bool {
    let (mut characters, mut controls) = (0usize, 0usize);
    for character in text.chars() {
        characters += 1;
        controls += usize::from(character.is_control() && !matches!(character, '\t' | '\n' | '\r' | '\x0c'));
    }
    controls * 100 <= characters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utf8_with_or_without_a_mark_utf16_with_one_and_legacy_encodings() {
        assert_eq!(decode("Café with Omar".as_bytes()).as_deref(), Some("Café with Omar"));
        assert_eq!(decode(b"\xef\xbb\xbf## 2024-05-01\nA walk.").as_deref(), Some("## 2024-05-01\nA walk."));
        let utf16: Vec<u8> =
            [0xff, 0xfe].into_iter().chain("Notepad's Unicode".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        assert_eq!(decode(&utf16).as_deref(), Some("Notepad's Unicode"));
        let windows_1252 = b"Caf\xe9 au lait with Ren\xe9e, na\xefve as ever \x96 and \x93quoted\x94.";
        assert_eq!(
            decode(windows_1252).as_deref(),
            Some("Café au lait with Renée, naïve as ever – and \u{201c}quoted\u{201d}.")
        );
    }

    #[test]
    fn binary_is_no_text() {
        assert_eq!(decode(&[0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00]), None);
        let controls: Vec<u8> = (0..200u8).map(|at| if at % 20 == 0 { 0x01 } else { b'a' }).collect();
        assert_eq!(decode(&controls), None, "ten control characters in two hundred");
    }
}

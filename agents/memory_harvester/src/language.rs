//! Language identification of a memory's text.

use mneme_protocol::harvester::DetectedLanguage;

/// ISO 639-3 code for "undetermined".
pub const UNDETERMINED: &str = "und";

pub fn detect(text: &str) -> DetectedLanguage {
    match whatlang::detect(text) {
        Some(info) => DetectedLanguage {
            code: info.lang().code().to_owned(),
            name: info.lang().eng_name().to_owned(),
            confidence: info.confidence(),
            reliable: info.is_reliable(),
        },
        None => DetectedLanguage {
            code: UNDETERMINED.to_owned(),
            name: "Undetermined".to_owned(),
            confidence: 0.0,
            reliable: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_common_languages_apart() {
        assert_eq!(detect("I went to the market this morning and bought fresh bread for the family.").code, "eng");
        assert_eq!(detect("Heute Morgen bin ich zum Markt gegangen und habe frisches Brot gekauft.").code, "deu");
        assert_eq!(detect("Ce matin je suis allé au marché et j'ai acheté du pain frais.").code, "fra");
    }

    #[test]
    fn says_so_when_it_cannot_tell() {
        assert_eq!(detect("12345 !!!").code, UNDETERMINED);
    }
}

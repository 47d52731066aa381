//! Street addresses as people write them in English and in the languages of Europe: a number and a street
//! with its kind (`12 Baker Street`, `Laukaantie 80`, `ul. Miła 53`, `Rákóczi út 13.`), unit and box
//! designators, military post, and the `City, ST 12345` tail of US addresses.

use std::sync::LazyLock;

use regex::Regex;

use mneme_protocol::guardian::PiiEntityType;

use super::Finding;

/// Street kinds written after the name, in English (USPS's suffixes and their abbreviations).
const SUFFIXES_EN: &str = "street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|square|sq|terrace|ter|way|parkway|pkwy|highway|hwy|circle|cir|trail|trl|crescent|cres|close|row|plaza|plz|alley|aly|route|rte|pike|loop|run|path|walk|ridge|rdg|hill|hills|park|green|gardens|gdns|grove|grv|heights|hts|view|vw|point|pt|crossing|xing|junction|jct|mall|manor|mnr|meadow|meadows|mews|mill|mills|spring|springs|station|sta|valley|vly|village|vlg|villages|ville|vista|vis|wells|shore|shores|harbor|hbr|haven|isle|knoll|lake|lakes|landing|lndg|lodge|orchard|pass|pines|port|prairie|ranch|rapids|river|rest|shoal|stream|summit|trace|track|turnpike|tpke|union|creek|crk|cove|cv|canyon|cyn|cape|causeway|center|ctr|corner|corners|curve|dale|dam|estate|estates|expressway|expy|extension|falls|ferry|field|fields|flat|flats|ford|forest|forge|fort|freeway|fwy|garden|gateway|glen|hollow|inlet|island|islands|lock|locks|mount|mountain|mtn|oval|overpass|plain|plains|ramp|ville|wall|ways|wharf|quay|embankment|broadway|circus|gate|yard";
/// Street kinds that follow the name as a separate word, in other European languages.
const SUFFIXES_EU: &str = "út|utca|u\\.|útja|tér|tere|körút|krt\\.|sétány|köz|sor|straße|strasse|str\\.|gasse|weg|platz|allee|ring|damm|vej|gade|plads|gatan|vägen|väg|gata|gränd|veien|vegen|gate|tie|katu|kuja|polku|laan|straat|plein|gracht|kade|dreef|steeg";
/// Street kinds glued to the end of the name (`Laukaantie`, `Hauptstraße`, `Storgatan`).
const GLUED_EU: &str =
    "straße|strasse|gasse|weg|platz|allee|vej|gade|gatan|vägen|veien|vegen|gata|tie|katu|kuja|straat|laan|gracht";
/// Street kinds written before the name.
const PREFIXES: &str = "ul\\.|ulica|al\\.|aleja|pl\\.|plac|os\\.|osiedle|rue|avenue|av\\.|avda\\.?|boulevard|bd\\.?|chemin|allée|impasse|quai|via|viale|piazza|piazzale|corso|largo|vicolo|calle|c/|avenida|paseo|camino|carrer|rambla|plaza|rua|travessa|praça|largo|ulitsa|ul|náměstí|nám\\.|třída|nábřeží|ulice|πλατεία|οδός|λεωφόρος";

const NAME_WORD: &str = r"[\p{Lu}\p{N}][\p{L}\p{M}'’.\-]*";
const ANY_WORD: &str = r"[\p{L}\p{N}][\p{L}\p{M}'’.\-]*";
const NUMBER: &str = r"\d{1,5}(?:[/\-]\d{1,4})?[A-Za-z]?\.?";
/// House numbers, sometimes two (`124 67 Devon Street`, a building and a door).
const NUMBERS: &str = r"(?:\d{1,5}\s+)?\d{1,5}(?:[/\-]\d{1,4})?[A-Za-z]?\.?";
const UNIT: &str = r"(?:,?\s*(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|Floor|Fl\.?|Room|Rm\.?|#)\s*[\w\-]+)";
/// `, Springfield, IL 62704` or `Veszprém VE` or `SW1A 1AA`, after a street.
const TAIL: &str = r"(?:,?\s+(?:\p{Lu}[\p{L}\p{M}'’.\-]+\s?){1,3},?\s+[A-Z]{2}\b\.?(?:\s+\d{5}(?:-\d{4})?)?)";

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the address patterns are valid")
}

/// An alternation that tries longer words first, so that `útja` is not taken for `út` and the rest.
fn longest_first(words: &str) -> String {
    let mut alternatives: Vec<&str> = words.split('|').collect();
    alternatives.sort_by_key(|word| std::cmp::Reverse(word.len()));
    alternatives.join("|")
}

static ENGLISH: LazyLock<Regex> = LazyLock::new(|| {
    let suffixes_en = longest_first(SUFFIXES_EN);
    regex(&format!(r"\b{NUMBERS}\s+(?:{NAME_WORD}\s+){{0,4}}(?i:{suffixes_en})\b\.?{UNIT}?{TAIL}?"))
});
static EUROPEAN_SUFFIX: LazyLock<Regex> = LazyLock::new(|| {
    let suffixes_eu = longest_first(SUFFIXES_EU);
    regex(&format!(
        r"(?:\b{NUMBERS}\s+)?\b{NAME_WORD}\s+(?:{ANY_WORD}\s+){{0,3}}(?i:{suffixes_eu})(?:\s+{NUMBER})?{UNIT}?"
    ))
});
static EUROPEAN_GLUED: LazyLock<Regex> = LazyLock::new(|| {
    let glued = longest_first(GLUED_EU);
    regex(&format!(r"(?:\b{NUMBERS}\s+)?\b\p{{Lu}}[\p{{L}}\p{{M}}\-]*(?i:{glued})\s+{NUMBER}{UNIT}?"))
});
static PREFIXED: LazyLock<Regex> = LazyLock::new(|| {
    let prefixes = longest_first(PREFIXES);
    regex(&format!(
        r"(?:\b{NUMBERS},?\s+)?(?i:\b(?:{prefixes}))\s+(?:{ANY_WORD}\s+){{0,4}}(?:{NUMBER}|{NAME_WORD}){UNIT}?"
    ))
});
static MILITARY: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"\b(?:(?:Unit|PSC|USNS|USS|USCGC)\s+[\w ]{2,24}?(?:,?\s*Box\s+\d{3,5})?\s*\n?\s*)?(?:APO|FPO|DPO)\s+A[AEP]\s+\d{5}\b",
    )
});
static UNIT_ALONE: LazyLock<Regex> = LazyLock::new(|| regex(r"\b(?:Apt\.|Apartment|Suite|Ste\.)\s*\d[\w\-]*\b"));
static US_TAIL: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\b(?:\p{Lu}[\p{L}'.\-]+\s){0,2}\p{Lu}[\p{L}'.\-]+,\s+[A-Z]{2}\s+\d{5}(?:-\d{4})?\b"));
/// Words after which a place to go or send things follows.
static CUE: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)\b(?:address(?:\s+is)?:?|addresses|live[sd]?\s+(?:at|on)|lives\s+(?:at|on)|meet\s+(?:me|you|us)\s+at|sen[dt]\s+(?:it\s+|them\s+|this\s+|a\s+new\s+one\s+)?to|return\s+(?:it\s+)?to|corner\s+of|located\s+at|office\s+is\s+at|it\s+is\s+at|it's\s+(?:at|in)|it\s+is|drops?\s+you\s+off\s+at|taxi\s+to|deliver(?:ed)?\s+to|ship(?:ped)?\s+to|billing\s+address\s+with|and)\s+",
    )
});
/// After a cue: a street written as its name and a number (`Dalbraut 99`, `5638 Aasa 43`).
static NAME_AND_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    let suffixes_en = longest_first(SUFFIXES_EN);
    regex(&format!(
        r"^(?:{NUMBERS}\s+)?(?:{NAME_WORD}\s+){{1,3}}{NUMBER}(?:\s+(?:{NAME_WORD}\s+){{0,2}}(?i:{suffixes_en}))?{UNIT}?"
    ))
});
/// What may follow a street in the same address: units, post boxes, towns, regions, countries and postcodes,
/// split by commas and line breaks.
static CONTINUATION: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^(?:[ \t]*(?:,|\n)?[ \t]*(?:[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b|(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|Floor|Room|P\.?\s?O\.?\s+Box|Box|#)\s*[\w\-]+|\p{Lu}[\p{L}\p{M}'’.\-]*\b(?:[ \-](?:\p{Lu}[\p{L}\p{M}'’.\-]*\b|de|del|la|le|na|an|am|im|upon|on|sur|di|da))*(?:\s\d[\w\-]*)?|\([^)\n]{1,30}\)|[A-Z]{1,3}\.?|nan|\d{3,6}(?:[ \-]\d{2,4})?(?:\s[A-Z]{2})?))",
    )
});
static POSTCODE_CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)\b(?:zip|zip code|zipcode|postal code|postcode|post code)(?:\s+is)?:?\s+([A-Z0-9]{2,5}(?:[ \-][A-Z0-9]{2,4})?)\b",
    )
});

pub fn recognize(text: &str, findings: &mut Vec<Finding>) {
    let patterns: [(&Regex, f64); 6] = [
        (&ENGLISH, 0.8),
        (&EUROPEAN_SUFFIX, 0.7),
        (&EUROPEAN_GLUED, 0.75),
        (&PREFIXED, 0.7),
        (&MILITARY, 0.85),
        (&US_TAIL, 0.75),
    ];
    for (pattern, score) in patterns {
        for hit in pattern.find_iter(text) {
            let matched = hit.as_str().trim_end_matches([',', ' ']);
            if !plausible(matched)
                || inside_a_number(text, hit.start())
                || ends_in_a_title(text, hit.start() + matched.len())
            {
                continue;
            }
            findings.push(Finding {
                kind: PiiEntityType::StreetAddress,
                start: hit.start(),
                end: hit.start() + matched.len(),
                score,
            });
        }
    }
    for cue in CUE.find_iter(text) {
        let rest = &text[cue.end()..];
        if let Some(hit) = NAME_AND_NUMBER.find(rest)
            && plausible(hit.as_str())
        {
            findings.push(Finding {
                kind: PiiEntityType::StreetAddress,
                start: cue.end(),
                end: cue.end() + hit.end(),
                score: 0.6,
            });
        }
    }
    for finding in findings.iter_mut().filter(|finding| finding.kind == PiiEntityType::StreetAddress) {
        finding.end = continued(text, finding.end);
    }
    for hit in UNIT_ALONE.find_iter(text) {
        findings.push(Finding { kind: PiiEntityType::StreetAddress, start: hit.start(), end: hit.end(), score: 0.5 });
    }
    for captures in POSTCODE_CONTEXT.captures_iter(text) {
        let code = captures.get(1).expect("the pattern has a code group");
        if code.as_str().chars().any(|c| c.is_ascii_digit()) {
            findings.push(Finding {
                kind: PiiEntityType::StreetAddress,
                start: code.start(),
                end: code.end(),
                score: 0.6,
            });
        }
    }
}

/// Where an address that ends at `end` really ends: through the units, towns, regions, countries and
/// postcodes after it, at most five parts.
fn continued(text: &str, mut end: usize) -> usize {
    for _ in 0..5 {
        match CONTINUATION.find(&text[end..]) {
            Some(part) if !part.as_str().trim().is_empty() && !common_words(part.as_str()) => end += part.end(),
            _ => break,
        }
    }
    end
}

/// Words that continue the sentence rather than the address (`Please`, `The`, `I`).
fn common_words(part: &str) -> bool {
    let first = part.trim_start_matches([' ', '\t', ',', '\n']).split_whitespace().next().unwrap_or("");
    matches!(
        first,
        "I" | "Please"
            | "The"
            | "Thanks"
            | "Thank"
            | "We"
            | "You"
            | "It"
            | "This"
            | "My"
            | "Mobile:"
            | "Desk:"
            | "Fax:"
            | "Phone:"
            | "Mobile"
            | "Desk"
            | "Fax"
            | "Phone"
            | "Email"
            | "E-mail"
            | "Website"
    )
}

/// `12/03/2024`: a match that starts in the middle of a number or a date is neither.
fn inside_a_number(text: &str, start: usize) -> bool {
    text[..start].chars().next_back().is_some_and(|c| c.is_ascii_digit() || matches!(c, '/' | '-' | '.' | ':'))
}

/// `Dr. Feldman`: the abbreviation of Drive is also a title.
fn ends_in_a_title(text: &str, end: usize) -> bool {
    let matched = text[..end].trim_end_matches('.');
    let title_word = matched.rsplit(char::is_whitespace).next().is_some_and(|word| word == "Dr");
    title_word && text[end..].trim_start_matches('.').trim_start().starts_with(char::is_uppercase)
}

/// An address has a number somewhere, and more than a number and a word such as `5 St`.
fn plausible(matched: &str) -> bool {
    matched.chars().any(|c| c.is_ascii_digit()) && matched.split_whitespace().count() >= 2 && matched.len() >= 6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(text: &str) -> Vec<String> {
        let mut findings = Vec::new();
        recognize(text, &mut findings);
        findings.into_iter().map(|finding| text[finding.start..finding.end].to_owned()).collect()
    }

    #[test]
    fn english_addresses_with_units_and_tails() {
        let found = addresses("Send it to 742 Evergreen Terrace, Springfield, IL 62704 by Friday.");
        assert!(found.contains(&"742 Evergreen Terrace, Springfield, IL 62704".to_owned()), "{found:?}");
        let found = addresses("My new address is 221B Baker Street, London NW1 6XE. Come by.");
        assert!(found.contains(&"221B Baker Street, London NW1 6XE".to_owned()), "{found:?}");
        let found = addresses("We live at 1600 Pennsylvania Ave Apt. 4B now.");
        assert!(found.contains(&"1600 Pennsylvania Ave Apt. 4B".to_owned()), "{found:?}");
        assert!(addresses("Unit 5146 Box 1772\nDPO AE 91410").contains(&"Unit 5146 Box 1772\nDPO AE 91410".to_owned()));
    }

    #[test]
    fn european_addresses() {
        assert!(addresses("Meet me at Laukaantie 80 tomorrow").contains(&"Laukaantie 80".to_owned()));
        assert!(
            addresses("She moved to ul. Biskupa Bogedaina 118 in May").iter().any(|a| a.starts_with("ul. Biskupa"))
        );
        assert!(addresses("Árpád fejedelem útja 3. is far").iter().any(|a| a.ends_with("útja 3.")));
        assert!(addresses("The office is at Hauptstraße 5.").contains(&"Hauptstraße 5.".to_owned()));
    }

    #[test]
    fn words_alone_are_not_addresses() {
        assert!(addresses("I went down the road to the park.").is_empty());
        assert!(addresses("Top 5 St").is_empty());
        assert!(addresses("Moved to 14:30 on 12/03/2024. Dr. Feldman called.").is_empty());
    }
}

//! How text becomes index terms, the same for memories and for queries: words split on anything not a letter
//! or digit, folded to lower-case ASCII, irregular verbs brought to their base form, stop words and question
//! words dropped, and the rest stemmed (Snowball English), so that "hiking", "hikes" and "hiked" meet, and
//! "ran" and "run".

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
    Token, TokenFilter, TokenStream, Tokenizer,
};

/// Words that carry no subject in a question or a chat line: NLTK's English stop words, with the question
/// words, the fillers of conversation and the indefinite pronouns.
static STOP_WORDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    const CONVERSATION: [&str; 56] = [
        "would",
        "could",
        "should",
        "might",
        "must",
        "shall",
        "may",
        "also",
        "yeah",
        "yes",
        "ok",
        "okay",
        "oh",
        "hey",
        "hi",
        "hello",
        "lol",
        "haha",
        "really",
        "just",
        "like",
        "get",
        "got",
        "go",
        "going",
        "went",
        "one",
        "know",
        "think",
        "thing",
        "things",
        "much",
        "many",
        "ever",
        "happen",
        "happened",
        "happens",
        "say",
        "said",
        "tell",
        "told",
        "mention",
        "mentioned",
        "remember",
        "recall",
        "everything",
        "anything",
        "something",
        "nothing",
        "everyone",
        "anyone",
        "someone",
        "everybody",
        "anybody",
        "somebody",
        "nobody",
    ];
    stop_words::lookup("en").unwrap_or_default().iter().copied().chain(CONVERSATION).map(str::to_owned).collect()
});

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        // Before the stop words, so that "gone" goes the way of "go".
        .filter(IrregularVerbs)
        .filter(StopWordFilter::remove(STOP_WORDS.iter().cloned()))
        .filter(Stemmer::new(Language::English))
        .build()
}

/// Each irregular English verb with its past forms, where the stemmer cannot tell that they are one word. Left
/// out are forms that are as often a word of their own ("left", "saw", "felt", "found", "fell", "rose", "lay",
/// "thought", "shot", "bit", "spoke", "stuck", "tore", "sat" for Saturday), which would otherwise meet a verb
/// they do not mean.
const IRREGULAR_VERBS: &[(&str, &[&str])] = &[
    ("arise", &["arose", "arisen"]),
    ("awake", &["awoke", "awoken"]),
    ("beat", &["beaten"]),
    ("become", &["became"]),
    ("begin", &["began", "begun"]),
    ("bend", &["bent"]),
    ("bite", &["bitten"]),
    ("bleed", &["bled"]),
    ("blow", &["blew", "blown"]),
    ("break", &["broke", "broken"]),
    ("breed", &["bred"]),
    ("bring", &["brought"]),
    ("build", &["built"]),
    ("burn", &["burnt"]),
    ("buy", &["bought"]),
    ("catch", &["caught"]),
    ("choose", &["chose", "chosen"]),
    ("cling", &["clung"]),
    ("come", &["came"]),
    ("creep", &["crept"]),
    ("deal", &["dealt"]),
    ("dig", &["dug"]),
    ("draw", &["drew", "drawn"]),
    ("dream", &["dreamt"]),
    ("drink", &["drank", "drunk"]),
    ("drive", &["drove", "driven"]),
    ("eat", &["ate", "eaten"]),
    ("feed", &["fed"]),
    ("fight", &["fought"]),
    ("flee", &["fled"]),
    ("fly", &["flew", "flown"]),
    ("forbid", &["forbade", "forbidden"]),
    ("forget", &["forgot", "forgotten"]),
    ("forgive", &["forgave", "forgiven"]),
    ("freeze", &["froze", "frozen"]),
    ("give", &["gave", "given"]),
    ("go", &["gone"]),
    ("grow", &["grew", "grown"]),
    ("hang", &["hung"]),
    ("hear", &["heard"]),
    ("hide", &["hid", "hidden"]),
    ("hold", &["held"]),
    ("keep", &["kept"]),
    ("kneel", &["knelt"]),
    ("know", &["knew", "known"]),
    ("lead", &["led"]),
    ("leap", &["leapt"]),
    ("learn", &["learnt"]),
    ("lose", &["lost"]),
    ("make", &["made"]),
    ("mean", &["meant"]),
    ("meet", &["met"]),
    ("overcome", &["overcame"]),
    ("pay", &["paid"]),
    ("ride", &["rode", "ridden"]),
    ("ring", &["rang", "rung"]),
    ("run", &["ran"]),
    ("seek", &["sought"]),
    ("sell", &["sold"]),
    ("send", &["sent"]),
    ("shake", &["shook", "shaken"]),
    ("shine", &["shone"]),
    ("shrink", &["shrank", "shrunk"]),
    ("sing", &["sang", "sung"]),
    ("sink", &["sank", "sunk"]),
    ("sleep", &["slept"]),
    ("slide", &["slid"]),
    ("spend", &["spent"]),
    ("spin", &["spun"]),
    ("stand", &["stood"]),
    ("steal", &["stole", "stolen"]),
    ("sting", &["stung"]),
    ("strike", &["struck"]),
    ("swear", &["swore", "sworn"]),
    ("sweep", &["swept"]),
    ("swim", &["swam", "swum"]),
    ("swing", &["swung"]),
    ("take", &["took", "taken"]),
    ("teach", &["taught"]),
    ("throw", &["threw", "thrown"]),
    ("understand", &["understood"]),
    ("wake", &["woke", "woken"]),
    ("wear", &["wore", "worn"]),
    ("weep", &["wept"]),
    ("withdraw", &["withdrew", "withdrawn"]),
    ("write", &["wrote", "written"]),
];

/// The version of how text becomes terms, kept with each memory indexed: 1 brought irregular verbs to their base
/// form. Bumped with every change that would leave the terms kept before it unmet by questions read after it.
pub const ANALYSIS: u32 = 1;

/// Terms `kept` that analysis `made_by` made, as the current one makes them.
pub fn current_terms(kept: Vec<String>, made_by: u32) -> Vec<String> {
    // Before 1, an irregular past form was kept as its stem ("ran", "broke"); now it is its verb's term, or none
    // when that is a stop word ("gone": "go").
    static FROM_BEFORE_IRREGULAR_VERBS: LazyLock<HashMap<String, Option<String>>> = LazyLock::new(|| {
        let mut stemmer =
            TextAnalyzer::builder(SimpleTokenizer::default()).filter(Stemmer::new(Language::English)).build();
        let mut stem = |word: &str| {
            let mut stream = stemmer.token_stream(word);
            if stream.advance() { stream.token().text.clone() } else { String::new() }
        };
        IRREGULAR_VERBS
            .iter()
            .flat_map(|(base, forms)| {
                let now = terms(base).into_iter().next();
                forms.iter().map(|form| (stem(form), now.clone())).collect::<Vec<_>>()
            })
            .collect()
    });
    if made_by >= 1 {
        return kept;
    }
    kept.into_iter()
        .filter_map(|term| match FROM_BEFORE_IRREGULAR_VERBS.get(&term) {
            Some(now) => now.clone(),
            None => Some(term),
        })
        .collect()
}

/// The base form of `word` (lower case) when it is a past form of one of [`IRREGULAR_VERBS`].
pub fn irregular_base(word: &str) -> Option<&'static str> {
    static BASE_OF: LazyLock<HashMap<&str, &str>> = LazyLock::new(|| {
        IRREGULAR_VERBS.iter().flat_map(|(base, forms)| forms.iter().map(move |form| (*form, *base))).collect()
    });
    BASE_OF.get(word).copied()
}

/// Brings the past forms of [`IRREGULAR_VERBS`] to their base form.
#[derive(Clone)]
struct IrregularVerbs;

impl TokenFilter for IrregularVerbs {
    type Tokenizer<T: Tokenizer> = IrregularVerbsFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> Self::Tokenizer<T> {
        IrregularVerbsFilter(tokenizer)
    }
}

#[derive(Clone)]
struct IrregularVerbsFilter<T>(T);

impl<T: Tokenizer> Tokenizer for IrregularVerbsFilter<T> {
    type TokenStream<'a> = IrregularVerbsStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        IrregularVerbsStream(self.0.token_stream(text))
    }
}

struct IrregularVerbsStream<S>(S);

impl<S: TokenStream> TokenStream for IrregularVerbsStream<S> {
    fn advance(&mut self) -> bool {
        if !self.0.advance() {
            return false;
        }
        if let Some(base) = irregular_base(&self.0.token().text) {
            let text = &mut self.0.token_mut().text;
            text.clear();
            text.push_str(base);
        }
        true
    }

    fn token(&self) -> &Token {
        self.0.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.0.token_mut()
    }
}

thread_local! {
    static ANALYZER: RefCell<TextAnalyzer> = RefCell::new(analyzer());
}

/// The index terms of `text`, in order, repeats kept.
pub fn terms(text: &str) -> Vec<String> {
    ANALYZER.with(|analyzer| {
        let mut analyzer = analyzer.borrow_mut();
        let mut stream = analyzer.token_stream(text);
        let mut terms = Vec::new();
        while stream.advance() {
            terms.push(stream.token().text.clone());
        }
        terms
    })
}

/// Whether an index term says nothing of what a memory is about: words that say when ("week", "monday",
/// "tonight", "already"; a question's time is read from its wording, by `when`), how much ("bit", "lot") or
/// how sure or how far ("well" of "oh well", "finally", "even", "maybe"), and numbers ("2024", "11th"). Such
/// words are kept in the index, where a question may name them, but make no topic of a period and no word to
/// widen a question with.
pub fn says_no_subject(term: &str) -> bool {
    static TERMS: LazyLock<HashSet<String>> = LazyLock::new(|| {
        const AMOUNTS: [&str; 6] = ["bit", "bits", "lot", "lots", "plenty", "bunch"];
        const DEGREES: [&str; 13] = [
            "well", "even", "finally", "quite", "pretty", "rather", "almost", "enough", "actually", "maybe", "perhaps",
            "anyway", "though",
        ];
        super::when::words_of_time().chain(AMOUNTS).chain(DEGREES).flat_map(terms).collect()
    });
    let number = ["st", "nd", "rd", "th"].iter().find_map(|suffix| term.strip_suffix(suffix)).unwrap_or(term);
    TERMS.contains(term) || (!number.is_empty() && number.chars().all(|c| c.is_ascii_digit()))
}

/// Whether `word` (any case) is a stop word.
pub fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.contains(&word.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflections_meet_and_questions_lose_their_question_words() {
        assert_eq!(terms("Hiking, hikes; HIKED!"), ["hike", "hike", "hike"]);
        assert_eq!(terms("Ran, run, running; swam, swum"), ["run", "run", "run", "swim", "swim"]);
        assert_eq!(
            terms("It has gone; Tuesday, I left"),
            ["tuesday", "left"],
            "a form as often a word of its own stays"
        );
        assert_eq!(terms("What did I say about the café?"), ["cafe"]);
        assert!(terms("").is_empty());
        assert!(is_stop_word("What"));
    }

    #[test]
    fn terms_kept_before_irregular_verbs_meet_questions_read_after() {
        let text = "Ran the marathon, bought shoes; it has gone";
        let before: Vec<String> = ["ran", "marathon", "bought", "shoe", "gone"].map(str::to_owned).into();
        assert_eq!(current_terms(before, 0), terms(text));
        assert_eq!(current_terms(terms(text), ANALYSIS), terms(text));
    }

    #[test]
    fn each_irregular_form_is_its_verb_and_no_stop_word() {
        for (base, forms) in IRREGULAR_VERBS {
            for form in *forms {
                // A stop word ("won", as in "won't") would come back as its verb's term.
                assert!(!is_stop_word(form), "{form}");
                assert_eq!(terms(form), terms(base), "{form}");
            }
        }
    }

    #[test]
    fn words_of_time_amount_and_degree_say_no_subject() {
        for word in
            ["week", "Monday", "tonight", "already", "lately", "bit", "lots", "well", "finally", "2024", "11th", "3rd"]
        {
            let term = &terms(word)[0];
            assert!(says_no_subject(term), "{word} ({term})");
        }
        for word in ["kiln", "pottery", "Lisbon", "dinner", "10k", "north"] {
            assert!(!says_no_subject(&terms(word)[0]), "{word}");
        }
    }
}

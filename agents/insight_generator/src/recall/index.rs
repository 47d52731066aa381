//! One owner's memories in a tantivy index held in memory: their terms ranked by BM25, with the people, time,
//! kind of source and sensitivity of each to filter and weigh by. It is rebuilt from the owner's ledger when a
//! replica first needs it, and kept current from the ledger's changes.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, NumericOptions, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use mneme_protocol::guardian::Sensitivity;
use mneme_protocol::harvester::SourceKind;
use mneme_runtime::ledger::Entry;
use mneme_sources::correspondents::Correspondent;

/// What the insight generator keeps of a memory to find it again: no text, only its index terms, its people
/// and where and when it came from (the snippet of a result is read through the guardian).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indexed {
    pub occurred_at: Option<String>,
    pub terms: Vec<String>,
    /// The author and the participants, as written.
    pub people: Vec<String>,
    /// Who wrote it, when the source says; none for the owner's own notes and journals.
    #[serde(default)]
    pub author: Option<String>,
    pub source: Option<String>,
    pub kind: SourceKind,
    pub sensitivity: Sensitivity,
    /// The analysis its terms were made by ([`super::text::ANALYSIS`] then); 0 for memories indexed before it
    /// was kept.
    #[serde(default)]
    pub analysis: u32,
}

impl Entry for Indexed {
    fn occurred_at(&self) -> Option<&str> {
        self.occurred_at.as_deref()
    }
}

impl Indexed {
    /// Seconds since the Unix epoch, when the memory is dated.
    pub fn timestamp(&self) -> Option<i64> {
        self.occurred_at.as_deref().and_then(|at| at.parse::<jiff::Timestamp>().ok()).map(|at| at.as_second())
    }

    /// The same with its terms as the current analysis makes them, so that a memory indexed before a change
    /// to it still meets the questions read after.
    pub fn in_current_terms(mut self) -> Self {
        if self.analysis < super::text::ANALYSIS {
            self.terms = super::text::current_terms(std::mem::take(&mut self.terms), self.analysis);
            self.analysis = super::text::ANALYSIS;
        }
        self
    }

    /// The tokens of its people's names, organizations left out: mail from an employer's HR is from no one a
    /// question can be about. Judged as the index is built, so that memories indexed before the rule are judged
    /// by it too.
    pub fn person_tokens(&self) -> impl Iterator<Item = String> + '_ {
        self.people
            .iter()
            .filter(|name| !Correspondent::parse(name).is_organization())
            .flat_map(|name| name_tokens(name))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the search index failed: {0}")]
pub struct IndexError(String);

impl From<tantivy::TantivyError> for IndexError {
    fn from(error: tantivy::TantivyError) -> Self {
        IndexError(error.to_string())
    }
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    terms: Field,
    people: Field,
    at: Field,
    kind: Field,
    sensitivity: Field,
    /// 1 when the owner wrote the memory.
    own: Field,
}

/// A person's name as the index holds it: lower case, one token per word.
pub fn name_tokens(name: &str) -> impl Iterator<Item = String> + '_ {
    name.split(|c: char| !c.is_alphanumeric() && c != '@' && c != '.')
        .map(|word| word.trim_matches('.').to_lowercase())
        .filter(|word| !word.is_empty())
}

/// How to narrow a search, whatever its words.
#[derive(Debug, Clone, Default)]
pub struct Narrowing {
    /// Seconds since the epoch: from (inclusive), until (exclusive).
    pub from: Option<i64>,
    pub until: Option<i64>,
    /// People a memory must be written by or with, one of them at least: each a name's tokens, all of which
    /// the memory's people must hold.
    pub people: Vec<Vec<String>>,
    pub kinds: Vec<SourceKind>,
    pub max_sensitivity: Option<Sensitivity>,
    /// Only what the owner wrote.
    pub own_words_only: bool,
}

/// A memory found, with its score.
#[derive(Debug, Clone)]
pub struct Found {
    pub memory_id: String,
    pub score: f32,
}

/// Where a chat turn stands in its conversation: the conversation (its people), then time, then the turn's
/// source locator in natural order (`D1:9` before `D1:10`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct TurnPlace {
    conversation: String,
    at: i64,
    source: Vec<Segment>,
    memory_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Number(u64),
    Text(String),
}

/// A memory's source locator (or id) in natural order, for sorting memories that happened at one time.
pub fn natural_order(memory_id: &str, index: &OwnerIndex) -> Vec<impl Ord + use<>> {
    let source = index.entry(memory_id).and_then(|entry| entry.source.clone());
    natural(source.as_deref().unwrap_or(memory_id))
}

fn natural(source: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut rest = source;
    while let Some(first) = rest.chars().next() {
        let digits = first.is_ascii_digit();
        let end = rest.find(|c: char| c.is_ascii_digit() != digits).unwrap_or(rest.len());
        let (run, after) = rest.split_at(end);
        segments.push(match run.parse() {
            Ok(number) if digits => Segment::Number(number),
            _ => Segment::Text(run.to_owned()),
        });
        rest = after;
    }
    segments
}

impl TurnPlace {
    /// Chat turns only: other memories stand on their own.
    fn of(memory_id: &str, entry: &Indexed) -> Option<TurnPlace> {
        if entry.kind != SourceKind::Chat {
            return None;
        }
        let mut people: Vec<String> = entry.people.iter().map(|person| person.to_lowercase()).collect();
        people.sort_unstable();
        people.dedup();
        Some(TurnPlace {
            conversation: people.join("|"),
            at: entry.timestamp().unwrap_or(i64::MIN),
            source: natural(entry.source.as_deref().unwrap_or(memory_id)),
            memory_id: memory_id.to_owned(),
        })
    }
}

/// Turns further apart than this are not one conversation, whatever their people.
const CONVERSATION_GAP_SECONDS: i64 = 6 * 3600;

pub struct OwnerIndex {
    owner: String,
    fields: Fields,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    entries: RwLock<HashMap<String, Arc<Indexed>>>,
    /// Chat turns in conversation order.
    turns: RwLock<std::collections::BTreeSet<TurnPlace>>,
    /// Every name token of the owner's people, with how many memories hold it.
    people: RwLock<BTreeMap<String, usize>>,
    /// Memories added since the last change was made visible: taken in by the next [`OwnerIndex::apply`] or
    /// [`OwnerIndex::flush`], so that a stream of single memories costs one commit per search, not one each.
    staged: Mutex<Vec<(String, Indexed)>>,
}

impl std::fmt::Debug for OwnerIndex {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("OwnerIndex").field("memories", &self.len()).finish()
    }
}

/// Staged memories made visible at once, whether or not a question comes.
const MAX_STAGED: usize = 2_000;

/// Memory the writer may use before it flushes a segment: tantivy's least.
const WRITER_HEAP_BYTES: usize = 15_000_000;

fn sensitivity_rank(sensitivity: Sensitivity) -> u64 {
    match sensitivity {
        Sensitivity::Public => 0,
        Sensitivity::Personal => 1,
        Sensitivity::Sensitive => 2,
        Sensitivity::Secret => 3,
    }
}

impl OwnerIndex {
    /// An empty index of `owner`'s memories.
    pub fn new(owner: &str) -> Result<Self, IndexError> {
        let mut schema = Schema::builder();
        let id = schema.add_text_field("id", STRING | STORED);
        let terms = schema.add_text_field(
            "terms",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default().set_tokenizer("whitespace").set_index_option(IndexRecordOption::WithFreqs),
            ),
        );
        let people = schema.add_text_field("people", STRING);
        let at = schema.add_i64_field("at", NumericOptions::default().set_indexed().set_fast());
        let kind = schema.add_text_field("kind", STRING);
        let sensitivity = schema.add_u64_field("sensitivity", INDEXED);
        let own = schema.add_u64_field("own", INDEXED);
        let index = Index::create_in_ram(schema.build());
        let writer = index.writer_with_num_threads(1, WRITER_HEAP_BYTES)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(OwnerIndex {
            owner: owner.to_owned(),
            fields: Fields { id, terms, people, at, kind, sensitivity, own },
            reader,
            writer: Mutex::new(writer),
            entries: RwLock::default(),
            turns: RwLock::default(),
            people: RwLock::default(),
            staged: Mutex::default(),
        })
    }

    pub fn len(&self) -> usize {
        self.entries.read().expect("unpoisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, memory_id: &str) -> bool {
        self.entries.read().expect("unpoisoned").contains_key(memory_id)
    }

    /// Keeps a memory to be added with the next change made visible; makes them all visible once
    /// [`MAX_STAGED`] have gathered.
    pub fn stage(&self, memory_id: String, entry: Indexed) -> Result<(), IndexError> {
        let gathered = {
            let mut staged = self.staged.lock().expect("unpoisoned");
            staged.push((memory_id, entry));
            staged.len()
        };
        if gathered >= MAX_STAGED {
            self.flush()?;
        }
        Ok(())
    }

    /// Makes staged memories visible to searches.
    pub fn flush(&self) -> Result<usize, IndexError> {
        if self.staged.lock().expect("unpoisoned").is_empty() {
            return Ok(0);
        }
        self.apply([], [])
    }

    /// Every memory held, with what is kept of it.
    pub fn entries(&self) -> Vec<(String, Arc<Indexed>)> {
        self.entries.read().expect("unpoisoned").iter().map(|(id, entry)| (id.clone(), entry.clone())).collect()
    }

    pub fn entry(&self, memory_id: &str) -> Option<Arc<Indexed>> {
        self.entries.read().expect("unpoisoned").get(memory_id).cloned()
    }

    /// Adds the memories not yet held and removes those named in `removed`, then makes the change visible to
    /// searches; returns how many were added.
    pub fn apply(
        &self,
        added: impl IntoIterator<Item = (String, Indexed)>,
        removed: impl IntoIterator<Item = String>,
    ) -> Result<usize, IndexError> {
        let mut writer = self.writer.lock().expect("unpoisoned");
        let removed: Vec<String> = removed.into_iter().collect();
        let mut staged = std::mem::take(&mut *self.staged.lock().expect("unpoisoned"));
        staged.retain(|(memory_id, _)| !removed.contains(memory_id));
        let added = staged.into_iter().chain(added);
        let mut entries = self.entries.write().expect("unpoisoned");
        let mut people = self.people.write().expect("unpoisoned");
        let mut turns = self.turns.write().expect("unpoisoned");
        let mut changed = 0;
        for memory_id in removed {
            if let Some(entry) = entries.remove(&memory_id) {
                writer.delete_term(Term::from_field_text(self.fields.id, &memory_id));
                if let Some(place) = TurnPlace::of(&memory_id, &entry) {
                    turns.remove(&place);
                }
                for token in entry.person_tokens() {
                    if let Some(count) = people.get_mut(&token) {
                        *count = count.saturating_sub(1);
                        if *count == 0 {
                            people.remove(&token);
                        }
                    }
                }
                changed += 1;
            }
        }
        let mut added_count = 0;
        for (memory_id, entry) in added {
            if entries.contains_key(&memory_id) {
                continue;
            }
            let entry = entry.in_current_terms();
            let person_tokens: Vec<String> = entry.person_tokens().collect();
            writer.add_document(self.document(&memory_id, &entry, &person_tokens))?;
            for token in person_tokens {
                *people.entry(token).or_default() += 1;
            }
            if let Some(place) = TurnPlace::of(&memory_id, &entry) {
                turns.insert(place);
            }
            entries.insert(memory_id, Arc::new(entry));
            added_count += 1;
        }
        if changed + added_count > 0 {
            writer.commit()?;
            self.reader.reload()?;
        }
        Ok(added_count)
    }

    fn document(&self, memory_id: &str, entry: &Indexed, person_tokens: &[String]) -> TantivyDocument {
        let fields = self.fields;
        let mut document = TantivyDocument::default();
        document.add_text(fields.id, memory_id);
        document.add_text(fields.terms, entry.terms.join(" "));
        for token in person_tokens {
            document.add_text(fields.people, token);
        }
        if let Some(at) = entry.timestamp() {
            document.add_i64(fields.at, at);
        }
        document.add_text(fields.kind, entry.kind.as_str());
        document.add_u64(fields.sensitivity, sensitivity_rank(entry.sensitivity));
        let own = mneme_protocol::harvester::written_by_owner(entry.author.as_deref(), &self.owner, &[]);
        document.add_u64(fields.own, u64::from(own));
        document
    }

    /// The turns around a chat turn in its conversation: up to `reach` before it, nearest first, and up to
    /// `reach` after it, nearest first.
    pub fn neighbours(&self, memory_id: &str, reach: usize) -> (Vec<String>, Vec<String>) {
        let Some(entry) = self.entry(memory_id) else { return (Vec::new(), Vec::new()) };
        let Some(place) = TurnPlace::of(memory_id, &entry) else { return (Vec::new(), Vec::new()) };
        let turns = self.turns.read().expect("unpoisoned");
        let near = |other: &&TurnPlace| {
            other.conversation == place.conversation && (other.at - place.at).abs() <= CONVERSATION_GAP_SECONDS
        };
        let before = turns.range(..place.clone()).rev().take(reach).take_while(near);
        let after = turns.range(place.clone()..).skip(1).take(reach).take_while(near);
        (before.map(|turn| turn.memory_id.clone()).collect(), after.map(|turn| turn.memory_id.clone()).collect())
    }

    /// Whether `token` (lower case) is part of the name of someone in the owner's memories.
    pub fn knows_person(&self, token: &str) -> bool {
        self.people.read().expect("unpoisoned").contains_key(token)
    }

    /// How many of the owner's memories hold `term`.
    pub fn document_frequency(&self, term: &str) -> u64 {
        let searcher = self.reader.searcher();
        searcher.doc_freq(&Term::from_field_text(self.fields.terms, term)).unwrap_or(0)
    }

    /// The best `limit` memories for `terms` (each with its weight) and the people named (`people`, weighed by
    /// `people_weight`), within `narrowing`. With neither terms nor people, every memory within `narrowing`
    /// scores alike.
    pub fn search(
        &self,
        terms: &[(String, f32)],
        people: &[String],
        people_weight: f32,
        narrowing: &Narrowing,
        limit: usize,
    ) -> Result<Vec<Found>, IndexError> {
        let query = self.query(terms, people, people_weight, narrowing);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        self.found(&searcher, top)
    }

    /// The `limit` latest (or earliest) dated memories that hold any of `terms` or `people`, within
    /// `narrowing`, in that order and each scored 1: "when did I last see Omar?" of someone with years of chats.
    pub fn search_by_date(
        &self,
        terms: &[(String, f32)],
        people: &[String],
        people_weight: f32,
        narrowing: &Narrowing,
        latest_first: bool,
        limit: usize,
    ) -> Result<Vec<Found>, IndexError> {
        let mut dated = narrowing.clone();
        // Undated memories stand at the smallest time: they answer no "when".
        dated.from = Some(dated.from.unwrap_or(i64::MIN).max(i64::MIN + 1));
        let query = self.query(terms, people, people_weight, &dated);
        let searcher = self.reader.searcher();
        let order = if latest_first { tantivy::Order::Desc } else { tantivy::Order::Asc };
        let by_date = TopDocs::with_limit(limit.max(1)).order_by_fast_field::<i64>("at", order);
        let top = searcher.search(&query, &by_date)?;
        self.found(&searcher, top.into_iter().map(|(_, address)| (1.0, address)).collect())
    }

    fn found(
        &self,
        searcher: &tantivy::Searcher,
        top: Vec<(f32, tantivy::DocAddress)>,
    ) -> Result<Vec<Found>, IndexError> {
        let mut found = Vec::with_capacity(top.len());
        for (score, address) in top {
            let document: TantivyDocument = searcher.doc(address)?;
            if let Some(memory_id) = document.get_first(self.fields.id).and_then(|value| value.as_str()) {
                found.push(Found { memory_id: memory_id.to_owned(), score });
            }
        }
        Ok(found)
    }

    fn query(
        &self,
        terms: &[(String, f32)],
        people: &[String],
        people_weight: f32,
        narrowing: &Narrowing,
    ) -> BooleanQuery {
        let fields = self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut scoring: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (term, weight) in terms {
            let query = TermQuery::new(Term::from_field_text(fields.terms, term), IndexRecordOption::WithFreqs);
            scoring.push((Occur::Should, Box::new(BoostQuery::new(Box::new(query), *weight))));
        }
        for token in people {
            let query = TermQuery::new(Term::from_field_text(fields.people, token), IndexRecordOption::Basic);
            scoring.push((Occur::Should, Box::new(BoostQuery::new(Box::new(query), people_weight))));
        }
        if scoring.is_empty() {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        } else {
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(scoring))));
        }
        if narrowing.from.is_some() || narrowing.until.is_some() {
            let bound = |at: Option<i64>, inclusive: bool| match at {
                Some(at) if inclusive => Bound::Included(Term::from_field_i64(fields.at, at)),
                Some(at) => Bound::Excluded(Term::from_field_i64(fields.at, at)),
                None => Bound::Unbounded,
            };
            let range = RangeQuery::new(bound(narrowing.from, true), bound(narrowing.until, false));
            clauses.push((Occur::Must, Box::new(range)));
        }
        let any_of = |field: Field, values: Vec<String>| -> Box<dyn Query> {
            Box::new(BooleanQuery::new(
                values
                    .iter()
                    .map(|value| {
                        let query: Box<dyn Query> =
                            Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic));
                        (Occur::Should, query)
                    })
                    .collect(),
            ))
        };
        if !narrowing.people.is_empty() {
            let names = narrowing
                .people
                .iter()
                .map(|tokens| {
                    let all: Vec<(Occur, Box<dyn Query>)> = tokens
                        .iter()
                        .map(|token| {
                            let query: Box<dyn Query> = Box::new(TermQuery::new(
                                Term::from_field_text(fields.people, token),
                                IndexRecordOption::Basic,
                            ));
                            (Occur::Must, query)
                        })
                        .collect();
                    let name: Box<dyn Query> = Box::new(BooleanQuery::new(all));
                    (Occur::Should, name)
                })
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(names))));
        }
        if !narrowing.kinds.is_empty() {
            let kinds = narrowing.kinds.iter().map(|kind| kind.as_str().to_owned()).collect();
            clauses.push((Occur::Must, any_of(fields.kind, kinds)));
        }
        if let Some(max) = narrowing.max_sensitivity {
            let range = RangeQuery::new(
                Bound::Included(Term::from_field_u64(fields.sensitivity, 0)),
                Bound::Included(Term::from_field_u64(fields.sensitivity, sensitivity_rank(max))),
            );
            clauses.push((Occur::Must, Box::new(range)));
        }
        if narrowing.own_words_only {
            let own = TermQuery::new(Term::from_field_u64(fields.own, 1), IndexRecordOption::Basic);
            clauses.push((Occur::Must, Box::new(own)));
        }
        BooleanQuery::new(clauses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_follow_in_natural_order() {
        assert!(natural("D1:9") < natural("D1:10"));
        let index = OwnerIndex::new("maya").unwrap();
        let turn = |source: &str| Indexed {
            occurred_at: Some("2023-01-01T10:00:00Z".to_owned()),
            terms: vec!["word".to_owned()],
            people: vec!["Omar".to_owned(), "Maya".to_owned()],
            author: Some("Omar".to_owned()),
            source: Some(source.to_owned()),
            kind: SourceKind::Chat,
            sensitivity: Sensitivity::Personal,
            analysis: crate::recall::text::ANALYSIS,
        };
        let added = ["D1:10", "D1:9", "D1:11", "D1:8"].map(|source| (source.to_owned(), turn(source)));
        index.apply(added, []).unwrap();
        assert_eq!(
            index.neighbours("D1:10", 2),
            (vec!["D1:9".to_owned(), "D1:8".to_owned()], vec!["D1:11".to_owned()])
        );
    }

    fn entry(text: &str, at: &str, people: &[&str]) -> Indexed {
        Indexed {
            occurred_at: Some(at.to_owned()),
            terms: crate::recall::text::terms(text),
            people: people.iter().map(|person| (*person).to_owned()).collect(),
            author: None,
            source: None,
            kind: SourceKind::Chat,
            sensitivity: Sensitivity::Personal,
            analysis: crate::recall::text::ANALYSIS,
        }
    }

    #[test]
    fn a_memory_indexed_before_irregular_verbs_meets_questions_read_after() {
        let index = OwnerIndex::new("maya").unwrap();
        let kept_before = Indexed {
            terms: ["ran", "marathon"].map(str::to_owned).into(),
            analysis: 0,
            ..entry("", "2023-07-01T08:00:00Z", &[])
        };
        index.apply([("old".to_owned(), kept_before)], []).unwrap();
        let asked: Vec<(String, f32)> = crate::recall::text::terms("ran").into_iter().map(|term| (term, 1.0)).collect();
        let found = index.search(&asked, &[], 0.0, &Narrowing::default(), 10).unwrap();
        assert_eq!(found.iter().map(|found| found.memory_id.as_str()).collect::<Vec<_>>(), ["old"]);
        assert_eq!(index.entry("old").unwrap().terms, ["run", "marathon"]);
    }

    #[test]
    fn ranks_by_terms_and_narrows_by_time_and_people() {
        let index = OwnerIndex::new("maya").unwrap();
        let added = index
            .apply(
                [
                    ("a".to_owned(), entry("We hiked up the ridge at dawn", "2023-07-01T08:00:00Z", &["Omar"])),
                    ("b".to_owned(), entry("Hiking boots are finally broken in", "2024-01-05T08:00:00Z", &["Ann"])),
                    ("c".to_owned(), entry("Made soup for dinner", "2023-07-02T19:00:00Z", &["Omar Haddad"])),
                ],
                [],
            )
            .unwrap();
        assert_eq!(added, 3);
        let hike = [("hike".to_owned(), 1.0)];
        let found = index.search(&hike, &[], 0.0, &Narrowing::default(), 10).unwrap();
        assert_eq!(found.len(), 2);
        let summer = Narrowing {
            from: Some(
                jiff::civil::date(2023, 6, 1)
                    .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                    .unwrap()
                    .timestamp()
                    .as_second(),
            ),
            ..Narrowing::default()
        };
        let found = index.search(&hike, &[], 0.0, &summer, 10).unwrap();
        assert_eq!(found.len(), 2, "both are after June 2023");
        let with_omar = Narrowing { people: vec![vec!["omar".to_owned()]], ..Narrowing::default() };
        let found = index.search(&[], &[], 0.0, &with_omar, 10).unwrap();
        assert_eq!(found.len(), 2);
        assert!(index.knows_person("haddad"));
        assert_eq!(index.neighbours("a", 2), (vec![], vec![]), "Omar and Omar Haddad are not one conversation");
        index.apply([], ["a".to_owned()]).unwrap();
        assert_eq!(index.search(&hike, &[], 0.0, &Narrowing::default(), 10).unwrap().len(), 1);
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn organizations_are_no_ones_people() {
        let index = OwnerIndex::new("sam").unwrap();
        let offer = entry(
            "We are delighted to offer you the role",
            "2024-02-29T11:30:00Z",
            &["Fieldwork HR <hr@fieldwork.studio>", "Sam <sam@example.com>"],
        );
        let reminder = entry("Your race number is attached", "2024-03-01T09:00:00Z", &["no-reply@races.example"]);
        index.apply([("offer".to_owned(), offer), ("reminder".to_owned(), reminder)], []).unwrap();
        for token in ["fieldwork", "hr", "hr@fieldwork.studio", "no-reply@races.example"] {
            assert!(!index.knows_person(token), "{token}");
        }
        assert!(index.knows_person("sam"));
    }
}

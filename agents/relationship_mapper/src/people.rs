//! Who is who across an owner's memories: references that name the same person (an address and a display
//! name, a nickname and a full name, a handle, "my sister" and "Anna" once she is called "my sister Anna")
//! are merged into one person, and the owner, never their own contact, is left out.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use mneme_protocol::relationships::Role;
use mneme_sources::correspondents::{Correspondent, fold};

use crate::references::{Contact, Reference, relation_name, relation_of};

/// Given names and the nicknames that stand for them, so that "Bob Smith" and "Robert Smith" meet.
const NICKNAMES: [(&str, &[&str]); 24] = [
    ("robert", &["bob", "bobby", "rob", "robbie", "bert"]),
    ("william", &["bill", "billy", "will", "willy", "liam"]),
    ("elizabeth", &["liz", "lizzie", "beth", "betty", "eliza", "lisa"]),
    ("katherine", &["kate", "katie", "kathy", "kat", "catherine", "kathryn"]),
    ("thomas", &["tom", "tommy"]),
    ("michael", &["mike", "mikey", "mick"]),
    ("james", &["jim", "jimmy", "jamie"]),
    ("richard", &["rick", "ricky", "dick", "rich"]),
    ("margaret", &["maggie", "meg", "peggy", "marge"]),
    ("alexander", &["alex", "sasha", "xander"]),
    ("alexandra", &["alexa", "sandra"]),
    ("christopher", &["chris", "kit"]),
    ("jennifer", &["jen", "jenny"]),
    ("daniel", &["dan", "danny"]),
    ("joseph", &["joe", "joey"]),
    ("benjamin", &["ben", "benny"]),
    ("samuel", &["sam", "sammy"]),
    ("anthony", &["tony"]),
    ("edward", &["ed", "eddie", "ted", "teddy"]),
    ("nicholas", &["nick", "nicky"]),
    ("patricia", &["pat", "patty", "trish"]),
    ("rebecca", &["becky", "becca"]),
    ("stephanie", &["steph"]),
    ("victoria", &["vicky", "tori"]),
];

fn canonical_given_name(token: &str) -> &str {
    NICKNAMES
        .iter()
        .find(|(name, nicknames)| *name == token || nicknames.contains(&token))
        .map_or(token, |(name, _)| name)
}

/// The keys a name is known by: two references sharing a key are one person.
fn name_keys(tokens: &[&str]) -> Vec<String> {
    let Some((first, rest)) = tokens.split_first() else { return Vec::new() };
    let given = canonical_given_name(first);
    let mut keys =
        vec![format!("n:{}", std::iter::once(given).chain(rest.iter().copied()).collect::<Vec<_>>().join(" "))];
    if let Some(last) = rest.last() {
        keys.push(format!("c:{first}{}", rest.concat()));
        keys.push(format!("c:{first}{}", &last[..last.chars().next().map_or(0, char::len_utf8)]));
    }
    keys
}

fn keys_of(reference: &Reference) -> Vec<String> {
    if let Some(relation) = &reference.relation
        && reference.name == relation_name(relation)
    {
        return vec![format!("k:{relation}")];
    }
    let parsed = Correspondent::parse(&reference.name);
    let mut keys = Vec::new();
    if let Some(display) = &parsed.display {
        let folded = fold(display);
        keys.extend(name_keys(&folded.split(' ').filter(|token| !token.is_empty()).collect::<Vec<_>>()));
        // Someone who goes by a kinship word alone (`Mum <mum@example.com>`, a chat with "Dad") is the person
        // the text calls so.
        if let Some((relation, true)) = relation_of(&folded) {
            keys.push(format!("k:{relation}"));
        }
    }
    if let Some(address) = &parsed.address {
        keys.push(format!("a:{address}"));
        let local = address.split('@').next().unwrap_or_default();
        let tokens: Vec<&str> = local
            .split(['.', '_', '-', '+'])
            .filter(|token| token.chars().all(char::is_alphabetic) && token.len() > 1)
            .collect();
        if parsed.display.is_none() {
            keys.extend(name_keys(&tokens));
        }
    }
    if let Some(handle) = &parsed.handle {
        keys.push(format!("h:{handle}"));
        keys.push(format!("c:{}", handle.replace(['_', '.', '-'], "")));
    }
    keys
}

/// Whether a reference names the owner (their id, folded): their id as a name, a first name, an address or its
/// local part, a handle, or "me".
fn is_owner(owner: &str, reference: &Reference) -> bool {
    if owner.is_empty() {
        return false;
    }
    let parsed = Correspondent::parse(&reference.name);
    let display = parsed.display.as_deref().map(fold).unwrap_or_default();
    if matches!(display.as_str(), "me" | "myself" | "i") {
        return true;
    }
    let by_name = !display.is_empty() && (display == owner || display.split(' ').next() == Some(owner));
    let by_address = parsed.address.as_deref().is_some_and(|address| {
        let folded = fold(address);
        folded == owner || fold(address.split('@').next().unwrap_or_default()) == owner
    });
    let by_handle = parsed.handle.as_deref().is_some_and(|handle| fold(handle) == owner);
    by_name || by_address || by_handle
}

/// One person, with every memory they appear in.
#[derive(Debug, Clone)]
pub struct Person<'c> {
    pub name: String,
    pub aliases: Vec<String>,
    pub relation: Option<String>,
    /// `(memory id, the memory's contact, how they appear)`, one per memory, the closest role kept.
    pub appearances: Vec<(&'c str, &'c Contact, Role)>,
}

/// Union-find over the keys names are known by.
#[derive(Default)]
struct Keys {
    index: HashMap<String, usize>,
    parent: Vec<usize>,
}

impl Keys {
    fn id(&mut self, key: &str) -> usize {
        if let Some(id) = self.index.get(key) {
            return *id;
        }
        let id = self.parent.len();
        self.parent.push(id);
        self.index.insert(key.to_owned(), id);
        id
    }

    fn root(&mut self, mut id: usize) -> usize {
        while self.parent[id] != id {
            self.parent[id] = self.parent[self.parent[id]];
            id = self.parent[id];
        }
        id
    }

    fn join(&mut self, a: usize, b: usize) {
        let (a, b) = (self.root(a), self.root(b));
        if a != b {
            self.parent[a.max(b)] = a.min(b);
        }
    }
}

/// The people of an owner's memories, the owner and organizations left out: the owner is whoever is named by
/// the owner's id (see [`is_owner`]) or shares a name, address or handle with `also_me`, the other names the
/// owner goes by.
pub fn resolve<'c>(owner: &str, also_me: &[String], contacts: &'c BTreeMap<String, Contact>) -> Vec<Person<'c>> {
    let own_keys: HashSet<String> = also_me
        .iter()
        .flat_map(|name| keys_of(&Reference { name: name.clone(), role: Role::Mention, relation: None }))
        .filter(|key| key.starts_with("n:") || key.starts_with("a:") || key.starts_with("h:"))
        .collect();
    let owner = fold(owner);
    let mut keys = Keys::default();
    // Each kept reference and the key id it hangs on.
    let mut kept: Vec<(&'c str, &'c Contact, &'c Reference, usize)> = Vec::new();
    for (memory_id, contact) in contacts {
        for reference in &contact.people {
            let reference_keys = keys_of(reference);
            if is_owner(&owner, reference)
                || reference_keys.iter().any(|key| own_keys.contains(key))
                || Correspondent::parse(&reference.name).is_organization()
            {
                continue;
            }
            let Some(first) = reference_keys.first() else { continue };
            let first = keys.id(first);
            for key in &reference_keys[1..] {
                let other = keys.id(key);
                keys.join(first, other);
            }
            kept.push((memory_id, contact, reference, first));
        }
    }
    merge_given_names(&mut keys);
    merge_relations(&mut keys, &kept);

    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (position, (_, _, _, key)) in kept.iter().enumerate() {
        let root = keys.root(*key);
        groups.entry(root).or_default().push(position);
    }
    groups.into_values().map(|positions| person(positions.iter().map(|position| kept[*position]))).collect()
}

/// A lone given name ("Anna") is the one person whose full name starts with it, when there is exactly one.
fn merge_given_names(keys: &mut Keys) {
    let names: Vec<(String, usize)> =
        keys.index.iter().filter_map(|(key, id)| Some((key.strip_prefix("n:")?.to_owned(), *id))).collect();
    let mut full_by_given: HashMap<&str, BTreeSet<usize>> = HashMap::new();
    for (name, id) in &names {
        if let Some((given, _)) = name.split_once(' ') {
            let root = keys.root(*id);
            full_by_given.entry(given).or_default().insert(root);
        }
    }
    for (name, id) in &names {
        if !name.contains(' ')
            && let Some(full) = full_by_given.get(name.as_str())
            && full.len() == 1
        {
            let full = *full.first().expect("one");
            keys.join(*id, full);
        }
    }
}

/// "My sister" is the sister the memories name, when they name exactly one.
fn merge_relations(keys: &mut Keys, kept: &[(&str, &Contact, &Reference, usize)]) {
    let mut named: HashMap<&str, BTreeSet<usize>> = HashMap::new();
    let mut nameless: HashMap<&str, usize> = HashMap::new();
    for (_, _, reference, key) in kept {
        let Some(relation) = reference.relation.as_deref() else { continue };
        if reference.name == relation_name(relation) {
            nameless.insert(relation, *key);
        } else {
            let root = keys.root(*key);
            named.entry(relation).or_default().insert(root);
        }
    }
    for (relation, key) in nameless {
        if let Some(people) = named.get(relation)
            && people.len() == 1
        {
            keys.join(key, *people.first().expect("one"));
        }
    }
}

fn person<'c>(references: impl Iterator<Item = (&'c str, &'c Contact, &'c Reference, usize)>) -> Person<'c> {
    let mut forms: BTreeMap<&str, u64> = BTreeMap::new();
    let mut relations: BTreeMap<&str, u64> = BTreeMap::new();
    let mut roles: BTreeMap<&str, (&Contact, Role)> = BTreeMap::new();
    let mut kinship_forms: BTreeSet<&str> = BTreeSet::new();
    for (memory_id, contact, reference, _) in references {
        *forms.entry(reference.name.as_str()).or_default() += 1;
        if let Some(relation) = &reference.relation {
            *relations.entry(relation.as_str()).or_default() += 1;
            if reference.name == relation_name(relation) {
                kinship_forms.insert(reference.name.as_str());
            }
        }
        let role = roles.entry(memory_id).or_insert((contact, reference.role));
        role.1 = role.1.min(reference.role);
    }
    // The name: the most used form that is a display name with a surname, else the most used display name,
    // else "Mom" or "My sister".
    let display = |form: &str| Correspondent::parse(form).display.filter(|_| !kinship_forms.contains(form));
    let rank = |form: &&&str| {
        let display = display(form);
        (display.as_ref().is_some_and(|name| name.contains(' ')), display.is_some(), forms[**form])
    };
    let best = forms.keys().max_by_key(rank).copied().unwrap_or_default();
    let name = Correspondent::parse(best).display.unwrap_or_else(|| best.to_owned());
    let aliases = forms.keys().filter(|form| **form != name).map(|form| (*form).to_owned()).collect();
    let relation = relations.iter().max_by_key(|(_, count)| **count).map(|(relation, _)| (*relation).to_owned());
    Person {
        name,
        aliases,
        relation,
        appearances: roles.into_iter().map(|(memory_id, (contact, role))| (memory_id, contact, role)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_id<const N: usize>(contacts: [(&str, Contact); N]) -> BTreeMap<String, Contact> {
        contacts.into_iter().map(|(id, contact)| (id.to_owned(), contact)).collect()
    }

    fn contact(at: &str, people: &[(&str, Role, Option<&str>)]) -> Contact {
        Contact {
            at: Some(at.to_owned()),
            compound: 0.0,
            people: people
                .iter()
                .map(|(name, role, relation)| Reference {
                    name: (*name).to_owned(),
                    role: *role,
                    relation: relation.map(str::to_owned),
                })
                .collect(),
        }
    }

    fn names(people: &[Person]) -> Vec<(String, usize)> {
        let mut found: Vec<(String, usize)> =
            people.iter().map(|person| (person.name.clone(), person.appearances.len())).collect();
        found.sort();
        found
    }

    #[test]
    fn aliases_merge_and_the_owner_is_left_out() {
        let contacts = by_id([
            (
                "m1",
                contact(
                    "2024-01-01T10:00:00Z",
                    &[
                        ("Ann Lee <ann@example.com>", Role::Author, None),
                        ("Anna Keller <anna.keller@example.org>", Role::Participant, None),
                    ],
                ),
            ),
            (
                "m2",
                contact(
                    "2024-01-02T10:00:00Z",
                    &[("anna.keller@example.org", Role::Author, None), ("ann@example.com", Role::Participant, None)],
                ),
            ),
            (
                "m3",
                contact(
                    "2024-01-03T10:00:00Z",
                    &[("Anna", Role::Mention, Some("sister")), ("@anna_keller", Role::Mention, None)],
                ),
            ),
            (
                "m4",
                contact(
                    "2024-01-04T10:00:00Z",
                    &[("My sister", Role::Mention, Some("sister")), ("Bob Stone", Role::Mention, None)],
                ),
            ),
            (
                "m5",
                contact(
                    "2024-01-05T10:00:00Z",
                    &[("Robert Stone", Role::Participant, None), ("me", Role::Author, None)],
                ),
            ),
        ]);
        let people = resolve("ann", &[], &contacts);
        assert_eq!(names(&people), [("Anna Keller".to_owned(), 4), ("Robert Stone".to_owned(), 2)]);
        let anna = people.iter().find(|person| person.name == "Anna Keller").unwrap();
        assert_eq!(anna.relation.as_deref(), Some("sister"));
        assert!(anna.aliases.contains(&"@anna_keller".to_owned()) && anna.aliases.contains(&"My sister".to_owned()));
        let bob = people.iter().find(|person| person.name == "Robert Stone").unwrap();
        assert_eq!(
            bob.appearances.iter().map(|(_, _, role)| *role).collect::<Vec<_>>(),
            [Role::Mention, Role::Participant]
        );
    }

    #[test]
    fn one_who_goes_by_a_kinship_word_is_the_one_the_text_calls_so() {
        let contacts = by_id([
            ("m1", contact("2024-01-01T10:00:00Z", &[("Mum <mum@example.com>", Role::Author, None)])),
            ("m2", contact("2024-01-02T10:00:00Z", &[("Mom", Role::Mention, Some("mother"))])),
            ("m3", contact("2024-01-03T10:00:00Z", &[("mum@example.com", Role::Participant, None)])),
            // "my sister" needs the "my": a sender called Sister is nobody's sister by that alone.
            ("m4", contact("2024-01-04T10:00:00Z", &[("Sister <sister@example.com>", Role::Author, None)])),
            ("m5", contact("2024-01-05T10:00:00Z", &[("My sister", Role::Mention, Some("sister"))])),
        ]);
        let people = resolve("ann", &[], &contacts);
        assert_eq!(names(&people), [("Mum".to_owned(), 3), ("My sister".to_owned(), 1), ("Sister".to_owned(), 1)]);
        let mum = people.iter().find(|person| person.name == "Mum").unwrap();
        assert_eq!(mum.relation.as_deref(), Some("mother"), "named as the owner writes her, related as the text says");
    }

    #[test]
    fn organizations_are_no_ones_people() {
        let contacts = by_id([
            (
                "m1",
                contact("2024-01-01T10:00:00Z", &[("Greenway Lettings <lettings@homes.example>", Role::Author, None)]),
            ),
            ("m2", contact("2024-01-02T10:00:00Z", &[("Fieldwork HR <hr@fieldwork.studio>", Role::Author, None)])),
            ("m3", contact("2024-01-03T10:00:00Z", &[("Richmond Marathon", Role::Mention, None)])),
            ("m4", contact("2024-01-04T10:00:00Z", &[("no-reply@shop.example", Role::Author, None)])),
            // A colleague who writes from the firm's domain is a person.
            ("m5", contact("2024-01-05T10:00:00Z", &[("Priya <priya@fieldwork.studio>", Role::Author, None)])),
        ]);
        assert_eq!(names(&resolve("sam", &[], &contacts)), [("Priya".to_owned(), 1)]);
    }

    #[test]
    fn two_full_names_keep_a_lone_given_name_apart() {
        let contacts = by_id([
            ("m1", contact("2024-01-01T10:00:00Z", &[("Sam Ortiz", Role::Participant, None)])),
            ("m2", contact("2024-01-02T10:00:00Z", &[("Samuel Berg", Role::Participant, None)])),
            ("m3", contact("2024-01-03T10:00:00Z", &[("Sam", Role::Mention, None)])),
        ]);
        assert_eq!(resolve("ann", &[], &contacts).len(), 3);
        let as_sam = resolve("me", &["Samuel Berg".to_owned()], &contacts);
        let names: Vec<&str> = as_sam.iter().map(|person| person.name.as_str()).collect();
        assert_eq!(names, ["Sam Ortiz"], "the owner's other names are the owner, and the lone Sam is the other one");
    }
}

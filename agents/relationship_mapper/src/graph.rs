//! The owner's people as a graph (petgraph): people who appear in the same memory are linked, weighted by how
//! often. From it and each person's appearances come strength (decaying with age), centrality (degree and
//! PageRank), communities (Louvain modularity, graphrs) and drift alerts.

use std::collections::{BTreeMap, HashMap, HashSet};

use jiff::civil::Date;
use petgraph::graph::{NodeIndex, UnGraph};
use petgraph::visit::EdgeRef;

use mneme_protocol::relationships::{
    Appearance, Community, DriftAlert, Link, PersonReport, PersonSummary, Relationships, Role,
};

use crate::people::Person;
use crate::references::Contact;

/// Strength halves every this many days without contact.
const HALF_LIFE_DAYS: f64 = 90.0;
/// Undated memories count, but as if they were this old.
const UNDATED_AGE_DAYS: f64 = 365.0;
/// A person drifts when the days since their last appearance exceed both this many of their usual gaps and
/// the usual gap plus `DRIFT_SLACK_DAYS`; only people seen on `DRIFT_MIN_DAYS` days or more can drift.
const DRIFT_GAPS: f64 = 3.0;
const DRIFT_SLACK_DAYS: f64 = 14.0;
const DRIFT_MIN_DAYS: usize = 4;
const PAGERANK_DAMPING: f64 = 0.85;
const PAGERANK_ITERATIONS: usize = 30;
/// Louvain visits people in an order drawn from this seed: fixed, so that every replica finds the same circles.
const COMMUNITY_SEED: u64 = 2024;

fn date_of(at: Option<&str>) -> Option<Date> {
    at.and_then(|at| at.parse::<jiff::Timestamp>().ok()).map(|at| at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date())
}

fn role_weight(role: Role) -> f64 {
    match role {
        Role::Author | Role::Participant => 1.0,
        Role::Mention => 0.5,
    }
}

/// The day a report is reckoned at: the one asked for, else the day of the owner's latest memory.
pub fn as_of(requested: Option<&str>, contacts: &BTreeMap<String, Contact>) -> Option<Date> {
    requested
        .and_then(|day| day.parse::<Date>().ok())
        .or_else(|| contacts.values().filter_map(|contact| date_of(contact.at.as_deref())).max())
}

/// Everything computed about the people of one owner.
pub struct Analysis<'c> {
    people: Vec<Person<'c>>,
    summaries: Vec<PersonSummary>,
    communities: Vec<Community>,
    drift: Vec<Option<DriftAlert>>,
    graph: UnGraph<usize, u64>,
}

pub fn analyze<'c>(people: Vec<Person<'c>>, today: Option<Date>) -> Analysis<'c> {
    let graph = co_appearances(&people);
    let ranks = weighted_page_rank(&graph, PAGERANK_DAMPING, PAGERANK_ITERATIONS);

    // Communities of two or more, largest first, members by PageRank.
    let mut groups: Vec<Vec<usize>> = communities(&graph).into_iter().filter(|members| members.len() > 1).collect();
    for members in &mut groups {
        members.sort_by(|a, b| ranks[*b].total_cmp(&ranks[*a]).then(a.cmp(b)));
    }
    groups.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a[0].cmp(&b[0])));
    let mut community_of = vec![None; people.len()];
    for (index, members) in groups.iter().enumerate() {
        for member in members {
            community_of[*member] = Some(index);
        }
    }

    let raw_strength: Vec<f64> = people.iter().map(|person| strength(person, today)).collect();
    let strongest = raw_strength.iter().copied().fold(0.0, f64::max);
    let summaries = people
        .iter()
        .enumerate()
        .map(|(index, person)| {
            let node = NodeIndex::new(index);
            summary(
                person,
                if strongest > 0.0 { raw_strength[index] / strongest } else { 0.0 },
                graph.neighbors(node).count() as u32,
                ranks.get(index).copied().unwrap_or_default(),
                community_of[index],
            )
        })
        .collect();
    let drift = people.iter().map(|person| drift(person, today)).collect();
    let communities = groups
        .iter()
        .map(|members| Community { members: members.iter().map(|member| people[*member].name.clone()).collect() })
        .collect();
    Analysis { people, summaries, communities, drift, graph }
}

/// PageRank by power iteration over the edges, each weighted by the memories the two share; a person linked
/// to nobody spreads their rank evenly. petgraph's `page_rank` is unweighted and visits every pair of people
/// each round, which an address book of thousands makes slow (`benches/analysis.rs` compares the two); this
/// is linear in the links.
pub fn weighted_page_rank(graph: &UnGraph<usize, u64>, damping: f64, iterations: usize) -> Vec<f64> {
    let count = graph.node_count();
    if count == 0 {
        return Vec::new();
    }
    let share = 1.0 / count as f64;
    let out_weight: Vec<f64> =
        graph.node_indices().map(|node| graph.edges(node).map(|edge| *edge.weight() as f64).sum()).collect();
    let mut ranks = vec![share; count];
    for _ in 0..iterations {
        let unlinked: f64 = (0..count).filter(|node| out_weight[*node] == 0.0).map(|node| ranks[node]).sum();
        let base = (1.0 - damping) * share + damping * unlinked * share;
        let mut next = vec![base; count];
        for node in graph.node_indices() {
            let from = node.index();
            if out_weight[from] == 0.0 {
                continue;
            }
            for edge in graph.edges(node) {
                let to = if edge.source() == node { edge.target() } else { edge.source() };
                next[to.index()] += damping * ranks[from] * *edge.weight() as f64 / out_weight[from];
            }
        }
        ranks = next;
    }
    ranks
}

fn co_appearances(people: &[Person]) -> UnGraph<usize, u64> {
    let mut graph = UnGraph::with_capacity(people.len(), 0);
    for index in 0..people.len() {
        graph.add_node(index);
    }
    let mut in_memory: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, person) in people.iter().enumerate() {
        for (memory_id, _, _) in &person.appearances {
            in_memory.entry(memory_id).or_default().push(index);
        }
    }
    let mut weights: HashMap<(usize, usize), u64> = HashMap::new();
    for together in in_memory.values() {
        for (position, a) in together.iter().enumerate() {
            for b in &together[position + 1..] {
                *weights.entry(((*a).min(*b), (*a).max(*b))).or_default() += 1;
            }
        }
    }
    let mut edges: Vec<((usize, usize), u64)> = weights.into_iter().collect();
    edges.sort();
    for ((a, b), weight) in edges {
        graph.add_edge(NodeIndex::new(a), NodeIndex::new(b), weight);
    }
    graph
}

/// The partition of the people into groups of maximal modularity (Louvain, weighted by the memories shared),
/// each group's members in ascending order. Not label propagation: on a sparse graph one label floods it, and
/// an owner's family and friends, joined by a single shared memory, come out as one circle.
pub fn communities(graph: &UnGraph<usize, u64>) -> Vec<Vec<usize>> {
    if graph.edge_count() == 0 {
        return Vec::new();
    }
    let edges = graph
        .edge_references()
        .map(|edge| graphrs::Edge::with_weight(edge.source().index(), edge.target().index(), *edge.weight() as f64))
        .collect();
    let mut people: graphrs::Graph<usize, ()> = graphrs::Graph::new(graphrs::GraphSpecs::undirected_create_missing());
    let found = people.add_edges(edges).and_then(|()| {
        graphrs::algorithms::community::louvain::louvain_communities(&people, true, None, None, Some(COMMUNITY_SEED))
    });
    match found {
        Ok(found) => found
            .into_iter()
            .map(|members| {
                let mut members: Vec<usize> = members.into_iter().collect();
                members.sort_unstable();
                members
            })
            .collect(),
        Err(error) => {
            // Circles are one column of the report; the rest stands without them.
            tracing::warn!(%error, "finding circles failed");
            Vec::new()
        }
    }
}

fn strength(person: &Person, today: Option<Date>) -> f64 {
    person
        .appearances
        .iter()
        .map(|(_, contact, role)| {
            let age = match (date_of(contact.at.as_deref()), today) {
                (Some(day), Some(today)) => ((today - day).get_days() as f64).max(0.0),
                _ => UNDATED_AGE_DAYS,
            };
            role_weight(*role) * 0.5f64.powf(age / HALF_LIFE_DAYS)
        })
        .sum()
}

/// The distinct days a person appears on, oldest first.
fn days(person: &Person) -> Vec<Date> {
    let mut days: Vec<Date> =
        person.appearances.iter().filter_map(|(_, contact, _)| date_of(contact.at.as_deref())).collect();
    days.sort();
    days.dedup();
    days
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len().is_multiple_of(2) { (values[middle - 1] + values[middle]) / 2.0 } else { values[middle] })
}

fn typical_gap(days: &[Date]) -> Option<f64> {
    if days.len() < 3 {
        return None;
    }
    median(days.windows(2).map(|pair| (pair[1] - pair[0]).get_days() as f64).collect())
}

fn summary(person: &Person, strength: f64, degree: u32, pagerank: f64, community: Option<usize>) -> PersonSummary {
    let timestamps: Vec<&str> = person.appearances.iter().filter_map(|(_, contact, _)| contact.at.as_deref()).collect();
    let interactions = person.appearances.iter().filter(|(_, _, role)| *role != Role::Mention).count() as u64;
    let sentiment = person.appearances.iter().map(|(_, contact, _)| contact.compound).sum::<f64>()
        / person.appearances.len().max(1) as f64;
    PersonSummary {
        name: person.name.clone(),
        aliases: person.aliases.clone(),
        relation: person.relation.clone(),
        interactions,
        mentions: person.appearances.len() as u64 - interactions,
        first_contact: timestamps.iter().min().map(|at| (*at).to_owned()),
        last_contact: timestamps.iter().max().map(|at| (*at).to_owned()),
        typical_gap_days: typical_gap(&days(person)),
        sentiment,
        strength,
        degree,
        pagerank,
        community,
        mentioned_in: Vec::new(),
    }
}

fn drift(person: &Person, today: Option<Date>) -> Option<DriftAlert> {
    let today = today?;
    let days = days(person);
    if days.len() < DRIFT_MIN_DAYS {
        return None;
    }
    let gap = typical_gap(&days)?.max(1.0);
    let last = *days.last()?;
    let since = (today - last).get_days() as f64;
    let threshold = (gap * DRIFT_GAPS).max(gap + DRIFT_SLACK_DAYS);
    if since <= threshold {
        return None;
    }
    // Surer the longer overdue and the more gaps the rhythm was learned from.
    let overdue = ((since / threshold - 1.0) * 0.5 + 0.5).min(1.0);
    let history = ((days.len() - 1) as f64 / 8.0).min(1.0);
    let mut recent: Vec<(&str, &str)> = person
        .appearances
        .iter()
        .filter_map(|(memory_id, contact, _)| Some((contact.at.as_deref()?, *memory_id)))
        .collect();
    recent.sort();
    Some(DriftAlert {
        person: person.name.clone(),
        last_contact: last.to_string(),
        typical_gap_days: gap,
        days_since: since,
        confidence: overdue * (0.5 + 0.5 * history),
        evidence: recent.iter().rev().take(3).map(|(_, memory_id)| (*memory_id).to_owned()).collect(),
    })
}

impl Analysis<'_> {
    /// The owner's people, strongest first, at most `limit`; each with the memories that speak of them from
    /// `mentions_from` to `as_of`, when that is given.
    pub fn relationships(
        &self,
        owner: &str,
        as_of: Option<Date>,
        limit: Option<usize>,
        mentions_from: Option<Date>,
    ) -> Relationships {
        let mut order: Vec<usize> = (0..self.summaries.len()).collect();
        order.sort_by(|a, b| {
            let (a, b) = (&self.summaries[*a], &self.summaries[*b]);
            b.strength.total_cmp(&a.strength).then_with(|| a.name.cmp(&b.name))
        });
        let total_people = order.len();
        order.truncate(limit.unwrap_or(usize::MAX));
        let listed: HashSet<usize> = order.iter().copied().collect();
        let links = self
            .graph
            .edge_references()
            .filter(|edge| listed.contains(&edge.source().index()) && listed.contains(&edge.target().index()))
            .map(|edge| Link {
                between: (
                    self.people[edge.source().index()].name.clone(),
                    self.people[edge.target().index()].name.clone(),
                ),
                memories: *edge.weight(),
            })
            .collect();
        let people = order
            .iter()
            .map(|index| {
                let mut summary = self.summaries[*index].clone();
                if let Some(from) = mentions_from {
                    summary.mentioned_in = self.mentions_between(*index, from, as_of);
                }
                summary
            })
            .collect();
        let mut drift: Vec<DriftAlert> = self.drift.iter().flatten().cloned().collect();
        drift.sort_by(|a, b| (b.days_since / b.typical_gap_days).total_cmp(&(a.days_since / a.typical_gap_days)));
        Relationships {
            owner: owner.to_owned(),
            as_of: as_of.map(|day| day.to_string()),
            total_people,
            people,
            communities: self.communities.clone(),
            links,
            drift,
        }
    }

    /// The dated memories that speak of person `index` from `from` to `until` (both included), oldest first.
    fn mentions_between(&self, index: usize, from: Date, until: Option<Date>) -> Vec<String> {
        let mut dated: Vec<(&str, &str)> = self.people[index]
            .appearances
            .iter()
            .filter(|(_, _, role)| *role == Role::Mention)
            .filter_map(|(memory_id, contact, _)| {
                let day = date_of(contact.at.as_deref())?;
                (day >= from && until.is_none_or(|until| day <= until)).then_some((contact.at.as_deref()?, *memory_id))
            })
            .collect();
        dated.sort_unstable();
        dated.into_iter().map(|(_, memory_id)| memory_id.to_owned()).collect()
    }

    /// The person going by `name` (any of their names, any case).
    pub fn person(&self, owner: &str, name: &str) -> Option<PersonReport> {
        let wanted = name.trim().to_lowercase();
        let index = self.people.iter().position(|person| {
            person.name.to_lowercase() == wanted || person.aliases.iter().any(|alias| alias.to_lowercase() == wanted)
        })?;
        let person = &self.people[index];
        let mut timeline: Vec<Appearance> = person
            .appearances
            .iter()
            .map(|(memory_id, contact, role)| Appearance {
                memory_id: (*memory_id).to_owned(),
                occurred_at: contact.at.clone(),
                role: *role,
                sentiment: contact.compound,
            })
            .collect();
        timeline.sort_by(|a, b| match (&a.occurred_at, &b.occurred_at) {
            (Some(a), Some(b)) => a.cmp(b),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        let node = NodeIndex::new(index);
        let mut appears_with: Vec<(String, u64)> = self
            .graph
            .edges(node)
            .map(|edge| {
                let other = if edge.source() == node { edge.target() } else { edge.source() };
                (self.people[other.index()].name.clone(), *edge.weight())
            })
            .collect();
        appears_with.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Some(PersonReport {
            owner: owner.to_owned(),
            person: self.summaries[index].clone(),
            timeline,
            appears_with,
            drift: self.drift[index].clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_rank_sums_to_one_and_favours_the_hub_and_heavy_links() {
        let mut graph = UnGraph::<usize, u64>::default();
        let nodes: Vec<NodeIndex> = (0..6).map(|index| graph.add_node(index)).collect();
        for leaf in 1..4 {
            graph.add_edge(nodes[0], nodes[leaf], 1);
        }
        graph.add_edge(nodes[3], nodes[4], 9);
        let ranks = weighted_page_rank(&graph, 0.85, 50);
        assert!((ranks.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(ranks[0] > ranks[1] && ranks[1] == ranks[2], "{ranks:?}");
        assert!(ranks[4] > ranks[1], "a heavy link weighs more than a light one: {ranks:?}");
        assert!(ranks[5] < ranks[1], "someone linked to nobody ranks lowest: {ranks:?}");
        // Unweighted, it agrees with petgraph's ordering.
        let mut plain = graph.clone();
        plain.edge_weights_mut().for_each(|weight| *weight = 1);
        let ours = weighted_page_rank(&plain, 0.85, 50);
        let theirs = petgraph::algo::page_rank(&plain, 0.85, 50);
        let order = |ranks: &[f64]| {
            let mut order: Vec<usize> = (0..ranks.len()).collect();
            order.sort_by(|a, b| ranks[*b].total_cmp(&ranks[*a]).then(a.cmp(b)));
            order
        };
        assert_eq!(order(&ours)[..2], order(&theirs)[..2]);
    }

    #[test]
    fn circles_part_family_from_friends_that_one_shared_memory_joins() {
        // Omar 0, Lena 1, Priya 2, Grandma 3, Mum 4, Jonas 5, Tom 6, and Ann 7, whom no memory shares.
        let mut graph = UnGraph::<usize, u64>::default();
        let nodes: Vec<NodeIndex> = (0..8).map(|index| graph.add_node(index)).collect();
        for (a, b, shared) in [(0, 1, 2), (0, 5, 1), (0, 2, 1), (1, 6, 3), (1, 3, 2), (1, 4, 1), (3, 4, 1)] {
            graph.add_edge(nodes[a], nodes[b], shared);
        }
        let mut circles = communities(&graph);
        circles.sort();
        assert_eq!(circles, vec![vec![0, 2, 5], vec![1, 3, 4, 6]]);
        assert_eq!(communities(&graph), communities(&graph), "the same circles every time");
        assert!(communities(&UnGraph::<usize, u64>::default()).is_empty());
    }
}

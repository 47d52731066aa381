//! Pictures for people who would rather look than read: an owner's mood and activity over time
//! (`mneme patterns --chart`), and who appears with whom (`mneme people --graph`). SVG drawn with plotters;
//! the graph laid out by force simulation (force_graph), or by Graphviz when `dot` is installed, or written
//! as Graphviz DOT for other tools.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};
use plotters::prelude::*;

use mneme_protocol::patterns::Patterns;
use mneme_protocol::relationships::Relationships;

/// Days since the Unix epoch, the x axis of the mood chart.
fn day_number(date: &str) -> Option<i32> {
    let date: jiff::civil::Date = date.parse().ok()?;
    Some((date - jiff::civil::date(1970, 1, 1)).get_days())
}

fn day_label(day: &i32) -> String {
    jiff::civil::date(1970, 1, 1)
        .checked_add(jiff::Span::new().days(i64::from(*day)))
        .map(|date| date.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn plot_error(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart failed: {error}")
}

/// The mood chart: each day's mood and its baseline, shifts marked, and memories per day beneath.
pub fn mood_chart(patterns: &Patterns, path: &Path) -> anyhow::Result<()> {
    if path.extension().and_then(|extension| extension.to_str()) != Some("svg") {
        bail!("the mood chart is drawn as SVG: give a path ending in .svg");
    }
    let days: Vec<(i32, f64, Option<f64>, u32)> = patterns
        .mood
        .iter()
        .filter_map(|day| Some((day_number(&day.date)?, day.mean, day.baseline, day.memories)))
        .collect();
    let (Some(first), Some(last)) = (days.first().map(|day| day.0), days.last().map(|day| day.0)) else {
        bail!("{} has no dated memories to chart", patterns.owner);
    };
    let range = first - 1..last + 2;
    let root = SVGBackend::new(path, (1200, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let (upper, lower) = root.split_vertically(480);

    let mut mood = ChartBuilder::on(&upper)
        .caption(format!("{}: mood by day", patterns.owner), ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(48)
        .build_cartesian_2d(range.clone(), -1.0f64..1.0f64)
        .map_err(plot_error)?;
    mood.configure_mesh()
        .x_labels(8)
        .x_label_formatter(&day_label)
        .y_desc("compound sentiment")
        .draw()
        .map_err(plot_error)?;
    mood.draw_series(LineSeries::new(days.iter().map(|day| (day.0, day.1)), BLUE.mix(0.5)))
        .map_err(plot_error)?
        .label("day's mood")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE));
    mood.draw_series(LineSeries::new(
        days.iter().filter_map(|day| Some((day.0, day.2?))),
        ShapeStyle::from(&BLACK.mix(0.6)).stroke_width(2),
    ))
    .map_err(plot_error)?
    .label("baseline (28 days before)")
    .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK));
    let shifts = patterns.mood_shifts.iter().filter_map(|shift| {
        let color = if shift.direction == "drop" { RED } else { GREEN };
        Some(Circle::new((day_number(&shift.date)?, shift.mean), 5, color.filled()))
    });
    mood.draw_series(shifts).map_err(plot_error)?;
    mood.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(plot_error)?;

    let most = days.iter().map(|day| day.3).max().unwrap_or(1);
    let mut activity = ChartBuilder::on(&lower)
        .caption("memories by day", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(48)
        .build_cartesian_2d(range, 0u32..most + 1)
        .map_err(plot_error)?;
    activity.configure_mesh().x_labels(8).x_label_formatter(&day_label).draw().map_err(plot_error)?;
    activity
        .draw_series(days.iter().map(|day| Rectangle::new([(day.0, 0), (day.0 + 1, day.3)], BLUE.mix(0.6).filled())))
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(())
}

/// `text` as a quoted Graphviz id.
fn dot_id(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The graph in Graphviz DOT: people sized by strength and coloured by circle, links by memories together.
pub fn people_dot(relationships: &Relationships) -> String {
    let mut dot = format!(
        "graph people {{\n  label={};\n  layout=neato;\n  overlap=false;\n  node [shape=circle, style=filled, fontname=\"sans-serif\"];\n",
        dot_id(&format!("{}'s people", relationships.owner))
    );
    for person in &relationships.people {
        let (red, green, blue) = community_color(person.community).rgb();
        dot.push_str(&format!(
            "  {} [width={:.2}, fillcolor=\"#{red:02x}{green:02x}{blue:02x}\"];\n",
            dot_id(&person.name),
            0.3 + person.strength
        ));
    }
    for link in &relationships.links {
        dot.push_str(&format!(
            "  {} -- {} [penwidth={:.1}];\n",
            dot_id(&link.between.0),
            dot_id(&link.between.1),
            1.0 + (link.memories as f64).ln()
        ));
    }
    dot.push_str("}\n");
    dot
}

fn community_color(community: Option<usize>) -> RGBColor {
    match community {
        Some(index) => {
            let (red, green, blue) = Palette99::pick(index).rgb();
            RGBColor(red, green, blue)
        }
        None => RGBColor(190, 190, 190),
    }
}

/// Writes the graph to `path`: DOT for `.dot`; SVG for `.svg`, by Graphviz when `dot` is installed and by
/// Mneme's own layout otherwise.
pub fn people_graph(relationships: &Relationships, path: &Path) -> anyhow::Result<()> {
    match path.extension().and_then(|extension| extension.to_str()) {
        Some("dot") => {
            std::fs::write(path, people_dot(relationships)).with_context(|| format!("writing {}", path.display()))
        }
        Some("svg") => match graphviz_svg(&people_dot(relationships)) {
            Some(svg) => std::fs::write(path, svg).with_context(|| format!("writing {}", path.display())),
            None => draw_people(relationships, path),
        },
        _ => bail!("the graph is written as SVG (.svg) or Graphviz DOT (.dot)"),
    }
}

/// The SVG Graphviz draws of `dot`, when Graphviz is installed and succeeds.
fn graphviz_svg(dot: &str) -> Option<Vec<u8>> {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(dot.as_bytes()).ok()?;
    let output = child.wait_with_output().ok()?;
    output.status.success().then_some(output.stdout)
}

const CANVAS: u32 = 1000;
const LAYOUT_STEPS: usize = 600;

/// Positions from a force simulation: linked people pull together, everyone pushes apart, and the owner, held
/// at the centre, holds everyone (so that circles who never meet stay in one picture). People start on a
/// circle in order of their circle, so that the layout is the same on every run. The owner is the last
/// position.
fn layout(relationships: &Relationships) -> Vec<(f64, f64)> {
    let count = relationships.people.len();
    let mut graph = <force_graph::ForceGraph<usize>>::new(force_graph::SimulationParameters::default());
    let owner = graph.add_node(force_graph::NodeData {
        x: 500.0,
        y: 500.0,
        is_anchor: true,
        user_data: count,
        ..Default::default()
    });
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by_key(|index| (relationships.people[*index].community.unwrap_or(usize::MAX), *index));
    let mut node_of = HashMap::new();
    for (position, index) in order.iter().enumerate() {
        let angle = position as f32 / count.max(1) as f32 * std::f32::consts::TAU;
        let node = graph.add_node(force_graph::NodeData {
            x: 500.0 + 300.0 * angle.cos(),
            y: 500.0 + 300.0 * angle.sin(),
            user_data: *index,
            ..Default::default()
        });
        node_of.insert(relationships.people[*index].name.as_str(), node);
        graph.add_edge(owner, node, Default::default());
    }
    for link in &relationships.links {
        if let (Some(a), Some(b)) = (node_of.get(link.between.0.as_str()), node_of.get(link.between.1.as_str())) {
            graph.add_edge(*a, *b, Default::default());
        }
    }
    for _ in 0..LAYOUT_STEPS {
        graph.update(0.035);
    }
    let mut positions = vec![(0.0, 0.0); count + 1];
    graph.visit_nodes(|node| positions[node.data.user_data] = (f64::from(node.x()), f64::from(node.y())));
    // Scaled into the canvas with a margin for names.
    let (min_x, max_x) = positions.iter().fold((f64::MAX, f64::MIN), |(lo, hi), (x, _)| (lo.min(*x), hi.max(*x)));
    let (min_y, max_y) = positions.iter().fold((f64::MAX, f64::MIN), |(lo, hi), (_, y)| (lo.min(*y), hi.max(*y)));
    let scale = |value: f64, low: f64, high: f64| {
        if high - low < 1e-6 { 0.5 } else { (value - low) / (high - low) }
    };
    let margin = 110.0;
    let span = f64::from(CANVAS) - 2.0 * margin;
    positions
        .iter()
        .map(|(x, y)| (margin + span * scale(*x, min_x, max_x), margin + span * scale(*y, min_y, max_y)))
        .collect()
}

fn draw_people(relationships: &Relationships, path: &Path) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (CANVAS, CANVAS)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    root.draw(&Text::new(
        format!(
            "{}'s people: {} shown of {}",
            relationships.owner,
            relationships.people.len(),
            relationships.total_people
        ),
        (20, 20),
        ("sans-serif", 22),
    ))
    .map_err(plot_error)?;
    let positions = layout(relationships);
    let at: HashMap<&str, (i32, i32)> = relationships
        .people
        .iter()
        .zip(&positions)
        .map(|(person, (x, y))| (person.name.as_str(), (*x as i32, *y as i32)))
        .collect();
    let owner = positions.last().map(|(x, y)| (*x as i32, *y as i32)).unwrap_or((500, 500));
    for center in at.values() {
        root.draw(&PathElement::new([owner, *center], ShapeStyle::from(&BLACK.mix(0.06)))).map_err(plot_error)?;
    }
    for link in &relationships.links {
        if let (Some(a), Some(b)) = (at.get(link.between.0.as_str()), at.get(link.between.1.as_str())) {
            let width = 1 + (link.memories as f64).ln().max(0.0) as u32;
            root.draw(&PathElement::new([*a, *b], ShapeStyle::from(&BLACK.mix(0.25)).stroke_width(width)))
                .map_err(plot_error)?;
        }
    }
    for person in &relationships.people {
        let center = at[person.name.as_str()];
        let radius = (6.0 + 18.0 * person.strength) as i32;
        root.draw(&Circle::new(center, radius, community_color(person.community).filled())).map_err(plot_error)?;
        root.draw(&Text::new(person.name.clone(), (center.0 + radius + 3, center.1 - 7), ("sans-serif", 15)))
            .map_err(plot_error)?;
    }
    root.draw(&Circle::new(owner, 8, BLACK.filled())).map_err(plot_error)?;
    root.draw(&Text::new(relationships.owner.clone(), (owner.0 + 11, owner.1 - 7), ("sans-serif", 15)))
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mneme_protocol::relationships::{Community, Link, PersonSummary};

    fn person(name: &str, strength: f64, community: Option<usize>) -> PersonSummary {
        PersonSummary {
            name: name.to_owned(),
            aliases: Vec::new(),
            relation: None,
            interactions: 3,
            mentions: 1,
            first_contact: None,
            last_contact: None,
            typical_gap_days: None,
            sentiment: 0.0,
            strength,
            degree: 1,
            pagerank: 0.5,
            community,
            mentioned_in: Vec::new(),
        }
    }

    fn relationships() -> Relationships {
        Relationships {
            owner: "ann".into(),
            as_of: Some("2024-05-01".into()),
            total_people: 3,
            people: vec![
                person("Omar", 1.0, Some(0)),
                person("Lena \"Lee\" Fischer", 0.5, Some(0)),
                person("Mom", 0.2, None),
            ],
            communities: vec![Community { members: vec!["Omar".into(), "Lena \"Lee\" Fischer".into()] }],
            links: vec![Link { between: ("Omar".into(), "Lena \"Lee\" Fischer".into()), memories: 12 }],
            drift: Vec::new(),
        }
    }

    #[test]
    fn dot_quotes_names_and_links_people() {
        let dot = people_dot(&relationships());
        assert!(dot.contains(r#""Lena \"Lee\" Fischer" [width=0.80"#), "{dot}");
        assert!(dot.contains(r#""Omar" -- "Lena \"Lee\" Fischer""#), "{dot}");
    }

    #[test]
    fn the_svg_graph_names_everyone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("people.svg");
        draw_people(&relationships(), &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"));
        for name in ["Omar", "Mom", "Lena &quot;Lee&quot; Fischer"] {
            assert!(svg.contains(name), "{name} is drawn");
        }
        assert!(people_graph(&relationships(), &dir.path().join("people.png")).is_err());
    }
}

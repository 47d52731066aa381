//! `mneme top`: a live view of every instance, redrawn each interval: its state and health, requests and
//! failures per second and their mean latency over the last interval, its queue and its concurrency limit.

use std::collections::HashMap;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};

use mneme_protocol::AgentStats;
use mneme_protocol::orchestrator::SystemStatus;

use super::{OutputFormat, connect, say};
use crate::readings::Reading;
use crate::settings::Settings;

/// Counters of one instance at one look, and when.
#[derive(Debug, Clone, Copy)]
struct Look {
    at: Instant,
    reading: Reading,
}

impl Look {
    fn of(stats: &AgentStats, at: Instant) -> Self {
        Look { at, reading: Reading::of(stats) }
    }
}

/// One row: what an instance did between two looks.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Activity {
    pub agent_id: String,
    pub state: String,
    pub healthy: Option<bool>,
    pub requests_per_sec: f64,
    pub failures_per_sec: f64,
    /// Mean handling time of the requests of the interval, in milliseconds; none without requests.
    pub mean_ms: Option<f64>,
    pub queue: u64,
    pub in_flight: u64,
    pub max_concurrency: u64,
    pub uptime_secs: f64,
}

fn activity(stats: &AgentStats, before: Option<&Look>, now: &Look, healthy: Option<bool>) -> Activity {
    // A restart in between leaves nothing to measure the interval by.
    let (growth, elapsed) = match before.map(|before| (now.reading.since(Some(&before.reading)), before.at)) {
        Some((growth, since)) if !growth.restarted => (Some(growth), now.at.duration_since(since).as_secs_f64()),
        _ => (None, 0.0),
    };
    let (requests, failures) = growth.map_or((0, 0), |growth| (growth.requests, growth.failures));
    let per_sec = |count: u64| if elapsed > 0.0 { count as f64 / elapsed } else { 0.0 };
    Activity {
        agent_id: stats.agent_id.clone(),
        state: stats.state.to_string(),
        healthy,
        requests_per_sec: per_sec(requests),
        failures_per_sec: per_sec(failures),
        mean_ms: growth.and_then(|growth| growth.mean()).map(|mean| mean * 1_000.0),
        queue: stats.queue_size,
        in_flight: stats.in_flight,
        max_concurrency: stats.max_concurrency,
        uptime_secs: stats.uptime_secs,
    }
}

fn render(rows: &[Activity], interval: Duration, silent: &[String]) -> String {
    let total: f64 = rows.iter().map(|row| row.requests_per_sec).sum();
    let unhealthy = rows.iter().filter(|row| row.healthy == Some(false)).count();
    let mut lines = vec![format!(
        "mneme top · {} · {} instances · {total:.0} req/s · {unhealthy} unhealthy · every {:.1} s (Ctrl-C stops)",
        jiff::Timestamp::now().strftime("%H:%M:%S UTC"),
        rows.len(),
        interval.as_secs_f64()
    )];
    let mut table = Table::new();
    table.load_style(UTF8_BORDERS_ONLY).set_header([
        "instance",
        "state",
        "health",
        "req/s",
        "failed/s",
        "mean (ms)",
        "queue",
        "in flight",
        "up",
    ]);
    for row in rows {
        table.add_row([
            row.agent_id.clone(),
            row.state.clone(),
            match row.healthy {
                Some(true) => "healthy".to_owned(),
                Some(false) => "UNHEALTHY".to_owned(),
                None => "-".to_owned(),
            },
            format!("{:.1}", row.requests_per_sec),
            format!("{:.1}", row.failures_per_sec),
            row.mean_ms.map(|mean| format!("{mean:.2}")).unwrap_or_else(|| "-".to_owned()),
            row.queue.to_string(),
            format!("{}/{}", row.in_flight, row.max_concurrency),
            uptime(row.uptime_secs),
        ]);
    }
    lines.push(table.to_string());
    for agent_id in silent {
        lines.push(format!("{agent_id}: found, but did not report its stats"));
    }
    lines.join("\n")
}

fn uptime(secs: f64) -> String {
    let secs = secs as u64;
    match secs {
        0..60 => format!("{secs}s"),
        60..3_600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3_600, secs % 3_600 / 60),
    }
}

/// Redraws every `interval` until Ctrl-C; with `frames`, stops after that many (the first needs two looks).
pub async fn top(
    settings: &Settings,
    interval: Duration,
    frames: Option<usize>,
    format: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let orchestrator = connect(settings).await?;
    let jetstream = async_nats::jetstream::new(orchestrator.client().clone());
    let mut looks: HashMap<String, Look> = HashMap::new();
    let mut shown = 0;
    let stop = mneme_runtime::shutdown_signal();
    tokio::pin!(stop);
    let interactive = format == OutputFormat::Table && frames.is_none();
    loop {
        let status: SystemStatus = orchestrator.system_status().await?;
        let health = crate::health::recorded(&jetstream, settings.health.thresholds()).await.ok();
        let healthy: HashMap<&str, bool> = health
            .iter()
            .flat_map(|health| &health.instances)
            .map(|instance| (instance.agent_id.as_str(), instance.healthy))
            .collect();
        let at = Instant::now();
        let mut rows = Vec::new();
        let mut silent = Vec::new();
        let mut seen = HashMap::new();
        for instance in status.agents.iter().chain(&status.orchestrators) {
            let Some(stats) = &instance.stats else {
                silent.push(instance.agent_id.clone());
                continue;
            };
            let look = Look::of(stats, at);
            rows.push(activity(
                stats,
                looks.get(&stats.agent_id),
                &look,
                healthy.get(stats.agent_id.as_str()).copied(),
            ));
            seen.insert(stats.agent_id.clone(), look);
        }
        let first = looks.is_empty() && !seen.is_empty();
        looks = seen;
        rows.sort_by(|a, b| a.agent_id.cmp(&b.agent_id));
        if !first {
            match format {
                OutputFormat::Json => say(&serde_json::to_string(&rows)?)?,
                OutputFormat::Table => {
                    let frame = render(&rows, interval, &silent);
                    if interactive {
                        // Home and clear, then the frame: the view stays in place.
                        let mut out = std::io::stdout().lock();
                        let _ = writeln!(out, "\x1b[H\x1b[2J{frame}");
                        let _ = out.flush();
                    } else {
                        say(&frame)?;
                    }
                }
            }
            shown += 1;
            if frames.is_some_and(|frames| shown >= frames) {
                return Ok(ExitCode::SUCCESS);
            }
        }
        let pause = interval.saturating_sub(at.elapsed()).max(Duration::from_millis(50));
        tokio::select! {
            () = &mut stop => return Ok(ExitCode::SUCCESS),
            () = tokio::time::sleep(if first { pause.min(Duration::from_millis(500)) } else { pause }) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(processed: u64, errors: u64, mean: f64, started_at: f64) -> AgentStats {
        serde_json::from_value(serde_json::json!({
            "agent_id": "memory_harvester_0a0b0c0d", "agent_type": "memory_harvester", "version": "0", "state": "active",
            "messages_processed": processed, "errors_count": errors, "failures_count": errors, "avg_processing_time": mean, "last_activity": null,
            "queue_size": 3, "in_flight": 2, "max_concurrency": 64, "shed_count": 0, "events_received": 0,
            "started_at": started_at, "uptime_secs": 75.0
        }))
        .unwrap()
    }

    #[test]
    fn rates_and_latency_are_of_the_interval() {
        let start = Instant::now();
        let before = Look::of(&stats(100, 1, 0.002, 5.0), start);
        // 50 more requests at 4 ms each, 5 of them failed, over two seconds.
        let later = stats(150, 6, (0.002 * 100.0 + 0.004 * 50.0) / 150.0, 5.0);
        let now = Look::of(&later, start + Duration::from_secs(2));
        let row = activity(&later, Some(&before), &now, Some(true));
        assert!((row.requests_per_sec - 25.0).abs() < 1e-9);
        assert!((row.failures_per_sec - 2.5).abs() < 1e-9);
        assert!((row.mean_ms.unwrap() - 4.0).abs() < 1e-6);
        let restarted_stats = stats(3, 0, 0.001, 9.0);
        let restarted_look = Look::of(&restarted_stats, start + Duration::from_secs(2));
        let restarted = activity(&restarted_stats, Some(&before), &restarted_look, None);
        assert_eq!((restarted.requests_per_sec, restarted.mean_ms), (0.0, None));
        let frame = render(&[row], Duration::from_secs(1), &[]);
        assert!(frame.contains("memory_harvester_0a0b0c0d") && frame.contains("25.0") && frame.contains("1m15s"));
    }
}

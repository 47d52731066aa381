//! Finding running instances through the NATS service API (`$SRV.INFO`), not through a registry of our own.

use std::time::Duration;

use async_nats::Client;
use async_nats::service::Info;
use futures::StreamExt;
use tokio::time::Instant;

use mneme_protocol::{AgentCapability, ComponentId, ComponentKind, subjects};

/// One running Mneme instance as it describes itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceInstance {
    pub kind: ComponentKind,
    pub id: ComponentId,
    pub version: String,
    pub description: String,
    pub capabilities: Vec<AgentCapability>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("discovery request failed: {0}")]
    Request(String),
}

/// How long to listen for answers.
#[derive(Debug, Clone, Copy)]
pub struct DiscoveryWindow {
    /// Give up listening after this long.
    pub max_wait: Duration,
    /// Stop early when no new answer came for this long after the last one.
    pub quiet: Duration,
}

impl Default for DiscoveryWindow {
    fn default() -> Self {
        DiscoveryWindow { max_wait: Duration::from_millis(1_000), quiet: Duration::from_millis(150) }
    }
}

/// Asks every service (or every instance of `kind`) to describe itself and gathers the answers; each
/// instance answers on its own, so this is a scatter-gather on an inbox.
pub async fn discover(
    client: &Client,
    kind: Option<ComponentKind>,
    window: DiscoveryWindow,
) -> Result<Vec<ServiceInstance>, DiscoveryError> {
    let inbox = client.new_inbox();
    let mut answers =
        client.subscribe(inbox.clone()).await.map_err(|error| DiscoveryError::Request(error.to_string()))?;
    client
        .publish_with_reply(subjects::discovery("INFO", kind), inbox, "".into())
        .await
        .map_err(|error| DiscoveryError::Request(error.to_string()))?;
    client.flush().await.map_err(|error| DiscoveryError::Request(error.to_string()))?;

    let deadline = Instant::now() + window.max_wait;
    let mut instances = Vec::new();
    loop {
        let wait = if instances.is_empty() { window.max_wait } else { window.quiet };
        let until = deadline.min(Instant::now() + wait);
        match tokio::time::timeout_at(until, answers.next()).await {
            Ok(Some(message)) => {
                if let Some(instance) = read_info(&message.payload) {
                    instances.push(instance);
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
    instances.sort_by(|left, right| (left.kind.as_str(), &left.id).cmp(&(right.kind.as_str(), &right.id)));
    Ok(instances)
}

/// Reads one `$SRV.INFO` answer; services that are not Mneme's are skipped.
fn read_info(body: &[u8]) -> Option<ServiceInstance> {
    let info: Info = serde_json::from_slice(body).ok()?;
    let kind: ComponentKind = info.name.parse().ok()?;
    let id = ComponentId::parse(info.metadata.get("agent_id")?)?;
    let capabilities =
        info.metadata.get("capabilities").and_then(|json| serde_json::from_str(json).ok()).unwrap_or_default();
    Some(ServiceInstance { kind, id, version: info.version, description: info.description, capabilities })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mneme_services_and_skips_others() {
        let info = serde_json::json!({
            "type": "io.nats.micro.v1.info_response",
            "name": "memory_harvester",
            "id": "abc",
            "description": "d",
            "version": "0.1.0",
            "metadata": {
                "agent_id": "memory_harvester_0000abcd",
                "capabilities": "[{\"name\":\"process_memory\",\"description\":\"x\",\"input_types\":[],\"output_types\":[]}]"
            },
            "endpoints": []
        });
        let instance = read_info(info.to_string().as_bytes()).unwrap();
        assert_eq!(instance.id.as_str(), "memory_harvester_0000abcd");
        assert_eq!(instance.capabilities[0].name, "process_memory");

        let foreign = serde_json::json!({"type": "x", "name": "billing", "id": "1", "description": "", "version": "1.0.0", "metadata": {}, "endpoints": []});
        assert!(read_info(foreign.to_string().as_bytes()).is_none());
        assert!(read_info(b"not json").is_none());
    }
}

//! With an OTLP endpoint configured, an agent exports its spans, and they continue the trace a client started.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::HeaderMap;
use mneme_protocol::{AgentType, ComponentKind};
use mneme_system_tests::{NatsServer, Process, eventually, free_port, msgpack_body, raw_request, wait_for_instances};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::trace::v1::Span;

/// An OTLP/gRPC trace receiver that keeps every span it is sent, with its service name.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<(String, Span)>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|resource| &resource.attributes)
                .find(|attribute| attribute.key == "service.name")
                .and_then(|attribute| attribute.value.as_ref())
                .map(|value| format!("{:?}", value.value))
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                spans.extend(scope.spans.into_iter().map(|span| (service.clone(), span)));
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agent_exports_a_child_span_of_the_callers_trace() {
    let collector = Collector::default();
    let port = free_port();
    let server = tonic::transport::Server::builder().add_service(TraceServiceServer::new(collector.clone()));
    tokio::spawn(server.serve(([127, 0, 0, 1], port).into()));

    let nats = NatsServer::start();
    let endpoint = format!("http://127.0.0.1:{port}");
    let _harvester = Process::start(
        "mneme-memory-harvester",
        &nats.url,
        &[
            ("MNEME__TELEMETRY__OTLP_ENDPOINT", &endpoint),
            // Export at once rather than on the batch processor's usual schedule.
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let client = nats.connect().await;
    wait_for_instances(&client, ComponentKind::Agent(AgentType::MemoryHarvester), 1, Duration::from_secs(20)).await;

    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let parent = "b7ad6b7169203331";
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", format!("00-{trace_id}-{parent}-01").as_str());
    let body = msgpack_body("process_memory", serde_json::json!({"raw_input": "Exported through the collector"}));
    let reply = raw_request(&client, "mneme.agent.memory_harvester.process_memory", headers, body).await;
    let response = reply.header("traceresponse").unwrap();

    eventually(Duration::from_secs(15), "the span reaches the collector", async || {
        collector.spans.lock().unwrap().iter().any(|(_, span)| hex(&span.trace_id) == trace_id)
    })
    .await;
    let spans = collector.spans.lock().unwrap();
    let (service, span) = spans.iter().find(|(_, span)| hex(&span.trace_id) == trace_id).unwrap();
    assert!(service.contains("mneme-memory-harvester"), "{service}");
    assert_eq!(hex(&span.parent_span_id), parent, "a child of the caller's span");
    assert!(response.contains(&hex(&span.span_id)), "traceresponse names the exported span: {response}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

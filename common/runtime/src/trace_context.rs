//! W3C trace context in NATS headers: injected on every outgoing message, extracted from every incoming one.

use async_nats::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use mneme_protocol::subjects::headers;

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value.as_str());
    }
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|value| value.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_ref()).collect()
    }
}

/// Writes the context of `span` into `headers` as `traceparent` (and `tracestate`).
pub fn inject(span: &tracing::Span, headers: &mut HeaderMap) {
    let context = span.context();
    if context.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
    }
}

/// Makes `span` a child of the trace named in `headers`, if any. Returns whether there was one.
pub fn continue_trace(span: &tracing::Span, headers: Option<&HeaderMap>) -> bool {
    let Some(headers) = headers.filter(|headers| headers.get(headers::TRACEPARENT).is_some()) else {
        return false;
    };
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    if !parent.span().span_context().is_valid() {
        return false;
    }
    // Fails only when no OpenTelemetry layer is installed, and then there is no trace to continue.
    span.set_parent(parent).is_ok()
}

/// The `traceresponse` value naming `span`: the server-side span of a request, for the caller to link to.
pub fn trace_response(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then(|| {
        format!("00-{}-{}-{:02x}", span_context.trace_id(), span_context.span_id(), span_context.trace_flags().to_u8())
    })
}

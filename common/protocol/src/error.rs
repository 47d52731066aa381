//! The payload of `error_response` and the codes it carries.

use serde::{Deserialize, Serialize};

/// Why a request failed, in HTTP's families: 4xx means the request is at fault and resending it unchanged
/// will fail again; 5xx means the agent or its dependencies are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The body could not be decoded, or the payload does not fit the message type.
    BadRequest,
    /// The agent has no handler for the message type.
    UnknownMessageType,
    /// The request names a schema version this agent does not understand.
    UnsupportedSchema,
    /// The body is larger than the agent accepts.
    PayloadTooLarge,
    /// The principal may not do this.
    Forbidden,
    /// What the request names does not exist (or the principal may not know that it does).
    NotFound,
    /// The handler failed.
    Internal,
    /// The agent cannot take more work now, or a dependency is down; try again.
    Unavailable,
    /// A dependency did not answer in time.
    Timeout,
}

impl ErrorCode {
    pub const fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::UnknownMessageType => 404,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedSchema => 422,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
            ErrorCode::Timeout => 504,
        }
    }

    /// A stable machine-readable name, carried as `kind` in the payload.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnknownMessageType => "unknown_message_type",
            ErrorCode::UnsupportedSchema => "unsupported_schema",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Internal => "internal",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Timeout => "timeout",
        }
    }

    /// Whether the same request may succeed later: never for a client's mistake.
    pub const fn recoverable(self) -> bool {
        self.status() >= 500
    }

    pub fn from_kind(kind: &str) -> Option<Self> {
        [
            ErrorCode::BadRequest,
            ErrorCode::UnknownMessageType,
            ErrorCode::UnsupportedSchema,
            ErrorCode::PayloadTooLarge,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::Internal,
            ErrorCode::Unavailable,
            ErrorCode::Timeout,
        ]
        .into_iter()
        .find(|code| code.as_str() == kind)
    }
}

/// The seed's fault-isolation reply, `{error, code, recoverable}`, plus `kind` for matching in code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorPayload {
    pub error: String,
    pub code: u16,
    pub recoverable: bool,
    #[serde(default)]
    pub kind: String,
}

impl ErrorPayload {
    pub fn new(code: ErrorCode, error: impl Into<String>) -> Self {
        ErrorPayload {
            error: error.into(),
            code: code.status(),
            recoverable: code.recoverable(),
            kind: code.as_str().to_owned(),
        }
    }

    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::from_kind(&self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_mistakes_are_not_recoverable_and_server_failures_are() {
        assert!(!ErrorPayload::new(ErrorCode::BadRequest, "x").recoverable);
        assert!(!ErrorPayload::new(ErrorCode::UnknownMessageType, "x").recoverable);
        assert!(ErrorPayload::new(ErrorCode::Internal, "x").recoverable);
        assert_eq!(ErrorPayload::new(ErrorCode::Unavailable, "x").code, 503);
    }

    #[test]
    fn kinds_round_trip() {
        let payload = ErrorPayload::new(ErrorCode::PayloadTooLarge, "too big");
        assert_eq!(payload.error_code(), Some(ErrorCode::PayloadTooLarge));
    }
}

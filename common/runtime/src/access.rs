//! Who may read results derived from an owner's memories: the privacy guardian decides (and audits) every
//! read; agents that serve such results ask it before answering a principal.

use std::future::Future;

use mneme_protocol::guardian::{CheckAccessRequest, Scope};
use mneme_protocol::{AgentType, ComponentKind, ErrorCode};

use crate::agent::HandlerError;
use crate::call::{CallError, CallOptions, Caller, Target};

/// Decides whether a principal may read results derived from an owner's memories.
pub trait AccessCheck: Send + Sync + 'static {
    fn check_derived(&self, principal: &str, owner: &str) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

/// Asks the privacy guardian, which decides and audits every read.
#[derive(Debug, Clone)]
pub struct GuardianAccess(pub Caller);

impl AccessCheck for GuardianAccess {
    async fn check_derived(&self, principal: &str, owner: &str) -> Result<(), HandlerError> {
        let request =
            CheckAccessRequest { principal: principal.to_owned(), owner: owner.to_owned(), scope: Scope::Derived };
        let target = Target::AnyOf(ComponentKind::Agent(AgentType::PrivacyGuardian));
        match self
            .0
            .call(&target, mneme_protocol::guardian::message_types::CHECK_ACCESS, &request, &CallOptions::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(error) => Err(guardian_refused(error)),
        }
    }
}

/// What the privacy guardian's answer to an access question means to the agent that asked: a refusal stays
/// a refusal, and a principal or owner it cannot take (an empty one) is the caller's mistake, as it came from
/// the caller; anything else is the guardian being unavailable, which a retry may mend.
pub fn guardian_refused(error: CallError) -> HandlerError {
    match error {
        CallError::Remote { error, .. } if error.code == ErrorCode::Forbidden.status() => {
            HandlerError::new(ErrorCode::Forbidden, error.error)
        }
        CallError::Remote { error, .. } if error.code == ErrorCode::BadRequest.status() => {
            HandlerError::new(ErrorCode::BadRequest, error.error)
        }
        error => HandlerError::unavailable(format!("the privacy guardian cannot decide: {error}")),
    }
}

/// Lets owners read their own results and nobody else's: for running agent logic without a guardian, in tests.
#[derive(Debug, Clone, Copy)]
pub struct OwnerOnly;

impl AccessCheck for OwnerOnly {
    async fn check_derived(&self, principal: &str, owner: &str) -> Result<(), HandlerError> {
        if principal == owner {
            Ok(())
        } else {
            Err(HandlerError::new(
                ErrorCode::Forbidden,
                format!("{principal} may not read what is derived from {owner}'s memories"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use mneme_protocol::ErrorPayload;

    use super::*;

    fn answered(code: ErrorCode) -> CallError {
        let guardian = ComponentKind::Agent(AgentType::PrivacyGuardian);
        let subject =
            mneme_protocol::subjects::request(guardian, mneme_protocol::guardian::message_types::CHECK_ACCESS);
        CallError::Remote { subject, error: ErrorPayload::new(code, "the owner is empty") }
    }

    #[test]
    fn the_guardian_s_refusals_reach_the_caller_as_they_were_and_its_failures_as_unavailable() {
        assert_eq!(guardian_refused(answered(ErrorCode::Forbidden)).code, ErrorCode::Forbidden);
        let bad = guardian_refused(answered(ErrorCode::BadRequest));
        assert_eq!((bad.code, bad.message.as_str()), (ErrorCode::BadRequest, "the owner is empty"));
        assert_eq!(guardian_refused(answered(ErrorCode::Internal)).code, ErrorCode::Unavailable);
        let timeout = CallError::TimedOut { subject: "x".to_owned(), timeout: std::time::Duration::from_secs(1) };
        assert_eq!(guardian_refused(timeout).code, ErrorCode::Unavailable);
    }
}

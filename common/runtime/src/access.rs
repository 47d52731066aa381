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
            Err(CallError::Remote { error, .. }) if error.code == ErrorCode::Forbidden.status() => {
                Err(HandlerError::new(ErrorCode::Forbidden, error.error))
            }
            Err(error) => Err(HandlerError::unavailable(format!("the privacy guardian cannot decide: {error}"))),
        }
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

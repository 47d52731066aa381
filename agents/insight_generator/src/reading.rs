//! Reading memories for a principal: whether they may read an owner's memories at all, and each memory as
//! they may see it. The privacy guardian decides and audits both; the insight generator keeps no text.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use mneme_protocol::guardian::{
    AccessDecision, CheckAccessRequest, GetMemoryRequest, MemoryReply, MemoryView, Scope, Sensitivity, message_types,
};
use mneme_protocol::{AgentType, ComponentKind, ErrorCode};
use mneme_runtime::HandlerError;
use mneme_runtime::access::guardian_refused;
use mneme_runtime::call::{CallError, CallOptions, Caller, Target};

pub trait MemoryReading: Send + Sync + 'static {
    /// What `principal` may read of `owner`'s memories (`scope` memories) or of what is derived from them
    /// (`scope` derived); a 403 when nothing.
    fn decide(
        &self,
        principal: &str,
        owner: &str,
        scope: Scope,
    ) -> impl Future<Output = Result<AccessDecision, HandlerError>> + Send;
    /// One memory as `principal` may see it; `None` when it is gone or above what they may read.
    fn read(
        &self,
        principal: &str,
        owner: &str,
        memory_id: &str,
    ) -> impl Future<Output = Result<Option<MemoryView>, HandlerError>> + Send;
}

/// Through the privacy guardian.
#[derive(Debug, Clone)]
pub struct GuardianReading(pub Caller);

impl MemoryReading for GuardianReading {
    async fn decide(&self, principal: &str, owner: &str, scope: Scope) -> Result<AccessDecision, HandlerError> {
        let request = CheckAccessRequest { principal: principal.to_owned(), owner: owner.to_owned(), scope };
        let target = Target::AnyOf(ComponentKind::Agent(AgentType::PrivacyGuardian));
        let reply = self
            .0
            .call(&target, message_types::CHECK_ACCESS, &request, &CallOptions::default())
            .await
            .map_err(guardian_refused)?;
        reply.payload_as().map_err(|error| HandlerError::internal(error.to_string()))
    }

    async fn read(&self, principal: &str, owner: &str, memory_id: &str) -> Result<Option<MemoryView>, HandlerError> {
        let request = GetMemoryRequest {
            principal: principal.to_owned(),
            owner: owner.to_owned(),
            memory_id: memory_id.to_owned(),
        };
        let target = Target::AnyOf(ComponentKind::Agent(AgentType::PrivacyGuardian));
        match self.0.call(&target, message_types::GET_MEMORY, &request, &CallOptions::default()).await {
            Ok(reply) => {
                let memory: MemoryReply =
                    reply.payload_as().map_err(|error| HandlerError::internal(error.to_string()))?;
                Ok(Some(memory.memory))
            }
            Err(CallError::Remote { error, .. })
                if error.code == ErrorCode::NotFound.status() || error.code == ErrorCode::Forbidden.status() =>
            {
                Ok(None)
            }
            Err(error) => Err(guardian_refused(error)),
        }
    }
}

/// Memories held in memory and read by their owner alone: for tests of the agent's logic without a guardian.
#[derive(Debug, Default)]
pub struct OwnersOnly(Mutex<HashMap<(String, String), MemoryView>>);

impl OwnersOnly {
    pub fn keep(&self, view: MemoryView) {
        let key = (view.memory.owner.clone(), view.memory.id.clone());
        self.0.lock().expect("unpoisoned").insert(key, view);
    }
}

impl MemoryReading for OwnersOnly {
    async fn decide(&self, principal: &str, owner: &str, _scope: Scope) -> Result<AccessDecision, HandlerError> {
        if principal != owner {
            return Err(HandlerError::new(
                ErrorCode::Forbidden,
                format!("{principal} may not read {owner}'s memories"),
            ));
        }
        Ok(AccessDecision {
            owner: owner.to_owned(),
            principal: principal.to_owned(),
            max_sensitivity: Sensitivity::Secret,
            redact: false,
        })
    }

    async fn read(&self, principal: &str, owner: &str, memory_id: &str) -> Result<Option<MemoryView>, HandlerError> {
        if principal != owner {
            return Ok(None);
        }
        Ok(self.0.lock().expect("unpoisoned").get(&(owner.to_owned(), memory_id.to_owned())).cloned())
    }
}

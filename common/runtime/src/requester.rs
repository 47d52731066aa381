//! Who sent a request, as the NATS server vouches for it: a request from the clients' account crosses a
//! service import that stamps `Nats-Request-Info` with the requesting user (`share: true`; see
//! `deploy/README.md`), and that user is the only principal the request may act as. Requests from inside
//! Mneme's own account carry no such header: they come from Mneme's processes, which pass on a principal
//! they have already bound.

use mneme_protocol::ErrorCode;

use crate::agent::HandlerError;

/// The header the server adds when a request crosses a service import.
pub const REQUEST_INFO: &str = "Nats-Request-Info";

/// The part of the server's `ClientInfo` that says who asks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Requester {
    #[serde(rename = "acc")]
    pub account: String,
    #[serde(default)]
    pub user: Option<String>,
}

impl Requester {
    pub fn parse(header: &str) -> Result<Self, HandlerError> {
        serde_json::from_str(header).map_err(|error| {
            HandlerError::new(
                ErrorCode::Forbidden,
                format!("the server's {REQUEST_INFO} header is unreadable: {error}"),
            )
        })
    }

    /// Whether the payload acts only as this user: a `principal` at its top, when present, must be the
    /// user (what it then reads of others is the privacy guardian's to allow); without one, every `owner`
    /// anywhere in it must be the user, so that nobody writes, reads or forgets as someone else.
    pub fn check(&self, payload: &serde_json::Value) -> Result<(), HandlerError> {
        let Some(user) = self.user.as_deref().filter(|user| !user.is_empty()) else {
            return Err(HandlerError::new(
                ErrorCode::Forbidden,
                format!(
                    "the request came from account {} without its user; the account's import of Mneme's services \
                     must share it (`share: true`)",
                    self.account
                ),
            ));
        };
        if let Some(principal) = payload.get("principal") {
            return match principal.as_str() {
                Some(principal) if principal == user => Ok(()),
                _ => Err(HandlerError::new(
                    ErrorCode::Forbidden,
                    format!("NATS user {user} may ask only as principal {user}, not as {principal}"),
                )),
            };
        }
        match other_owner(payload, user) {
            None => Ok(()),
            Some(owner) => Err(HandlerError::new(
                ErrorCode::Forbidden,
                format!("NATS user {user} may act only on its own memories, not on those of {owner}"),
            )),
        }
    }
}

/// The first `owner` in the payload that is not `user`.
fn other_owner<'a>(payload: &'a serde_json::Value, user: &str) -> Option<&'a serde_json::Value> {
    match payload {
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, value)| {
            if key == "owner" && value.as_str() != Some(user) && !value.is_null() {
                Some(value)
            } else {
                other_owner(value, user)
            }
        }),
        serde_json::Value::Array(items) => items.iter().find_map(|item| other_owner(item, user)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn alice() -> Requester {
        Requester::parse(r#"{"acc":"CLIENTS","user":"alice","rtt":1200,"name":"laptop"}"#).unwrap()
    }

    #[test]
    fn a_user_acts_as_itself_only() {
        assert!(alice().check(&json!({"principal": "alice", "owner": "bob"})).is_ok());
        assert!(alice().check(&json!({"owner": "alice", "raw_input": "hello"})).is_ok());
        assert!(alice().check(&json!({"raw_inputs": [{"owner": "alice"}, {"raw_input": "x"}]})).is_ok());
        assert!(alice().check(&json!({})).is_ok());
        for payload in [
            json!({"principal": "bob", "owner": "bob"}),
            json!({"owner": "bob"}),
            json!({"input": {"raw_inputs": [{"owner": "alice"}, {"owner": "bob"}]}}),
            json!({"principal": 7}),
        ] {
            let error = alice().check(&payload).unwrap_err();
            assert_eq!(error.code, ErrorCode::Forbidden, "{payload}");
        }
    }

    #[test]
    fn an_import_that_does_not_share_the_user_is_refused() {
        let requester = Requester::parse(r#"{"acc":"CLIENTS","rtt":1200}"#).unwrap();
        assert_eq!(requester.check(&json!({})).unwrap_err().code, ErrorCode::Forbidden);
        assert!(Requester::parse("not json").is_err());
    }
}

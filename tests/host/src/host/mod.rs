//! Implementations of the Spin host interfaces (key-value, outbound Redis, Postgres, variables) for [`HostState`].

pub mod key_value;
mod pg_types;
pub mod postgres;
pub mod redis;

use crate::bindings::fermyon::spin::redis_types;
use crate::bindings::fermyon::spin2_0_0::variables;
use crate::runtime::HostState;
use crate::variables::validate_name;

impl variables::Host for HostState {
    /// Like Spin: the name must be valid, then it must be one of the
    /// component's `[component.X.variables]` (resolved at startup).
    async fn get(&mut self, name: String) -> anyhow::Result<Result<String, variables::Error>> {
        if let Err(reason) = validate_name(&name) {
            return Ok(Err(variables::Error::InvalidName(reason)));
        }
        Ok(self.env.variables.get(&name).cloned().ok_or_else(|| {
            variables::Error::Undefined(format!("no variable for {:?}.{name:?}", self.env.id))
        }))
    }
}

/// Types only (payload, error); linked because `#[redis_component]` imports it.
impl redis_types::Host for HostState {}

//! The guard: the per-endpoint step between routing and the upstream call, where a request may
//! be refused before any backend sees it. Public endpoints pass. A protected endpoint
//! (`auth/validator`) is where JWT validation and the revocation check run.
//!
//! JWT validation is its own piece of work (see `docs/ARCHITECTURE.md`); until it is in this
//! build, a protected endpoint fails closed: every request gets 401, never the backend.

use crate::http::RequestHead;
use crate::reject::{AuthReason, Reject};

use super::routes::Route;

/// What the guard adds to the upstream request when it lets one through.
#[derive(Debug, Default)]
pub struct Pass;

/// Decides whether `head` may go on to `route`'s backend.
pub fn check(route: &Route, _head: &RequestHead<'_>) -> Result<Pass, Reject> {
    match route.endpoint.validator {
        None => Ok(Pass),
        Some(_) => Err(Reject::Unauthorized(AuthReason::Misconfigured)),
    }
}

//! The guard: the per-endpoint step between routing and the upstream call, where a request may
//! be refused before any backend sees it. Public endpoints pass. A protected endpoint
//! (`auth/validator`) runs JWT validation and the revocation check (`crate::jwt`); what it
//! refuses becomes a [`Reject`] (401 or 403, decided in `crate::reject`).
//!
//! Synchronous and allocation-free: it borrows the core's JWT scratch for the duration of the
//! call, and renders `propagate_claims` values into the connection's [`Propagated`].

use std::cell::RefCell;
use std::sync::Arc;

use bloom::Revocations;

use crate::http::RequestHead;
use crate::jwt::{self, Propagated, RevocationCheck, Scratch, Validator, Validators};
use crate::reject::{AuthReason, Reject};

use super::routes::Route;

#[cfg(test)]
mod tests;

/// Propagated headers beyond this many are gathered on the heap (never with a sane config).
const STACK_HEADERS: usize = 32;

/// What the guard of a data core needs, besides the route.
#[derive(Debug)]
pub struct Guard {
    /// Every endpoint's validator, by route index (shared, immutable).
    pub validators: Arc<Validators>,
    /// The revocation filter (shared with the admin core, which alone writes it).
    pub revocations: Option<Arc<Revocations>>,
    /// `auth/revoker.token_keys`.
    pub token_keys: Arc<[Box<str>]>,
    /// This core's validation buffers.
    scratch: RefCell<Scratch>,
}

impl Guard {
    /// A guard over these validators and filter.
    pub fn new(
        validators: Arc<Validators>,
        revocations: Option<Arc<Revocations>>,
        token_keys: Arc<[Box<str>]>,
    ) -> Guard {
        Guard {
            validators,
            revocations,
            token_keys,
            scratch: RefCell::new(Scratch::new()),
        }
    }

    /// No validators: every protected endpoint fails closed with 401.
    pub fn closed() -> Guard {
        Guard::new(Arc::default(), None, Arc::from(Vec::new()))
    }
}

/// A request that may go on, and what it adds to the upstream request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pass<'v> {
    /// The validator that let it through (`None`: a public endpoint).
    validator: Option<&'v Validator>,
}

impl Pass<'_> {
    /// Calls `f` with the `(name, value)` header pairs to set on the upstream request: the
    /// `propagate_claims` headers (rendered into `values` by [`check`]), none for a public
    /// endpoint. No allocation for up to 32 headers.
    pub fn with_headers<R>(
        &self,
        values: &Propagated,
        f: impl FnOnce(&[(&[u8], &[u8])]) -> R,
    ) -> R {
        let Some(validator) = self.validator else {
            return f(&[]);
        };
        let pairs = validator
            .propagate
            .iter()
            .enumerate()
            .map(|(i, p)| (&p.header[..], values.value(i)));
        if validator.propagate.len() <= STACK_HEADERS {
            let mut stack: [(&[u8], &[u8]); STACK_HEADERS] = [(&[], &[]); STACK_HEADERS];
            let mut n = 0;
            for (slot, pair) in stack.iter_mut().zip(pairs) {
                *slot = pair;
                n += 1;
            }
            f(stack.get(..n).unwrap_or(&[]))
        } else {
            let heap: Vec<(&[u8], &[u8])> = pairs.collect();
            f(&heap)
        }
    }
}

/// Decides whether `head` may go on to route `index` (`route`'s backend). `values` receives the
/// `propagate_claims` values; `now` is Unix seconds.
pub fn check<'g>(
    guard: &'g Guard,
    index: usize,
    route: &Route,
    head: &RequestHead<'_>,
    now: u64,
    values: &mut Propagated,
) -> Result<Pass<'g>, Reject> {
    values.clear();
    if route.endpoint.validator.is_none() {
        return Ok(Pass::default());
    }
    let result = validate(guard, index, head, now, values);
    if let Err(reject) = &result
        && jwt::debug_enabled()
    {
        eprintln!(
            "bloomgate: debug: {} {}: {reject}",
            String::from_utf8_lossy(head.method_bytes()),
            String::from_utf8_lossy(head.path())
        );
    }
    result
}

fn validate<'g>(
    guard: &'g Guard,
    index: usize,
    head: &RequestHead<'_>,
    now: u64,
    values: &mut Propagated,
) -> Result<Pass<'g>, Reject> {
    let Some(validator) = guard.validators.get(index) else {
        return Err(Reject::Unauthorized(AuthReason::Misconfigured));
    };
    let token = jwt::token::extract(head, &validator.cookie_key).map_err(Reject::Unauthorized)?;
    // Only this synchronous call borrows the scratch; a failed borrow cannot happen on one
    // thread, and would fail closed.
    let Ok(mut scratch) = guard.scratch.try_borrow_mut() else {
        return Err(Reject::Unauthorized(AuthReason::Misconfigured));
    };
    let revocation = guard.revocations.as_deref().map(|filter| RevocationCheck {
        filter,
        token_keys: &guard.token_keys,
    });
    validator.validate(token, now, revocation, &mut scratch, values)?;
    Ok(Pass {
        validator: Some(validator),
    })
}

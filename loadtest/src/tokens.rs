//! Token pools: every token a core will send, minted before the run (one thread per core), so
//! no signing happens while timing. `jti`s are `PREFIX-CORE-COUNTER`, unique in the run.

use crate::jwt::{JwtError, Minter, Variant};
use crate::mix::{Kind, Mix};

/// One core's tokens, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorePool {
    tokens: [Vec<Box<str>>; 5],
    revoked_jtis: Vec<String>,
}

impl CorePool {
    /// The tokens of `kind` (empty for [`Kind::None`] and for kinds not in the mix).
    pub fn tokens(&self, kind: Kind) -> &[Box<str>] {
        &self.tokens[kind.index()]
    }

    /// The `jti` of every [`Kind::Revoked`] token, for the revocation step.
    pub fn revoked_jtis(&self) -> &[String] {
        &self.revoked_jtis
    }
}

/// The `jti` of token `counter` of `core`.
pub fn jti(prefix: &str, core: usize, counter: usize) -> String {
    format!("{prefix}-{core}-{counter}")
}

/// What a token of `kind` is minted as (`None` for a kind without token).
fn variant(kind: Kind) -> Option<Variant> {
    match kind {
        Kind::Valid | Kind::Revoked => Some(Variant::Valid),
        Kind::Expired => Some(Variant::Expired),
        Kind::BadSig => Some(Variant::BadSig),
        Kind::None => None,
    }
}

/// Mints the pool of one core: `per_kind` tokens of every token-carrying kind in `mix`.
pub fn mint_core(
    minter: &Minter,
    mix: &Mix,
    prefix: &str,
    core: usize,
    per_kind: usize,
    now: u64,
) -> Result<CorePool, JwtError> {
    let mut pool = CorePool::default();
    let mut counter = 0usize;
    for kind in mix.kinds() {
        let Some(variant) = variant(kind) else {
            continue;
        };
        let tokens = &mut pool.tokens[kind.index()];
        tokens.reserve_exact(per_kind);
        for _ in 0..per_kind {
            let id = jti(prefix, core, counter);
            counter += 1;
            tokens.push(minter.mint(&id, variant, now)?.into_boxed_str());
            if kind == Kind::Revoked {
                pool.revoked_jtis.push(id);
            }
        }
    }
    Ok(pool)
}

/// Mints the pools of `cores` cores in parallel (one thread each).
pub fn mint_all(
    minter: &Minter,
    mix: &Mix,
    prefix: &str,
    cores: usize,
    per_kind: usize,
    now: u64,
) -> Result<Vec<CorePool>, JwtError> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..cores)
            .map(|core| scope.spawn(move || mint_core(minter, mix, prefix, core, per_kind, now)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or(Err(JwtError::Sign("minting thread panicked")))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests;

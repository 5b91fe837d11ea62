//! Request kinds and the mix: which kind of token each request carries, and the status each
//! kind must get back.
//!
//! The order of kinds is a smooth weighted round robin over the (gcd-reduced) weights, so every
//! full cycle holds the exact proportions and kinds are spread out inside it; each connection
//! starts the cycle at a different place.

use std::fmt;

/// What a request carries, and so what the target must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A well-formed, signed, unexpired token whose `jti` was not revoked.
    Valid,
    /// A valid token whose `jti` was revoked through the Revoke Server before the run.
    Revoked,
    /// A correctly signed token whose `exp` is an hour in the past.
    Expired,
    /// A valid token with one bit of its signature flipped.
    BadSig,
    /// No token at all.
    None,
}

impl Kind {
    /// Every kind, in report order; `Kind::index` is the position here.
    pub const ALL: [Kind; 5] = [
        Kind::Valid,
        Kind::Revoked,
        Kind::Expired,
        Kind::BadSig,
        Kind::None,
    ];

    /// The kind's position in [`Kind::ALL`] (for per-kind arrays).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The name used by `--mix`, `--expect` and the reports.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Valid => "valid",
            Kind::Revoked => "revoked",
            Kind::Expired => "expired",
            Kind::BadSig => "badsig",
            Kind::None => "none",
        }
    }

    /// The kind named `name` (as `--mix` spells it).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether requests of this kind carry a token (and so need `--jwt-key`).
    pub const fn has_token(self) -> bool {
        !matches!(self, Kind::None)
    }

    /// The status a gateway answers: 200 for a valid token, 401 for everything else.
    pub const fn default_status(self) -> u16 {
        match self {
            Kind::Valid => 200,
            _ => 401,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `--mix` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MixError {
    /// An entry is not `kind=weight`.
    #[error("--mix: `{0}` is not kind=weight (kinds: valid, revoked, expired, badsig, none)")]
    Entry(String),
    /// A kind appears twice.
    #[error("--mix: `{0}` appears twice")]
    Duplicate(String),
    /// Every weight is zero.
    #[error("--mix: at least one weight must be above 0")]
    Empty,
    /// The reduced weights are so fine-grained that one cycle would be huge.
    #[error("--mix: weights too fine-grained (cycle of {0} requests; use percentages)")]
    TooFine(u64),
}

/// Relative weights of the kinds, as `--mix valid=90,revoked=5,expired=3,badsig=2` gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    weights: [u32; 5],
}

/// The longest mix cycle accepted (after dividing the weights by their gcd).
const MAX_CYCLE: u64 = 100_000;

impl Mix {
    /// Only one kind.
    pub fn only(kind: Kind) -> Mix {
        let mut weights = [0; 5];
        weights[kind.index()] = 1;
        Mix { weights }
    }

    /// Parses `kind=weight,kind=weight,...`; absent kinds weigh 0.
    pub fn parse(spec: &str) -> Result<Mix, MixError> {
        let mut weights = [0u32; 5];
        let mut seen = [false; 5];
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = || MixError::Entry(entry.to_owned());
            let (name, weight) = entry.split_once('=').ok_or_else(bad)?;
            let kind = Kind::from_name(name.trim()).ok_or_else(bad)?;
            let weight: u32 = weight.trim().parse().map_err(|_| bad())?;
            if std::mem::replace(&mut seen[kind.index()], true) {
                return Err(MixError::Duplicate(kind.name().to_owned()));
            }
            weights[kind.index()] = weight;
        }
        let mix = Mix { weights };
        let cycle = mix.reduced().iter().map(|&w| u64::from(w)).sum::<u64>();
        if cycle == 0 {
            return Err(MixError::Empty);
        }
        if cycle > MAX_CYCLE {
            return Err(MixError::TooFine(cycle));
        }
        Ok(mix)
    }

    /// The weight given to `kind`.
    pub fn weight(&self, kind: Kind) -> u32 {
        self.weights[kind.index()]
    }

    /// The kinds with a weight above zero.
    pub fn kinds(&self) -> impl Iterator<Item = Kind> + '_ {
        Kind::ALL.into_iter().filter(|k| self.weight(*k) > 0)
    }

    /// Whether any request carries a token.
    pub fn needs_tokens(&self) -> bool {
        self.kinds().any(Kind::has_token)
    }

    /// The share of requests of `kind`, in `[0, 1]`.
    pub fn share(&self, kind: Kind) -> f64 {
        let total: u64 = self.weights.iter().map(|&w| u64::from(w)).sum();
        if total == 0 {
            return 0.0;
        }
        f64::from(self.weight(kind)) / total as f64
    }

    /// The weights divided by their greatest common divisor.
    fn reduced(&self) -> [u32; 5] {
        let g = self.weights.iter().fold(0, |a, &b| gcd(a, b));
        if g == 0 {
            return self.weights;
        }
        self.weights.map(|w| w / g)
    }

    /// One full cycle of kinds: smooth weighted round robin (nginx's), so each kind appears
    /// exactly its reduced weight times, spread as evenly as the weights allow.
    pub fn cycle(&self) -> Vec<Kind> {
        let weights = self.reduced().map(i64::from);
        let total: i64 = weights.iter().sum();
        let mut current = [0i64; 5];
        let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        for _ in 0..total {
            for (c, w) in current.iter_mut().zip(weights) {
                *c += w;
            }
            // Kinds with weight zero never win: `total > 0` keeps some current value positive.
            let mut best = 0;
            for i in 1..5 {
                if current[i] > current[best] {
                    best = i;
                }
            }
            current[best] -= total;
            out.push(Kind::ALL[best]);
        }
        out
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for kind in self.kinds() {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{}={}", kind.name(), self.weight(kind))?;
        }
        Ok(())
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The status expected for each kind (`--expect-valid`, `--expect KIND=CODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect(pub [u16; 5]);

impl Default for Expect {
    fn default() -> Self {
        Expect(Kind::ALL.map(Kind::default_status))
    }
}

impl Expect {
    /// The status `kind` must get.
    pub fn status(&self, kind: Kind) -> u16 {
        self.0[kind.index()]
    }

    /// Sets the status `kind` must get.
    pub fn set(&mut self, kind: Kind, status: u16) {
        self.0[kind.index()] = status;
    }
}

/// Walks one connection through the mix cycle, starting at its own offset.
#[derive(Debug, Clone)]
pub struct MixCursor {
    cycle: std::rc::Rc<[Kind]>,
    position: usize,
}

impl MixCursor {
    /// A cursor for connection `index` of `connections`: starts spread evenly over the cycle.
    pub fn new(cycle: std::rc::Rc<[Kind]>, index: usize, connections: usize) -> MixCursor {
        let len = cycle.len().max(1);
        let position = index.saturating_mul(len) / connections.max(1) % len;
        MixCursor { cycle, position }
    }

    /// The next request's kind.
    pub fn next_kind(&mut self) -> Kind {
        let kind = self.cycle.get(self.position).copied().unwrap_or(Kind::None);
        self.position += 1;
        if self.position >= self.cycle.len() {
            self.position = 0;
        }
        kind
    }
}

#[cfg(test)]
mod tests;

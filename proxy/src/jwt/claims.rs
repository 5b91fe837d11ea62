//! Claim checks: the registered claims (401 when they fail) and roles and scopes (403).
//!
//! Registered claims have fixed types, as in go-jose (KrakenD): `exp`, `nbf`, `iat` are numbers
//! (NumericDate, fractions truncated), `iss`, `sub`, `jti` strings, `aud` a string or an array
//! of strings; `null` is the same as absent; any other type is a 401. Times compare in whole
//! seconds with `leeway` on each side, as KrakenD: expired when `now > exp + leeway`, not yet
//! valid when `now + leeway < nbf`, issued in the future when `now + leeway < iat`. A token
//! without `exp` does not expire (as KrakenD).
//!
//! Roles and scopes never panic on a claim's shape: a non-string array element simply matches
//! nothing (KrakenD panics into a 500 there).

use super::json::{Json, Object};
use crate::config::ScopesMatcher;
use crate::reject::AuthReason;

#[cfg(test)]
mod tests;

/// What the registered claims must satisfy.
#[derive(Debug, Clone, Default)]
pub struct Registered {
    /// `issuer`: `iss` must equal it.
    pub issuer: Option<Box<str>>,
    /// `audience`: each must be in `aud`.
    pub audience: Box<[Box<str>]>,
    /// `leeway`, whole seconds (at least 1).
    pub leeway: u64,
}

/// `roles_key` / `roles`: any one of `required` is enough.
#[derive(Debug, Clone)]
pub struct Roles {
    /// Where the roles are.
    pub key: Box<str>,
    /// `roles_key_is_nested`: `key` may be a dotted path.
    pub nested: bool,
    /// The roles accepted (not empty).
    pub required: Box<[Box<str>]>,
}

/// `scopes_key` / `scopes` / `scopes_matcher`.
#[derive(Debug, Clone)]
pub struct Scopes {
    /// Where the scopes are (a dotted path is followed).
    pub key: Box<str>,
    /// The scopes required (not empty).
    pub required: Box<[Box<str>]>,
    /// `any` or `all` of them.
    pub matcher: ScopesMatcher,
}

impl Registered {
    /// Checks types and values of `exp`, `nbf`, `iat`, `iss`, `sub`, `jti`, `aud` at `now`
    /// (Unix seconds).
    pub fn check(&self, claims: &Object<'_, '_>, now: u64) -> Result<(), AuthReason> {
        let (mut exp, mut nbf, mut iat, mut iss, mut aud) = (None, None, None, None, None);
        for (key, value) in claims.iter() {
            match key {
                "exp" => exp = numeric_date(value)?,
                "nbf" => nbf = numeric_date(value)?,
                "iat" => iat = numeric_date(value)?,
                "iss" => iss = optional_str(value)?,
                "sub" | "jti" => {
                    optional_str(value)?;
                }
                "aud" => {
                    aud = match value {
                        Json::Null => None,
                        Json::Str(_) => Some(value),
                        Json::Array(list) if list.iter().all(|v| v.as_str().is_some()) => {
                            Some(value)
                        }
                        _ => return Err(AuthReason::BadClaim),
                    }
                }
                _ => {}
            }
        }
        let now = i128::from(now);
        let leeway = i128::from(self.leeway);
        if exp.is_some_and(|exp| now > i128::from(exp) + leeway) {
            return Err(AuthReason::Expired);
        }
        if nbf.is_some_and(|nbf| now + leeway < i128::from(nbf)) {
            return Err(AuthReason::NotYetValid);
        }
        if iat.is_some_and(|iat| now + leeway < i128::from(iat)) {
            return Err(AuthReason::IssuedInFuture);
        }
        if let Some(want) = &self.issuer
            && iss != Some(&**want)
        {
            return Err(AuthReason::WrongIssuer);
        }
        if !self.audience.is_empty() {
            let aud = aud.ok_or(AuthReason::WrongAudience)?;
            if !self.audience.iter().all(|want| contains(aud, want, false)) {
                return Err(AuthReason::WrongAudience);
            }
        }
        Ok(())
    }
}

impl Roles {
    /// Whether the token has one of the required roles. The claim may be an array or a
    /// space-separated string; anything else, or no claim, has none.
    pub fn allows(&self, claims: &Object<'_, '_>) -> bool {
        let nested = self.nested && self.key.contains('.') && !self.key.starts_with("http");
        let value = if nested {
            lookup(claims, &self.key)
        } else {
            claims.get(&self.key)
        };
        value.is_some_and(|v| self.required.iter().any(|role| contains(v, role, true)))
    }
}

impl Scopes {
    /// Whether the token has the required scopes (`any` or `all`).
    pub fn allows(&self, claims: &Object<'_, '_>) -> bool {
        let Some(value) = lookup(claims, &self.key) else {
            return false;
        };
        match self.matcher {
            ScopesMatcher::Any => self.required.iter().any(|s| contains(value, s, true)),
            ScopesMatcher::All => self.required.iter().all(|s| contains(value, s, true)),
        }
    }
}

/// A claim by exact name, else by dotted path.
pub fn lookup<'t, 'a>(claims: &Object<'t, 'a>, key: &str) -> Option<Json<'t, 'a>> {
    claims.get(key).or_else(|| {
        if key.contains('.') {
            claims.get_path(key)
        } else {
            None
        }
    })
}

/// Whether `value` (a string, or an array of strings) holds `item`. With `split`, a string is a
/// space-separated list (roles, scopes); without, it must equal `item` (`aud`).
fn contains(value: Json<'_, '_>, item: &str, split: bool) -> bool {
    match value {
        Json::Str(s) if split => s.split(' ').any(|part| part == item),
        Json::Str(s) => s == item,
        Json::Array(list) => list.iter().any(|v| v.as_str() == Some(item)),
        _ => false,
    }
}

/// A NumericDate: a number of seconds, fractions truncated; `null` is absent.
fn numeric_date(value: Json<'_, '_>) -> Result<Option<i64>, AuthReason> {
    match value {
        Json::Null => Ok(None),
        Json::Int(i) => Ok(Some(i)),
        Json::UInt(_) => Ok(Some(i64::MAX)),
        // `as` saturates (and maps NaN to 0, which JSON cannot express anyway).
        Json::Float(f) => Ok(Some(f.trunc() as i64)),
        _ => Err(AuthReason::BadClaim),
    }
}

fn optional_str<'a>(value: Json<'_, 'a>) -> Result<Option<&'a str>, AuthReason> {
    match value {
        Json::Null => Ok(None),
        Json::Str(s) => Ok(Some(s)),
        _ => Err(AuthReason::BadClaim),
    }
}

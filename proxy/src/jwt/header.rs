//! The JOSE header of a token: `alg` and `kid`, read from the tape, nothing copied.

use super::json::Json;
use crate::reject::AuthReason;

#[cfg(test)]
mod tests;

/// The header fields bloomgate acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoseHeader<'a> {
    /// `alg`, as written.
    pub alg: &'a str,
    /// `kid`; `None` when absent, `null` or empty.
    pub kid: Option<&'a str>,
}

/// Reads the header object. Refused: not an object, `alg` missing or not a string, `kid` not a
/// string, and any `crit` (RFC 7515 §4.1.11: bloomgate understands no extension, so a token that
/// says one is critical must not be accepted; this also refuses RFC 7797 unencoded payloads).
/// Repeated keys are refused before this is called.
pub fn parse<'a>(root: Option<Json<'_, 'a>>) -> Result<JoseHeader<'a>, AuthReason> {
    let header = root
        .and_then(|r| r.as_object())
        .ok_or(AuthReason::Malformed)?;
    let mut alg = None;
    let mut kid = None;
    for (key, value) in header.iter() {
        match key {
            "alg" => alg = Some(value.as_str().ok_or(AuthReason::Malformed)?),
            "kid" => match value {
                Json::Str("") | Json::Null => {}
                Json::Str(s) => kid = Some(s),
                _ => return Err(AuthReason::Malformed),
            },
            "crit" => return Err(AuthReason::Malformed),
            _ => {}
        }
    }
    Ok(JoseHeader {
        alg: alg.ok_or(AuthReason::Malformed)?,
        kid,
    })
}

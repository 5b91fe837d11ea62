//! Authentication of an RPC connection without sending the key: the server sends a random
//! nonce, the client answers `HMAC-SHA256(key, CONTEXT || nonce)`, the server verifies it in
//! constant time (ring's `hmac::verify`). A recorded answer is useless for another connection.

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// Binds the MAC to this protocol, so that a MAC made for another use of the key never passes.
const CONTEXT: &[u8] = b"bloomgate-rpc-v1 hello";

/// A fresh random nonce.
pub fn nonce() -> [u8; 32] {
    let mut nonce = [0u8; 32];
    // The system RNG failing leaves no secure way on: a zero nonce would still authenticate a
    // client (the MAC needs the key), only without replay protection, so say it loudly.
    if SystemRandom::new().fill(&mut nonce).is_err() {
        eprintln!(
            "bloomgate: warning: the system random generator failed; RPC nonces are not random"
        );
    }
    nonce
}

/// The client's answer to `nonce`.
pub fn answer(api_key: &[u8], nonce: &[u8; 32]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, api_key);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(CONTEXT);
    ctx.update(nonce);
    let mut mac = [0u8; 32];
    mac.copy_from_slice(ctx.sign().as_ref());
    mac
}

/// Whether `mac` answers `nonce` under `api_key`, in constant time.
pub fn verify(api_key: &[u8], nonce: &[u8; 32], mac: &[u8]) -> bool {
    let key = hmac::Key::new(hmac::HMAC_SHA256, api_key);
    let mut message = Vec::with_capacity(CONTEXT.len() + nonce.len());
    message.extend_from_slice(CONTEXT);
    message.extend_from_slice(nonce);
    hmac::verify(&key, &message, mac).is_ok()
}

#[cfg(test)]
mod tests;

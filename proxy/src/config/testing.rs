//! Helpers shared by the config unit tests.

use std::path::PathBuf;

use super::{Config, ConfigError, MapEnv, Overrides, Role};

/// `docs/examples`: holds `jwk-symmetric.json`, the base directory of test configs.
pub(crate) fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/examples")
}

/// Loads `json` for `check`, with an empty environment.
pub(crate) fn load(json: &str) -> Result<Config, ConfigError> {
    load_as(json, Overrides::new(Role::Check))
}

/// Loads `json` with `overrides`, with an empty environment.
pub(crate) fn load_as(json: &str, overrides: Overrides) -> Result<Config, ConfigError> {
    Config::from_bytes(
        json.as_bytes(),
        &examples_dir(),
        &MapEnv::default(),
        &overrides,
    )
}

/// The error `json` gives, as printed.
pub(crate) fn error(json: &str) -> String {
    match load(json) {
        Ok(config) => panic!("expected an error, got {config:#?}"),
        Err(e) => e.to_string(),
    }
}

/// A config with one endpoint `GET /p/{id}` whose `auth/validator` is `validator`.
pub(crate) fn with_validator(validator: &str) -> String {
    format!(
        r#"{{"version": 3, "host": ["http://b:1"], "endpoints": [{{"endpoint": "/p/{{id}}",
            "backend": [{{"url_pattern": "/x/{{id}}"}}],
            "extra_config": {{"auth/validator": {validator}}}}}]}}"#
    )
}

/// A config whose `extra_config` holds `auth/revoker: revoker`.
pub(crate) fn with_revoker(revoker: &str) -> String {
    format!(r#"{{"version": 3, "extra_config": {{"auth/revoker": {revoker}}}}}"#)
}

/// A config with the endpoints `endpoints` (a JSON array body) and a top-level host.
pub(crate) fn with_endpoints(endpoints: &str) -> String {
    format!(r#"{{"version": 3, "host": ["http://b:1"], "endpoints": [{endpoints}]}}"#)
}

/// A valid `auth/revoker` body, without braces, to extend.
pub(crate) const REVOKER: &str =
    r#""N": 1000, "P": 0.01, "TTL": 60, "port": 1234, "token_keys": ["jti"]"#;

//! Start-up: every endpoint's `auth/validator` compiled into a [`Validator`], with the keys of
//! its JWK source loaded once and shared by the endpoints that name the same source.
//!
//! A `jwk_local_path` that cannot be read or parsed, or that has no key for the endpoint's
//! `alg`, is a config error naming the field (the process exits). A `jwk_url` is fetched here;
//! if that fails the gateway still starts (protected endpoints answer 401 until the refresher
//! gets the keys) and a warning says why.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::Validator;
use super::keys::KeySet;
use super::store::KeyStore;
use crate::config::{Alg, Config, ConfigError, KeySource, VALIDATOR_NAMESPACE};

#[cfg(test)]
mod tests;

/// Every endpoint's validator, by endpoint (route) index; shared read-only by the data cores.
#[derive(Debug, Default)]
pub struct Validators {
    by_route: Box<[Option<Validator>]>,
}

/// What [`Validators::build`] has to say besides errors.
#[derive(Debug, Default)]
pub struct SetupNotes {
    /// One line each, `warning: <field>: <text>`.
    pub warnings: Vec<String>,
}

impl Validators {
    /// Compiles every endpoint's validator; loads each key source once.
    pub fn build(config: &Config) -> Result<(Validators, SetupNotes), ConfigError> {
        let mut notes = SetupNotes::default();
        let mut local: HashMap<PathBuf, Arc<KeyStore>> = HashMap::new();
        let mut remote: HashMap<(String, bool), Arc<KeyStore>> = HashMap::new();
        let mut by_route = Vec::with_capacity(config.endpoints.len());
        for endpoint in &config.endpoints {
            let Some(settings) = &endpoint.validator else {
                by_route.push(None);
                continue;
            };
            let section = format!(
                "endpoints[{}].extra_config.{VALIDATOR_NAMESPACE}",
                endpoint.index
            );
            let store = match &settings.keys {
                KeySource::Local { path } => {
                    let field = format!("{section}.jwk_local_path");
                    local_store(&mut local, path, settings.alg, &field, &mut notes)?
                }
                KeySource::Remote {
                    url,
                    cache_duration,
                } => {
                    let field = format!("{section}.jwk_url");
                    let key = (url.raw.clone(), url.insecure);
                    match remote.get(&key) {
                        Some(store) => Arc::clone(store),
                        None => {
                            let (store, problem) = KeyStore::remote(url.clone(), *cache_duration);
                            if let Some(why) = problem {
                                notes.warnings.push(format!(
                                    "warning: {field}: {why}; answering 401 until it can be fetched"
                                ));
                            } else if !supports(&store, settings.alg) {
                                notes.warnings.push(format!(
                                    "warning: {field}: no key usable with alg {}; answering 401 until one is published",
                                    settings.alg
                                ));
                            }
                            remote.insert(key, Arc::clone(&store));
                            store
                        }
                    }
                }
            };
            by_route.push(Some(Validator::new(settings, store)));
        }
        Ok((
            Validators {
                by_route: by_route.into(),
            },
            notes,
        ))
    }

    /// What `bloomgate check` can verify of the keys without the network: every
    /// `jwk_local_path` is read and parsed as at start, and must hold a key usable with its
    /// endpoint's `alg` (the same error as `run` otherwise). `jwk_url`s are not fetched.
    pub fn check_local_keys(config: &Config) -> Result<SetupNotes, ConfigError> {
        let mut notes = SetupNotes::default();
        let mut local: HashMap<PathBuf, Arc<KeyStore>> = HashMap::new();
        for endpoint in &config.endpoints {
            let Some(settings) = &endpoint.validator else {
                continue;
            };
            if let KeySource::Local { path } = &settings.keys {
                let field = format!(
                    "endpoints[{}].extra_config.{VALIDATOR_NAMESPACE}.jwk_local_path",
                    endpoint.index
                );
                local_store(&mut local, path, settings.alg, &field, &mut notes)?;
            }
        }
        Ok(notes)
    }

    /// Validators built from already compiled ones (tests, benchmarks), by route index.
    pub fn from_list(by_route: Vec<Option<Validator>>) -> Validators {
        Validators {
            by_route: by_route.into(),
        }
    }

    /// The validator of route `route`, if it is protected.
    pub fn get(&self, route: usize) -> Option<&Validator> {
        self.by_route.get(route).and_then(Option::as_ref)
    }

    /// How many routes there are.
    pub fn len(&self) -> usize {
        self.by_route.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_route.is_empty()
    }
}

fn supports(store: &KeyStore, alg: Alg) -> bool {
    store.current().supports(alg)
}

/// The keys of `path` (read and parsed once for all the endpoints naming it), which must hold
/// a key usable with `alg`.
fn local_store(
    loaded: &mut HashMap<PathBuf, Arc<KeyStore>>,
    path: &std::path::Path,
    alg: Alg,
    field: &str,
    notes: &mut SetupNotes,
) -> Result<Arc<KeyStore>, ConfigError> {
    let store = match loaded.get(path) {
        Some(store) => Arc::clone(store),
        None => {
            let store = load_local(path, alg, field, notes)?;
            loaded.insert(path.to_path_buf(), Arc::clone(&store));
            store
        }
    };
    if !supports(&store, alg) {
        return Err(ConfigError::new(
            field,
            format!("{}: no key usable with alg {alg}", path.display()),
        ));
    }
    Ok(store)
}

/// Reads and parses a `jwk_local_path`.
fn load_local(
    path: &std::path::Path,
    alg: Alg,
    field: &str,
    notes: &mut SetupNotes,
) -> Result<Arc<KeyStore>, ConfigError> {
    let error = |why: String| ConfigError::new(field, format!("{}: {why}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| error(format!("cannot read: {e}")))?;
    let mut skipped = Vec::new();
    let set = KeySet::parse_for(&bytes, alg, &mut skipped).map_err(|e| error(e.to_string()))?;
    for line in skipped {
        notes.warnings.push(format!("warning: {field}: {line}"));
    }
    Ok(KeyStore::fixed(set))
}

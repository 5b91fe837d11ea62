//! What every data core needs to route and forward, built once at start from the config and
//! shared read-only (`Arc`) by all cores: the router, and per endpoint its backend template,
//! filters, upstream list and guard.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, Endpoint, NameFilter};
use crate::http::Method;
use crate::http::write::HeaderFilter;
use crate::router::{QueryFilter, RouteError, Router, TemplateError, UrlTemplate};

/// One backend host, resolved at start.
#[derive(Debug)]
pub struct UpstreamAddr {
    /// `host:port`: the key two endpoints share an upstream by, and what logs show.
    pub authority: Box<[u8]>,
    /// The `Host` header sent to it (`host[:port]` as configured).
    pub host_header: Box<[u8]>,
    /// The resolved address, or `None` if the name did not resolve at start (requests to it
    /// answer 502 and say so in the log).
    pub addr: Option<SocketAddr>,
}

/// One endpoint, ready to serve.
#[derive(Debug)]
pub struct Route {
    /// The endpoint as configured.
    pub endpoint: Endpoint,
    /// The backend method token.
    pub backend_method: Box<[u8]>,
    /// `url_pattern`, parsed against the endpoint's params.
    pub template: UrlTemplate,
    /// `input_query_strings`.
    pub query: QueryFilter,
    /// `input_headers`.
    pub headers: HeaderFilter,
    /// Indices into [`Routes::upstreams`], round-robin.
    pub upstreams: Box<[usize]>,
    /// The endpoint's `timeout`: connect, and the whole wait for the response head.
    pub timeout: Duration,
}

/// Everything routing needs, immutable after start.
#[derive(Debug)]
pub struct Routes {
    /// Path and method to endpoint index.
    pub router: Router,
    /// By endpoint index (the router's route index).
    pub routes: Box<[Route]>,
    /// Every distinct backend host.
    pub upstreams: Box<[UpstreamAddr]>,
}

/// The config could not be turned into routes (a bug in validation if it happens: the config
/// layer checks the same things first).
#[derive(Debug, thiserror::Error)]
pub enum RoutesError {
    /// Two endpoints conflict, or a pattern is invalid.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// A url_pattern is invalid.
    #[error("endpoints[{index}].backend.url_pattern: {source}")]
    Template {
        /// The endpoint index.
        index: usize,
        /// Why.
        source: TemplateError,
    },
}

impl Routes {
    /// Builds the routes and resolves every backend host (blocking DNS, once, at start).
    pub fn build(config: &Config) -> Result<Arc<Routes>, RoutesError> {
        let methods: Vec<(Method, &str)> = config
            .endpoints
            .iter()
            .map(|e| {
                (
                    Method::from_bytes(e.method.as_str().as_bytes()),
                    e.path.as_str(),
                )
            })
            .collect();
        let router = Router::new(&methods)?;
        let mut upstreams: Vec<UpstreamAddr> = Vec::new();
        let mut routes = Vec::with_capacity(config.endpoints.len());
        for (index, endpoint) in config.endpoints.iter().enumerate() {
            let names = router.param_names(index);
            let template = UrlTemplate::parse(endpoint.backend.url_pattern.as_str(), names)
                .map_err(|source| RoutesError::Template { index, source })?;
            let mut ids = Vec::with_capacity(endpoint.backend.hosts.len());
            for host in &endpoint.backend.hosts {
                let authority = host.authority();
                let id = match upstreams
                    .iter()
                    .position(|u| *u.authority == *authority.as_bytes())
                {
                    Some(id) => id,
                    None => {
                        let addr = (host.host.as_str(), host.port)
                            .to_socket_addrs()
                            .ok()
                            .and_then(|mut a| a.next());
                        if addr.is_none() {
                            eprintln!(
                                "bloomgate: warning: backend {authority} does not resolve; its requests answer 502"
                            );
                        }
                        upstreams.push(UpstreamAddr {
                            authority: authority.into_bytes().into(),
                            host_header: host.host_header.as_bytes().into(),
                            addr,
                        });
                        upstreams.len() - 1
                    }
                };
                ids.push(id);
            }
            routes.push(Route {
                backend_method: endpoint.backend.method.as_str().as_bytes().into(),
                template,
                query: filter_query(&endpoint.input_query_strings),
                headers: filter_headers(&endpoint.input_headers),
                upstreams: ids.into(),
                timeout: endpoint.timeout,
                endpoint: endpoint.clone(),
            });
        }
        Ok(Arc::new(Routes {
            router,
            routes: routes.into(),
            upstreams: upstreams.into(),
        }))
    }
}

fn filter_headers(names: &NameFilter) -> HeaderFilter {
    match names {
        NameFilter::All => HeaderFilter::All,
        NameFilter::Only(names) => HeaderFilter::from_names(names),
    }
}

fn filter_query(names: &NameFilter) -> QueryFilter {
    match names {
        NameFilter::All => QueryFilter::All,
        NameFilter::Only(names) => QueryFilter::from_names(names),
    }
}

//! The HTTP API of a node (`spec/node.md`): routes, bearer authentication, the drain gate and request
//! metrics, on `axum`.
//!
//! Refusals come in this order: `401` (no or unknown token, [`authenticate`]), `403` (the node policies deny
//! the node action), `413` (a deploy body over `max_archive_size`), `422` (the archive, then the app), `409`
//! (a namespace of another app). While the node drains every request is `503`.

use std::sync::Arc;

use axum::extract::{MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use corral_core::ErrorKind;
use serde::Serialize;

use crate::node::Node;
use crate::node::apps::{Source, check_name};
use crate::node::config::MetricsAccess;
use crate::node::error::ApiError;
use crate::node::processes::authorize;
use crate::node::tokens::ApiIdentity;
use corral_core::gate::NodeAction;

type Shared = Arc<Node>;

/// The node's router: health and metrics, then the authenticated `/v1` routes.
pub fn router(node: Shared) -> Router {
    let api = Router::new()
        .route("/v1/apps", get(list_apps))
        // At most DEPLOYS_AT_ONCE deploy bodies are read and checked at once (each may be max_archive_size in
        // memory and its unpacked files on disk); the others wait their turn.
        .route(
            "/v1/apps/{name}",
            put(deploy).layer(tower::limit::ConcurrencyLimitLayer::new(DEPLOYS_AT_ONCE)).delete(remove),
        )
        .merge(process_routes())
        .route_layer(middleware::from_fn_with_state(node.clone(), authenticate));
    Router::new()
        .route("/v1/health", get(health))
        .route("/metrics", get(metrics))
        .merge(api)
        .fallback(|| async { ApiError::new(ErrorKind::NotFound, "no such route") })
        .layer(middleware::from_fn_with_state(node.clone(), observe))
        // A little past `request_timeout`, so a waited spawn (bounded by it) answers its own 504 with the PID.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            node.settings.request_timeout.saturating_add(std::time::Duration::from_secs(5)),
        ))
        // A panic in a handler answers 500 and ends that request only; the node keeps serving.
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(tower::limit::ConcurrencyLimitLayer::new(REQUESTS_AT_ONCE))
        .with_state(node)
}

/// The process routes, their JSON bodies bounded (`PROCESS_BODY_BYTES`; payloads are bounded again by the
/// target host's message bounds).
fn process_routes() -> Router<Shared> {
    use crate::node::processes as p;
    Router::new()
        .route("/v1/processes", get(p::list).post(p::spawn))
        .route("/v1/processes/{dest}", get(p::inspect).delete(p::terminate))
        .route("/v1/processes/{dest}/messages", post(p::send))
        .route("/v1/processes/{dest}/call", post(p::call))
        .route("/v1/processes/{dest}/cancel", post(p::cancel))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(PROCESS_BODY_BYTES))
}

/// Deploys read and checked at once.
const DEPLOYS_AT_ONCE: usize = 2;

/// Requests served at once (waited spawns included); more wait for a free slot.
const REQUESTS_AT_ONCE: usize = 1024;

/// The most bytes of a process route's JSON body (2 MiB: above the default 1 MiB message bound plus JSON's
/// overhead).
const PROCESS_BODY_BYTES: usize = 2 << 20;

/// The drain gate and the request counter: while draining, every request is `503`; every answer is counted
/// in `corral_http_requests_total` by route pattern and status.
async fn observe(State(node): State<Shared>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let response = if node.draining() {
        if route == "/v1/health" {
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({"status": "draining"}))).into_response()
        } else {
            ApiError::new(ErrorKind::Unavailable, "the node is draining").into_response()
        }
    } else {
        next.run(request).await
    };
    node.metrics.request(&route, response.status().as_u16());
    response
}

/// The caller of a request: `Authorization: Bearer TOKEN` whose digest is in the tokens file.
fn identify(node: &Node, headers: &HeaderMap) -> Option<ApiIdentity> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?;
    node.tokens.identify(token.trim())
}

/// `401` without a known token; otherwise the caller's [`ApiIdentity`] goes with the request.
async fn authenticate(State(node): State<Shared>, mut request: Request, next: Next) -> Response {
    match identify(&node, request.headers()) {
        Some(who) => {
            request.extensions_mut().insert(who);
            next.run(request).await
        }
        None => ApiError::Unauthenticated.into_response(),
    }
}

async fn health(State(node): State<Shared>) -> Response {
    let _ = &node;
    Json(serde_json::json!({"status": "ok"})).into_response()
}

async fn metrics(State(node): State<Shared>, headers: HeaderMap) -> Response {
    if node.settings.metrics == MetricsAccess::Authenticated && identify(&node, &headers).is_none() {
        return ApiError::Unauthenticated.into_response();
    }
    let by_app: Vec<(String, Vec<(String, usize)>)> =
        node.apps().into_iter().map(|(name, slot)| (name, slot.runtime.live_by_host())).collect();
    node.metrics.update(&node.shared.counters.snapshot(), &by_app);
    for (name, slot) in node.apps() {
        for service in slot.services.status() {
            let labels = [("app", name.clone()), ("service", service.id.clone())];
            node.metrics.counter("corral_service_restarts_total", &labels).absolute(service.restarts);
        }
    }
    let text = node.metrics.render_with(&node.shared.counters.snapshot(), node.audit.sync_time());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

#[derive(Serialize)]
struct AppView {
    name: String,
    revision: String,
    deployed_at: String,
    processes: usize,
    services: Vec<corral_core::service::ServiceStatus>,
}

async fn list_apps(State(node): State<Shared>, Extension(who): Extension<ApiIdentity>) -> Response {
    let apps: Vec<AppView> = node
        .apps()
        .into_values()
        .filter(|slot| authorize(&node, &who, NodeAction::Inspect, &slot.name).is_ok())
        .map(|slot| AppView {
            name: slot.name.clone(),
            revision: slot.revision.clone(),
            deployed_at: slot.deployed_at.clone(),
            processes: slot.runtime.live(),
            services: slot.services.status(),
        })
        .collect();
    Json(apps).into_response()
}

async fn deploy(
    State(node): State<Shared>,
    Extension(who): Extension<ApiIdentity>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    check_name(&name)?;
    authorize(&node, &who, NodeAction::Deploy, &name)?;
    let bound = node.settings.limits.max_archive_bytes;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > bound) {
        return Err(ApiError::TooLarge(bound));
    }
    // The body is read only now, after the caller is known and allowed, and never past the bound.
    let limit = usize::try_from(bound).unwrap_or(usize::MAX);
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| ApiError::TooLarge(bound))?;
    let deployed = node.deploy(&name, Source::Archive(bytes), Some(who.actor.id.as_str())).await?;
    let status = if deployed.replaced { StatusCode::OK } else { StatusCode::CREATED };
    tracing::info!(app = %name, revision = %deployed.revision, actor = who.actor.id.as_str(), "deployed");
    Ok((status, Json(deployed)).into_response())
}

async fn remove(
    State(node): State<Shared>,
    Extension(who): Extension<ApiIdentity>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&node, &who, NodeAction::Remove, &name)?;
    node.remove(&name).await?;
    tracing::info!(app = %name, actor = who.actor.id.as_str(), "removed");
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::config::{self, Flags};
    use crate::node::store::Store;
    use crate::node::tokens::Tokens;
    use axum::body::Body;
    use tower::ServiceExt;

    async fn node(name: &str, metrics: MetricsAccess) -> Shared {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let data = std::env::temp_dir().join(format!("corral-http-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        let flags = Flags {
            data: Some(data.clone()),
            tokens: Some(root.join("tests/node/tokens.toml")),
            policies: Some(root.join("tests/node/policies")),
            ..Flags::default()
        };
        let mut settings = config::load(&flags).unwrap();
        settings.metrics = metrics;
        let store = Store::open(&data).unwrap();
        let audit = Arc::new(corral_core::audit::JsonlAudit::open(&store.audit_path(), Default::default()).unwrap());
        let shared = corral_core::runtime::Shared::default();
        let dir = settings.policies.clone().unwrap();
        let control = crate::commands::serve::control_runtime(&dir, &settings, audit.clone(), shared.clone()).unwrap();
        let tokens = Tokens::load(settings.tokens.as_ref().unwrap()).unwrap();
        Arc::new(Node::new(settings, store, audit, tokens, control, shared))
    }

    async fn status(router: &Router, path: &str, token: Option<&str>) -> StatusCode {
        let mut request = Request::builder().uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap().status()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_draining_node_answers_503_to_everything_health_included() {
        let node = node("drain", MetricsAccess::Public).await;
        let router = router(node.clone());
        assert_eq!(status(&router, "/v1/health", None).await, StatusCode::OK);
        assert_eq!(status(&router, "/v1/apps", Some("acme-deployer-token")).await, StatusCode::OK);
        node.drain().await;
        assert_eq!(status(&router, "/v1/health", None).await, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status(&router, "/v1/apps", Some("acme-deployer-token")).await, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status(&router, "/v1/apps", None).await, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn metrics_can_require_a_token() {
        assert_eq!(
            status(&router(node("public", MetricsAccess::Public).await), "/metrics", None).await,
            StatusCode::OK
        );
        let router = router(node("authenticated", MetricsAccess::Authenticated).await);
        assert_eq!(status(&router, "/metrics", None).await, StatusCode::UNAUTHORIZED);
        assert_eq!(status(&router, "/metrics", Some("acme-deployer-token")).await, StatusCode::OK);
    }
}

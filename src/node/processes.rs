//! The process routes of the API (`spec/node.md`, "Processes"): spawn (with or without waiting), list,
//! inspect, send, cancel, terminate. Each process action is decided by the node's policies through the
//! control runtime's gate, with the token's actor and scopes (`Runtime::api_*`); listing and reading are
//! `node.inspect` on the app.
//!
//! A PID names its app (the node part of `{app@incarnation|host|seq}`); a registered name is looked up in the
//! apps in name order, the first that holds it wins. A spawn's entry names its app by its namespace.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use corral_core::gate::NodeAction;
use corral_core::runtime::SpawnSpec;
use corral_core::{ErrorKind, Pid, Value};
use serde::Deserialize;
use serde_json::json;

use crate::node::Node;
use crate::node::apps::AppSlot;
use crate::node::error::ApiError;
use crate::node::tokens::ApiIdentity;

type Shared = Arc<Node>;

/// The most a waited spawn waits when its request gives no `timeout`.
const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// `POST /v1/processes`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpawnBody {
    entry: String,
    host: Option<String>,
    #[serde(default)]
    args: Vec<serde_json::Value>,
    name: Option<String>,
    #[serde(default)]
    wait: bool,
    timeout: Option<String>,
}

/// `POST /v1/processes/{dest}/messages`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    topic: String,
    payload: Option<serde_json::Value>,
}

/// `POST /v1/processes/{dest}/call`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallBody {
    topic: String,
    payload: Option<serde_json::Value>,
    timeout: Option<String>,
}

/// The longest a call over the API may wait for its reply (`timeout`; default 5 s).
const MAX_CALL_WAIT: Duration = Duration::from_secs(300);

/// `POST /v1/processes/{dest}/cancel`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    deadline: Option<String>,
}

/// `GET /v1/processes?app=&entry=&actor=`.
#[derive(Deserialize)]
pub struct ListQuery {
    app: Option<String>,
    entry: Option<String>,
    actor: Option<String>,
}

/// A body that is not the route's JSON (not JSON, too deep, an unknown field, over the size bound) is
/// `INVALID` naming what is wrong.
fn invalid_body(rejection: JsonRejection) -> ApiError {
    ApiError::new(ErrorKind::Invalid, format!("bad request body: {}", rejection.body_text()))
}

/// Decides `action` on `App::"<app>"` for `who` at the node's gate. Errors: `403` naming the action and app.
pub fn authorize(node: &Node, who: &ApiIdentity, action: NodeAction, app: &str) -> Result<(), ApiError> {
    node.control.gate().decide_node(&who.caller(), action, app).map_err(ApiError::from)
}

/// A duration the caller gives (`"5s"`), at most `bound`. Errors: `INVALID` naming `what` and the text.
fn duration(text: &str, what: &str, bound: Duration) -> Result<Duration, ApiError> {
    let parsed = humantime::parse_duration(text)
        .map_err(|e| ApiError::new(ErrorKind::Invalid, format!("bad `{what}` `{text}`: {e}")))?;
    if parsed > bound {
        return Err(ApiError::new(ErrorKind::Invalid, format!("`{what}` `{text}` is over the bound of {bound:?}")));
    }
    Ok(parsed)
}

/// The app a destination belongs to. Errors: `NOT_FOUND`; `INVALID` for a malformed PID.
fn app_of(node: &Node, dest: &str) -> Result<Arc<AppSlot>, ApiError> {
    let missing = || ApiError::new(ErrorKind::NotFound, format!("no process `{dest}`"));
    if dest.starts_with('{') {
        let pid = Pid::parse(dest)?;
        return node.app(pid.node()).ok_or_else(missing);
    }
    node.apps().into_values().find(|slot| slot.runtime.process_info(dest).is_ok()).ok_or_else(missing)
}

/// `POST /v1/processes`: `201 {"pid"}`, or with `wait` `200 {"pid", "result"}` / `504 {"pid"}`.
pub async fn spawn(
    State(node): State<Shared>,
    Extension(who): Extension<ApiIdentity>,
    body: Result<Json<SpawnBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(invalid_body)?;
    let namespace = body.entry.split_once(':').map(|(ns, _)| ns).unwrap_or_default();
    let slot = node
        .apps()
        .into_values()
        .find(|slot| slot.namespaces.contains(namespace))
        .ok_or_else(|| ApiError::new(ErrorKind::NotFound, format!("no app declares entry `{}`", body.entry)))?;
    let app = slot.runtime.app();
    let host = match body.host {
        Some(host) => host,
        None if app.hosts.len() == 1 => app.hosts.keys().next().cloned().unwrap_or_default(),
        None => {
            return Err(ApiError::new(
                ErrorKind::Invalid,
                format!("app `{}` has {} hosts: name one with `host`", slot.name, app.hosts.len()),
            ));
        }
    };
    let wait = match (&body.timeout, body.wait) {
        (Some(t), true) => Some(duration(t, "timeout", node.settings.request_timeout)?),
        (None, true) => Some(DEFAULT_WAIT.min(node.settings.request_timeout)),
        (_, false) => None,
    };
    let spec = SpawnSpec {
        entry: body.entry,
        host,
        args: body.args.iter().map(Value::from_json).collect(),
        name: body.name,
        ..SpawnSpec::default()
    };
    let (pid, exit) = slot.runtime.api_spawn(node.control.gate(), &who.caller(), spec)?;
    let pid = pid.to_string();
    let Some(wait) = wait else {
        return Ok((StatusCode::CREATED, Json(json!({"pid": pid}))).into_response());
    };
    match tokio::time::timeout(wait, exit).await {
        Err(_) => Ok((StatusCode::GATEWAY_TIMEOUT, Json(json!({"pid": pid}))).into_response()),
        Ok(Err(_)) => Err(ApiError::new(ErrorKind::Internal, format!("process `{pid}` vanished"))),
        Ok(Ok(exit)) => {
            let result = match exit.result {
                Ok(value) => json!({"value": value.to_json()}),
                Err(error) => json!({"error": error, "reason": exit.reason.as_str()}),
            };
            Ok(Json(json!({"pid": pid, "result": result})).into_response())
        }
    }
}

/// `GET /v1/processes`: the live processes of every app the caller may inspect (`?app=` one app: `403` when
/// it may not, `404` when unknown), filtered by `entry` and `actor`.
pub async fn list(
    State(node): State<Shared>,
    Extension(who): Extension<ApiIdentity>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let slots: Vec<Arc<AppSlot>> = match &query.app {
        Some(app) => {
            authorize(&node, &who, NodeAction::Inspect, app)?;
            vec![node.app(app).ok_or_else(|| ApiError::new(ErrorKind::NotFound, format!("no app `{app}`")))?]
        }
        None => node
            .apps()
            .into_values()
            .filter(|slot| authorize(&node, &who, NodeAction::Inspect, &slot.name).is_ok())
            .collect(),
    };
    let mut out = Vec::new();
    for slot in slots {
        out.extend(slot.runtime.processes().into_iter().filter(|p| {
            query.entry.as_ref().is_none_or(|e| &p.entry == e)
                && query.actor.as_ref().is_none_or(|a| p.actor.as_ref() == Some(a))
        }));
    }
    Ok(Json(out).into_response())
}

/// `GET /v1/processes/{dest}`: `node.inspect` on its app, then the snapshot.
pub async fn inspect(
    State(node): State<Shared>,
    Extension(who): Extension<ApiIdentity>,
    Path(dest): Path<String>,
) -> Result<Response, ApiError> {
    let slot = app_of(&node, &dest)?;
    authorize(&node, &who, NodeAction::Inspect, &slot.name)?;
    Ok(Json(slot.runtime.process_info(&dest)?).into_response())
}

/// `POST /v1/processes/{dest}/messages`: `202`; a full mailbox `429`.
pub async fn send(
    State(node): State<Shared>,
    Extension(who): Extension<ApiIdentity>,
    Path(dest): Path<String>,
    body: Result<Json<SendBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(invalid_body)?;
    let slot = app_of(&node, &dest)?;
    let payload: Vec<Value> = body.payload.iter().map(Value::from_json).collect();
    slot.runtime.api_send(node.control.gate(), &who.caller(), &dest, &body.topic, payload)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `POST /v1/processes/{dest}/call`: sends a call (`process.call` in `lua-api.md`) as the caller and waits
/// for the reply: `200` `{"reply"}`; `504` past `timeout` (default 5 s, at most 5 minutes); `503` when the
/// target exited before it replied; `403` naming `process.send` or `process.call`; `429` for a full mailbox.
pub async fn call(
    State(node): State<Shared>,
    Extension(who): Extension<ApiIdentity>,
    Path(dest): Path<String>,
    body: Result<Json<CallBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(invalid_body)?;
    let slot = app_of(&node, &dest)?;
    let timeout = match &body.timeout {
        Some(t) => duration(t, "timeout", MAX_CALL_WAIT)?,
        None => corral_core::runtime::DEFAULT_CALL_TIMEOUT,
    };
    let payload: Vec<Value> = body.payload.iter().map(Value::from_json).collect();
    let reply = slot.runtime.api_call(node.control.gate(), &who.caller(), &dest, &body.topic, payload, timeout).await?;
    Ok(Json(json!({ "reply": reply.to_json() })).into_response())
}

/// `POST /v1/processes/{dest}/cancel`: `202`.
pub async fn cancel(
    State(node): State<Shared>,
    Extension(who): Extension<ApiIdentity>,
    Path(dest): Path<String>,
    body: Result<Json<CancelBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let slot = app_of(&node, &dest)?;
    let body = match body {
        Ok(Json(body)) => body,
        Err(JsonRejection::MissingJsonContentType(_)) => CancelBody::default(),
        Err(e) => return Err(invalid_body(e)),
    };
    let deadline = match &body.deadline {
        Some(d) => Some(duration(d, "deadline", Duration::from_secs(100 * 365 * 24 * 3600))?),
        None => None,
    };
    slot.runtime.api_cancel(node.control.gate(), &who.caller(), &dest, deadline)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// `DELETE /v1/processes/{dest}`: terminate, `204`.
pub async fn terminate(
    State(node): State<Shared>,
    Extension(who): Extension<ApiIdentity>,
    Path(dest): Path<String>,
) -> Result<Response, ApiError> {
    let slot = app_of(&node, &dest)?;
    slot.runtime.api_terminate(node.control.gate(), &who.caller(), &dest)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

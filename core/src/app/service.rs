//! `process.service` entries: processes the node keeps running for as long as their app is deployed.
//!
//! The kind and its `lifecycle:` block are the reference system's (`spec/node.md`, "Services"):
//!
//! ```yaml
//! - name: ticker_service
//!   kind: process.service
//!   process: app:ticker          # a process.lua entry of the app
//!   host: app:processes          # optional: else the app's only host, else corral:default
//!   input: [ "hello" ]           # the arguments of main
//!   lifecycle:
//!     auto_start: true
//!     security: { actor: "svc:ticker", scopes: [ "acme" ] }
//!     requires: [ app:db_service ]
//!     restart: { initial_delay: 1s, max_delay: 90s, backoff_factor: 2.0, jitter: 0.1, max_attempts: 0 }
//!     start_timeout: 10s
//!     stop_timeout: 10s
//!     stable_threshold: 5s
//! ```
//!
//! Every key has a default (on [`Lifecycle`] and [`Restart`]); the loader checks every value and, once
//! every manifest is read, that `process` names a `process.lua` entry, `host` a `process.host` entry and
//! each of `requires` a `process.service` entry of the same app, with no cycle among them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_saphyr::Spanned;

use crate::app::manifest::EntryCx;
use crate::app::units;
use crate::app::yaml::{self, Node, SNode};
pub use crate::restart::Restart;

/// A `process.service` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceSpec {
    /// The service's entry id, `namespace:name`.
    pub id: String,
    /// `process`: the id of the `process.lua` entry it runs.
    pub process: String,
    /// `host`: the host it runs on; `None` means the app's only host, else `corral:default`.
    pub host: Option<String>,
    /// `input`: the arguments of its `main`, as JSON values (at most [`MAX_INPUT`]).
    pub input: Vec<serde_json::Value>,
    /// `lifecycle`: how the node starts, restarts and stops it.
    pub lifecycle: Lifecycle,
    /// The `_index.yaml` that declares it.
    pub file: PathBuf,
    /// The 1-based line of its entry in `file`.
    pub line: u32,
}

/// The `lifecycle:` block of a service.
#[derive(Clone, Debug, PartialEq)]
pub struct Lifecycle {
    /// `auto_start`: started when the app is deployed (or `corral run` boots); default `false`, as in the
    /// reference system. A service another one `requires` is started with it either way.
    pub auto_start: bool,
    /// `security.actor`: the actor it runs as; `None` means the actor that deployed the app (the root's
    /// actor under `corral run`).
    pub actor: Option<String>,
    /// `security.scopes`: the scopes that select its policies; default none.
    pub scopes: Vec<String>,
    /// `requires`: the services (ids) that must be running before it starts.
    pub requires: Vec<String>,
    /// `restart`: the backoff between restarts.
    pub restart: Restart,
    /// `start_timeout`: how long it waits for each of `requires` to be running before the start counts as
    /// a failed attempt; default 10 s.
    pub start_timeout: Duration,
    /// `stop_timeout`: how long a stopping service has, once cancelled, to return before it is terminated;
    /// default 10 s.
    pub stop_timeout: Duration,
    /// `stable_threshold`: a run at least this long resets the backoff to `initial_delay`; default 5 s.
    pub stable_threshold: Duration,
}

impl Default for Lifecycle {
    fn default() -> Lifecycle {
        Lifecycle {
            auto_start: false,
            actor: None,
            scopes: Vec::new(),
            requires: Vec::new(),
            restart: Restart::default(),
            start_timeout: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(10),
            stable_threshold: Duration::from_secs(5),
        }
    }
}

/// The most `input` arguments a service may have.
pub const MAX_INPUT: usize = 64;

/// The longest duration a lifecycle setting may have (7 days): a typo such as `initial_delay: 1000000h`
/// is a problem at load time, not a service that never comes back.
pub const MAX_LIFECYCLE_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// The reference system's kind name.
pub(crate) const SERVICE_KIND: &str = "process.service";

/// A reference to another entry that is checked once every manifest is read.
pub(crate) struct PendingRef {
    pub(crate) file: PathBuf,
    pub(crate) line: Option<u32>,
    pub(crate) service: String,
    /// `process`, `host` or `requires`.
    pub(crate) key: &'static str,
    pub(crate) target: String,
}

/// Reads a `process.service` entry; `None` when it has problems (each recorded in `cx`). References to
/// other entries go to `pending`.
pub(crate) fn service_entry(
    cx: &mut EntryCx<'_>,
    pairs: &[(Spanned<String>, SNode)],
    pending: &mut Vec<PendingRef>,
) -> Option<ServiceSpec> {
    let mut spec = ServiceSpec {
        id: cx.id.to_string(),
        process: String::new(),
        host: None,
        input: Vec::new(),
        lifecycle: Lifecycle::default(),
        file: cx.file.to_path_buf(),
        line: cx.line.unwrap_or(0),
    };
    for (key, value) in pairs {
        let at = yaml::line(&value.referenced).or(cx.line);
        match key.value.as_str() {
            "name" | "kind" | "meta" => {}
            "process" => match id_text(&value.value) {
                Some(id) => {
                    spec.process = id.clone();
                    pending.push(reference(cx, at, "process", id));
                }
                None => cx.problem(&value.referenced, format!("`process` of service `{}` must be an entry id", cx.id)),
            },
            "host" => match id_text(&value.value) {
                Some(id) => {
                    spec.host = Some(id.clone());
                    pending.push(reference(cx, at, "host", id));
                }
                None => cx.problem(&value.referenced, format!("`host` of service `{}` must be a host id", cx.id)),
            },
            "input" => match &value.value {
                Node::Seq(items) if items.len() <= MAX_INPUT => {
                    spec.input = items.iter().map(|i| i.value.to_json()).collect();
                }
                Node::Seq(items) => {
                    let message = format!(
                        "`input` of service `{}` has {} arguments, over the bound of {MAX_INPUT}",
                        cx.id,
                        items.len()
                    );
                    cx.problem(&value.referenced, message);
                }
                Node::Scalar(serde_json::Value::Null) => {}
                other => {
                    let message = format!("`input` of service `{}` must be a list, got {}", cx.id, other.describe());
                    cx.problem(&value.referenced, message);
                }
            },
            "lifecycle" => lifecycle(cx, &mut spec.lifecycle, value, pending),
            other => {
                let message = format!("unknown key `{other}` in service `{}`", cx.id);
                cx.problem(&key.referenced, message);
            }
        }
    }
    if spec.process.is_empty() && !cx.failed {
        let message = format!("service `{}` has no `process` (the process.lua entry it runs)", cx.id);
        cx.problem(&serde_saphyr::Location::UNKNOWN, message);
    }
    (!cx.failed).then_some(spec)
}

fn reference(cx: &EntryCx<'_>, line: Option<u32>, key: &'static str, target: String) -> PendingRef {
    PendingRef { file: cx.file.to_path_buf(), line, service: cx.id.to_string(), key, target }
}

fn id_text(node: &Node) -> Option<String> {
    node.as_str().map(str::trim).filter(|s| crate::app::manifest::valid_id(s)).map(str::to_owned)
}

fn lifecycle(cx: &mut EntryCx<'_>, out: &mut Lifecycle, value: &SNode, pending: &mut Vec<PendingRef>) {
    let Node::Map(pairs) = &value.value else {
        if !value.value.is_null() {
            let message =
                format!("`lifecycle` of service `{}` must be a mapping, got {}", cx.id, value.value.describe());
            cx.problem(&value.referenced, message);
        }
        return;
    };
    for (key, value) in pairs {
        if value.value.is_null() {
            continue; // `key:` with no value keeps the default.
        }
        let name = key.value.as_str();
        let result = match name {
            "auto_start" => boolean(&value.value).map(|b| out.auto_start = b),
            "start_timeout" => bounded(&value.value).map(|d| out.start_timeout = d),
            "stop_timeout" => bounded(&value.value).map(|d| out.stop_timeout = d),
            "stable_threshold" => bounded(&value.value).map(|d| out.stable_threshold = d),
            "security" => security(&value.value, out),
            "restart" => restart(cx, &mut out.restart, value),
            "requires" | "depends_on" => match requires(&value.value) {
                Ok(ids) => {
                    let at = yaml::line(&value.referenced).or(cx.line);
                    for id in &ids {
                        pending.push(reference(cx, at, "requires", id.clone()));
                    }
                    out.requires = ids;
                    Ok(())
                }
                Err(why) => Err(why),
            },
            other => {
                let message = format!("unknown key `{other}` in `lifecycle` of service `{}`", cx.id);
                cx.problem(&key.referenced, message);
                continue;
            }
        };
        if let Err(why) = result {
            let message = format!("`lifecycle.{name}` of service `{}` {why}", cx.id);
            cx.problem(&value.referenced, message);
        }
    }
}

fn restart(cx: &mut EntryCx<'_>, out: &mut Restart, value: &SNode) -> Result<(), String> {
    let Node::Map(pairs) = &value.value else {
        return Err(format!("must be a mapping, got {}", value.value.describe()));
    };
    for (key, value) in pairs {
        if value.value.is_null() {
            continue;
        }
        let name = key.value.as_str();
        let result = match name {
            "initial_delay" => bounded(&value.value).map(|d| out.initial_delay = d),
            "max_delay" => bounded(&value.value).map(|d| out.max_delay = d),
            "backoff_factor" => fraction(&value.value, 1.0, 100.0).map(|f| out.backoff_factor = f),
            "jitter" => fraction(&value.value, 0.0, 1.0).map(|f| out.jitter = f),
            "max_attempts" => units::count(&value.value).map(|n| out.max_attempts = n),
            other => Err(format!("is not a restart setting (`{other}`)")),
        };
        if let Err(why) = result {
            let message = format!("`lifecycle.restart.{name}` of service `{}` {why}", cx.id);
            cx.problem(&value.referenced, message);
        }
    }
    if out.max_delay < out.initial_delay {
        let message = format!(
            "`lifecycle.restart.max_delay` of service `{}` is shorter than `initial_delay` ({:?} < {:?})",
            cx.id, out.max_delay, out.initial_delay
        );
        cx.problem(&value.referenced, message);
    }
    Ok(())
}

fn security(node: &Node, out: &mut Lifecycle) -> Result<(), String> {
    let Node::Map(pairs) = node else {
        return Err(format!("must be a mapping with `actor` and `scopes`, got {}", node.describe()));
    };
    for (key, value) in pairs {
        match key.value.as_str() {
            "actor" => match value.value.as_str().map(str::trim) {
                Some(actor) if !actor.is_empty() => {
                    crate::limits::check_bounded("lifecycle.security.actor", actor).map_err(|e| e.to_string())?;
                    out.actor = Some(actor.to_string());
                }
                _ => return Err(format!("`actor` must name an actor, got {}", value.value.shown())),
            },
            "scopes" => {
                let Node::Seq(items) = &value.value else {
                    return Err(format!("`scopes` must be a list of names, got {}", value.value.describe()));
                };
                if items.len() > crate::limits::MAX_SCOPE_NAMES {
                    return Err(format!(
                        "has {} scopes, over the bound of {}",
                        items.len(),
                        crate::limits::MAX_SCOPE_NAMES
                    ));
                }
                out.scopes = items
                    .iter()
                    .map(|i| match i.value.as_str().map(str::trim) {
                        Some(s) if !s.is_empty() => Ok(s.to_string()),
                        _ => Err(format!("`scopes` must hold names, got {}", i.value.shown())),
                    })
                    .collect::<Result<_, _>>()?;
            }
            other => return Err(format!("has an unknown key `{other}` (expected `actor`, `scopes`)")),
        }
    }
    Ok(())
}

fn requires(node: &Node) -> Result<Vec<String>, String> {
    let Node::Seq(items) = node else {
        return Err(format!("must be a list of service ids, got {}", node.describe()));
    };
    items
        .iter()
        .map(|i| id_text(&i.value).ok_or_else(|| format!("must hold service ids, got {}", i.value.shown())))
        .collect()
}

fn boolean(node: &Node) -> Result<bool, String> {
    match node {
        Node::Scalar(serde_json::Value::Bool(b)) => Ok(*b),
        other => Err(format!("must be `true` or `false`, got {}", other.shown())),
    }
}

fn bounded(node: &Node) -> Result<Duration, String> {
    let d = units::duration(node)?;
    if d > MAX_LIFECYCLE_DURATION {
        return Err(format!("is over the bound of 7 days, got {}", node.shown()));
    }
    Ok(d)
}

fn fraction(node: &Node, min: f64, max: f64) -> Result<f64, String> {
    let value = match node {
        Node::Scalar(serde_json::Value::Number(n)) => n.as_f64(),
        other => other.as_str().and_then(|s| s.trim().parse::<f64>().ok()),
    };
    match value {
        Some(v) if v.is_finite() && (min..=max).contains(&v) => Ok(v),
        _ => Err(format!("must be a number from {min} to {max}, got {}", node.shown())),
    }
}

/// The services in start order: each after everything it `requires`, ties by id. Errors: the ids on a
/// cycle, in order, when `requires` has one.
pub fn start_order(services: &BTreeMap<String, ServiceSpec>) -> Result<Vec<String>, Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit(
        id: &str,
        services: &BTreeMap<String, ServiceSpec>,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
        order: &mut Vec<String>,
    ) -> Result<(), Vec<String>> {
        match marks.get(id) {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::Visiting) => {
                let from = path.iter().position(|p| p == id).unwrap_or(0);
                let mut cycle = path[from..].to_vec();
                cycle.push(id.to_string());
                return Err(cycle);
            }
            None => {}
        }
        marks.insert(id.to_string(), Mark::Visiting);
        path.push(id.to_string());
        if let Some(spec) = services.get(id) {
            for required in &spec.lifecycle.requires {
                visit(required, services, marks, path, order)?;
            }
        }
        path.pop();
        marks.insert(id.to_string(), Mark::Done);
        order.push(id.to_string());
        Ok(())
    }
    let mut marks = BTreeMap::new();
    let mut order = Vec::new();
    for id in services.keys() {
        visit(id, services, &mut marks, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn spec(id: &str, requires: &[&str]) -> (String, ServiceSpec) {
        let lifecycle =
            Lifecycle { requires: requires.iter().map(|s| s.to_string()).collect(), ..Lifecycle::default() };
        let spec = ServiceSpec {
            id: id.into(),
            process: "app:p".into(),
            host: None,
            input: vec![],
            lifecycle,
            file: PathBuf::new(),
            line: 0,
        };
        (id.to_string(), spec)
    }

    #[test]
    fn start_order_puts_requirements_first_and_names_a_cycle() {
        let services: BTreeMap<_, _> =
            [spec("app:a", &["app:c"]), spec("app:b", &[]), spec("app:c", &["app:b"])].into();
        assert_eq!(start_order(&services).unwrap(), ["app:b", "app:c", "app:a"]);
        let cyclic: BTreeMap<_, _> = [spec("app:a", &["app:b"]), spec("app:b", &["app:a"])].into();
        assert_eq!(start_order(&cyclic).unwrap_err(), ["app:a", "app:b", "app:a"]);
    }
}

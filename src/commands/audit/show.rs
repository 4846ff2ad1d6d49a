//! `corral audit show`: records filtered by kind, pid (caller or target), actor, decision, action, target and
//! time; a table on a terminal, JSON lines
//! otherwise (or as `--format` says).

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::Value as Json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `--since` / `--until`. Errors: not RFC 3339, with an example.
fn rfc3339(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| format!("`{text}` is not an RFC 3339 time such as 2026-12-01T10:00:00Z ({e})"))
}

/// The id inside a resource such as `Process::"{...}"` or `Entry::"app:worker"`.
fn resource_id(resource: &str) -> Option<&str> {
    let (_, quoted) = resource.split_once("::\"")?;
    quoted.strip_suffix('"')
}

/// Arguments of `corral audit show`.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The files, oldest first.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Only records of this kind (`authz.decision`), or of every kind with this prefix (`proc.*`). Repeat for
    /// several.
    #[arg(long)]
    kind: Vec<String>,
    /// Only records about this process: its `pid`, `target`, `parent` or `from` field, or a decision's target
    /// (`resource` `Process::"PID"`): a process's requests and those made on it.
    #[arg(long)]
    pid: Option<String>,
    /// Only records of this action (`process.send`), or of every action with this prefix (`process.*`): a
    /// decision's or summary's `action`. Repeat for several.
    #[arg(long)]
    action: Vec<String>,
    /// Only records whose target is this: a decision's `resource` (`Entry::"app:worker"` or just
    /// `app:worker`), its `target_entry`, or a record's `target`.
    #[arg(long)]
    target: Option<String>,
    /// Only records at or after this time (RFC 3339, e.g. `2026-12-01T10:00:00Z`).
    #[arg(long, value_parser = rfc3339)]
    since: Option<OffsetDateTime>,
    /// Only records at or before this time (RFC 3339).
    #[arg(long, value_parser = rfc3339)]
    until: Option<OffsetDateTime>,
    /// Only records of this actor: the `principal` of a decision, the `actor` of a process record.
    #[arg(long)]
    actor: Option<String>,
    /// Only decisions that came out so.
    #[arg(long, value_enum)]
    decision: Option<DecisionFilter>,
    /// Output format (default: a table on a terminal, JSON lines otherwise).
    #[arg(long, value_enum)]
    format: Option<Format>,
}

/// `--decision`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum DecisionFilter {
    Allow,
    Deny,
}

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

/// 0 shown, 2 unreadable (a line that is not JSON names its file and line).
pub fn run(args: &ShowArgs) -> u8 {
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() { Format::Table } else { Format::Json });
    if format == Format::Table {
        crate::boot::out(format_args!(
            "{:>6}  {:<12}  {:<14}  {:<12}  {:<24}  DETAIL",
            "SEQ", "TIME", "KIND", "ACTOR", "PID"
        ));
    }
    for file in &args.files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                crate::boot::error(format_args!("cannot read `{}`: {e}", file.display()));
                return 2;
            }
        };
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
            let record: Json = match serde_json::from_str(line) {
                Ok(r) => r,
                Err(e) => {
                    crate::boot::error(format_args!("{}:{}: not a JSON record ({e})", file.display(), n + 1));
                    return 2;
                }
            };
            if !selected(args, &record) {
                continue;
            }
            match format {
                Format::Json => crate::boot::out(format_args!("{line}")),
                Format::Table => crate::boot::out(format_args!("{}", row(&record))),
            }
        }
    }
    0
}

fn selected(args: &ShowArgs, record: &Json) -> bool {
    let text = |key: &str| record.get(key).and_then(Json::as_str);
    let kind = text("kind").unwrap_or("");
    let kind_ok = args.kind.is_empty()
        || args.kind.iter().any(|k| k == kind || k.strip_suffix('*').is_some_and(|p| kind.starts_with(p)));
    let resource = text("resource").unwrap_or("");
    let pid_ok = args.pid.as_deref().is_none_or(|p| {
        ["pid", "target", "parent", "from"].iter().any(|f| text(f) == Some(p))
            || (resource.starts_with("Process::") && resource_id(resource) == Some(p))
    });
    let action = text("action").unwrap_or("");
    let action_ok = args.action.is_empty()
        || args.action.iter().any(|a| a == action || a.strip_suffix('*').is_some_and(|p| action.starts_with(p)));
    let target_ok = args.target.as_deref().is_none_or(|t| {
        resource == t
            || resource_id(resource) == Some(t)
            || text("target_entry") == Some(t)
            || text("target") == Some(t)
    });
    let at = text("ts").and_then(|ts| OffsetDateTime::parse(ts, &Rfc3339).ok());
    let time_ok = (args.since.is_none() && args.until.is_none())
        || at.is_some_and(|at| args.since.is_none_or(|s| at >= s) && args.until.is_none_or(|u| at <= u));
    let actor_ok = args.actor.as_deref().is_none_or(|a| text("principal") == Some(a) || text("actor") == Some(a));
    let decision_ok = args.decision.is_none_or(|d| {
        text("decision")
            == Some(match d {
                DecisionFilter::Allow => "allow",
                DecisionFilter::Deny => "deny",
            })
    });
    kind_ok && pid_ok && actor_ok && decision_ok && action_ok && target_ok && time_ok
}

/// One table row: seq, time of day, kind, actor, pid, and what happened.
fn row(record: &Json) -> String {
    let text = |key: &str| record.get(key).and_then(Json::as_str).unwrap_or("");
    let time = text("ts").get(11..23).unwrap_or("");
    let actor = if record.get("principal").is_some() { text("principal") } else { text("actor") };
    let seq = record.get("seq").and_then(Json::as_u64).unwrap_or(0);
    format!("{seq:>6}  {time:<12}  {:<14}  {actor:<12}  {:<24}  {}", text("kind"), text("pid"), detail(record))
}

fn detail(record: &Json) -> String {
    let text = |key: &str| record.get(key).and_then(Json::as_str).unwrap_or("");
    let list = |key: &str| {
        record
            .get(key)
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(Json::as_str).collect::<Vec<_>>().join(","))
    };
    match text("kind") {
        "authz.decision" => format!(
            "{} {} {} by [{}] ({}){}",
            text("decision"),
            text("action"),
            text("resource"),
            list("policies").unwrap_or_default(),
            text("basis"),
            list("errors").filter(|e| !e.is_empty()).map(|e| format!(" errors: {e}")).unwrap_or_default()
        ),
        "authz.summary" => format!(
            "allow x{} {} {}{}{} by [{}] (cached, ops {}..{})",
            record["count"],
            text("action"),
            text("resource"),
            record.get("topic").and_then(Json::as_str).map(|t| format!(" on `{t}`")).unwrap_or_default(),
            record.get("context").map(|c| format!(" with {c}")).unwrap_or_default(),
            list("policies").unwrap_or_default(),
            record["first_op"],
            record["last_op"]
        ),
        "proc.spawn" => format!("{} on {} by {}", text("entry"), text("host"), text("parent")),
        "proc.exit" => format!("{} {}", text("reason"), text("error")),
        "proc.signal" => format!("{} {}", text("signal"), text("target")),
        "proc.link" | "proc.monitor" => {
            format!("{} {}", if record["on"] == Json::Bool(true) { "on" } else { "off" }, text("target"))
        }
        "mailbox.overflow" => format!("{} refused from {} on `{}`", record["count"], text("from"), text("topic")),
        kind if kind.starts_with("policy.") || kind.starts_with("runtime.") => {
            format!("revision {}", text("revision").get(..12).unwrap_or(""))
        }
        _ => String::new(),
    }
}

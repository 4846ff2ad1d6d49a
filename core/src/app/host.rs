//! `process.host` entries: the pools processes run on, and their limits.

use std::path::PathBuf;
use std::time::Duration;

use serde_saphyr::Spanned;

use crate::app::manifest::EntryCx;
use crate::app::units;
use crate::app::yaml::{Node, SNode};

/// How the processes of a host are kept apart (`isolation:` in the manifest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Isolation {
    /// `shared` (default): processes run in VMs of the host's pool, each in its own sandboxed
    /// environment.
    #[default]
    Shared,
    /// `process`: every process gets a VM of its own.
    Process,
}

/// Which VM of its host's pool a new process runs on (`placement:` in the manifest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Placement {
    /// `parent` (default): a process spawned by a process of the same host starts on its parent's VM while
    /// that VM has room, so the two wake each other on one worker (a parent and its children talk most);
    /// other spawns go round robin over the pool.
    #[default]
    Parent,
    /// `spread`: every new process goes round robin over the pool, so CPU-bound children of one parent run
    /// on all the pool's VMs (and workers) at once, at the cost of a cross-worker wake per message.
    Spread,
}

/// A process host: a pool that processes run on, with its limits (a `process.host` entry).
///
/// Keys come flat on the entry (`spec/cli-and-manifest.md`) or nested under `host:` (the
/// reference system's form); `lifecycle:` and `meta:` are accepted and ignored, as are the
/// reference system's scheduler keys `queue_size` and `local_queue_size`, which have no meaning
/// here. Every key the app leaves out takes the default documented on its field.
#[derive(Clone, Debug)]
pub struct HostSpec {
    /// The host's entry id, `namespace:name`.
    pub id: String,
    /// `max_processes`: live processes the host runs at once; default 10 000. Spawning beyond it
    /// is `LIMIT_EXCEEDED`.
    pub max_processes: usize,
    /// `mailbox_size`: messages a process's mailbox holds; default 1024.
    pub mailbox_size: usize,
    /// `memory_limit`: bytes of Lua memory per process; default 16 MiB. Written `16MiB`,
    /// `500-mb`, `64MB` or a number of bytes (see [`parse_memory_size`](crate::app::parse_memory_size)).
    pub memory_limit: u64,
    /// `compute_limit`: Luau instructions per process (the AO seed's `Compute-Limit`); default
    /// 1 000 000 000. Counted as Luau safepoints (loop iterations and calls), see `docs/security.md`.
    pub compute_limit: u64,
    /// `cancel_deadline`: how long a cancelled process has to return before it is terminated;
    /// default 5 s. A humantime string (`5s`) or a number of milliseconds.
    pub cancel_deadline: Duration,
    /// `workers`: VMs in the host's pool; default the number of CPUs
    /// (`std::thread::available_parallelism`), at least 1.
    pub workers: usize,
    /// `isolation`: `shared` (default) or `process`.
    pub isolation: Isolation,
    /// `placement`: `parent` (default) or `spread` ([`Placement`]).
    pub placement: Placement,
    /// `fallback`: the registered name or entry id of the process that receives the messages a
    /// full mailbox refuses (the Ergo seed's fallback process); default none: the send fails.
    pub fallback: Option<String>,
    /// `max_message_bytes`: the largest message payload, in bytes; default 1 MiB. Accepts the
    /// same spellings as `memory_limit`.
    pub max_message_bytes: usize,
    /// `max_message_depth`: the deepest nesting of tables in a message; default 32.
    pub max_message_depth: usize,
    /// `time_slice`: how long a process runs before it yields to others; default 5 ms. A
    /// humantime string or a number of milliseconds.
    pub time_slice: Duration,
    /// `max_children`: live children one process of the host may have; default 1000. Spawning beyond it is
    /// `LIMIT_EXCEEDED` (a process spawning without end stops at it).
    pub max_children: usize,
    /// `max_names`: registry names one process of the host may hold; default 64. Registering beyond it is
    /// `LIMIT_EXCEEDED`.
    pub max_names: usize,
    /// The `_index.yaml` that declares the host; empty for [`HostSpec::with_defaults`].
    pub file: PathBuf,
    /// The 1-based line of the entry in `file`; 0 for [`HostSpec::with_defaults`].
    pub line: u32,
}

impl HostSpec {
    /// Default for `max_processes`.
    pub const DEFAULT_MAX_PROCESSES: usize = 10_000;
    /// Default for `mailbox_size`, in messages.
    pub const DEFAULT_MAILBOX_SIZE: usize = 1024;
    /// Default for `memory_limit`, in bytes (16 MiB).
    pub const DEFAULT_MEMORY_LIMIT: u64 = 16 << 20;
    /// Default for `compute_limit`, in instructions.
    pub const DEFAULT_COMPUTE_LIMIT: u64 = 1_000_000_000;
    /// Default for `cancel_deadline`.
    pub const DEFAULT_CANCEL_DEADLINE: Duration = Duration::from_secs(5);
    /// Default for `max_message_bytes` (1 MiB).
    pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1 << 20;
    /// Default for `max_message_depth`.
    pub const DEFAULT_MAX_MESSAGE_DEPTH: usize = 32;
    /// Default for `max_children`.
    pub const DEFAULT_MAX_CHILDREN: usize = 1000;
    /// Default for `max_names`.
    pub const DEFAULT_MAX_NAMES: usize = 64;
    /// Default for `time_slice`.
    pub const DEFAULT_TIME_SLICE: Duration = Duration::from_millis(5);

    /// Whether `other` has the same id and every limit and setting of this one (where it is declared may
    /// differ): a redeploy keeps such a host, with its running processes counted.
    pub fn same_limits(&self, other: &HostSpec) -> bool {
        let key = |h: &HostSpec| {
            (
                (h.id.clone(), h.max_processes, h.mailbox_size, h.memory_limit, h.compute_limit, h.cancel_deadline),
                (h.workers, h.isolation, h.fallback.clone(), h.max_message_bytes, h.max_message_depth),
                (h.time_slice, h.max_children, h.max_names, h.placement),
            )
        };
        key(self) == key(other)
    }

    /// A host named `id` with every limit at its default: 10 000 processes, 1024-message
    /// mailboxes, 16 MiB and 10^9 instructions per process, a 5 s cancel deadline, one worker
    /// per CPU, shared isolation, no fallback, 1 MiB and 32 levels per message, 5 ms time
    /// slices. `file` is empty and `line` 0: it comes from no manifest.
    pub fn with_defaults(id: &str) -> HostSpec {
        let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        HostSpec {
            id: id.to_string(),
            max_processes: Self::DEFAULT_MAX_PROCESSES,
            mailbox_size: Self::DEFAULT_MAILBOX_SIZE,
            memory_limit: Self::DEFAULT_MEMORY_LIMIT,
            compute_limit: Self::DEFAULT_COMPUTE_LIMIT,
            cancel_deadline: Self::DEFAULT_CANCEL_DEADLINE,
            workers,
            isolation: Isolation::Shared,
            placement: Placement::Parent,
            fallback: None,
            max_message_bytes: Self::DEFAULT_MAX_MESSAGE_BYTES,
            max_message_depth: Self::DEFAULT_MAX_MESSAGE_DEPTH,
            time_slice: Self::DEFAULT_TIME_SLICE,
            max_children: Self::DEFAULT_MAX_CHILDREN,
            max_names: Self::DEFAULT_MAX_NAMES,
            file: PathBuf::new(),
            line: 0,
        }
    }
}

/// The host keys corral reads, flat or under `host:`.
const HOST_KEYS: [&str; 14] = [
    "max_processes",
    "mailbox_size",
    "memory_limit",
    "compute_limit",
    "cancel_deadline",
    "workers",
    "isolation",
    "placement",
    "fallback",
    "max_message_bytes",
    "max_message_depth",
    "time_slice",
    "max_children",
    "max_names",
];

/// The reference system's scheduler keys under `host:`: accepted so its apps load, not used.
const REFERENCE_ONLY_KEYS: [&str; 2] = ["queue_size", "local_queue_size"];

/// Reads a `process.host` entry; `None` when it has problems (each recorded in `cx`).
pub(crate) fn host_entry(cx: &mut EntryCx<'_>, pairs: &[(Spanned<String>, SNode)]) -> Option<HostSpec> {
    let mut spec = HostSpec::with_defaults(cx.id);
    spec.file = cx.file.to_path_buf();
    spec.line = cx.line.unwrap_or(0);
    let mut seen: Vec<String> = Vec::new();
    for (key, value) in pairs {
        match key.value.as_str() {
            "name" | "kind" | "meta" | "lifecycle" => {}
            "host" => nested(cx, &mut spec, &mut seen, value),
            _ => apply(cx, &mut spec, &mut seen, key, value),
        }
    }
    (!cx.failed).then_some(spec)
}

fn nested(cx: &mut EntryCx<'_>, spec: &mut HostSpec, seen: &mut Vec<String>, value: &SNode) {
    match &value.value {
        Node::Map(pairs) => {
            for (key, value) in pairs {
                if !REFERENCE_ONLY_KEYS.contains(&key.value.as_str()) {
                    apply(cx, spec, seen, key, value);
                }
            }
        }
        Node::Scalar(serde_json::Value::Null) => {}
        other => {
            let message = format!("`host` of host `{}` must be a mapping, got {}", cx.id, other.describe());
            cx.problem(&value.referenced, message);
        }
    }
}

fn apply(cx: &mut EntryCx<'_>, spec: &mut HostSpec, seen: &mut Vec<String>, key: &Spanned<String>, value: &SNode) {
    let name = key.value.as_str();
    if !HOST_KEYS.contains(&name) {
        let message = format!("unknown key `{name}` in host `{}`", cx.id);
        return cx.problem(&key.referenced, message);
    }
    if seen.iter().any(|s| s == name) {
        let message = format!("`{name}` of host `{}` is set twice (flat and under `host:`)", cx.id);
        return cx.problem(&key.referenced, message);
    }
    seen.push(name.to_string());
    if value.value.is_null() {
        return; // `key:` with no value keeps the default.
    }
    if let Err(why) = set(spec, name, &value.value) {
        let message = format!("`{name}` of host `{}` {why}", cx.id);
        cx.problem(&value.referenced, message);
    }
}

fn set(spec: &mut HostSpec, name: &str, value: &Node) -> Result<(), String> {
    match name {
        "max_processes" => spec.max_processes = positive(units::count(value)?)?,
        "mailbox_size" => spec.mailbox_size = positive(units::count(value)?)?,
        "max_children" => spec.max_children = positive(units::count(value)?)?,
        "max_names" => spec.max_names = positive(units::count(value)?)?,
        "workers" => spec.workers = at_most(positive(units::count(value)?)?, MAX_WORKERS)?,
        "max_message_depth" => spec.max_message_depth = positive(units::count(value)?)?,
        "max_message_bytes" => spec.max_message_bytes = positive(units::size(value)?)?,
        "memory_limit" => spec.memory_limit = nonzero(units::size(value)?)?,
        "compute_limit" => spec.compute_limit = nonzero(units::count(value)?)?,
        "cancel_deadline" => spec.cancel_deadline = units::duration(value)?,
        "time_slice" => {
            spec.time_slice = units::duration(value)?;
            if spec.time_slice.is_zero() {
                return Err("must be longer than zero".to_string());
            }
        }
        "isolation" => spec.isolation = isolation(value)?,
        "placement" => spec.placement = placement(value)?,
        "fallback" => spec.fallback = Some(fallback(value)?),
        _ => return Err("is not a host setting".to_string()),
    }
    Ok(())
}

/// The most VMs a host's pool may have (`workers:`): each is a thread with its own Luau state, so a typo
/// such as `workers: 100000` would exhaust the machine before anything runs.
pub const MAX_WORKERS: usize = 256;

fn at_most(n: usize, max: usize) -> Result<usize, String> {
    if n > max {
        return Err(format!("is {n}, over the bound of {max}"));
    }
    Ok(n)
}

fn nonzero(n: u64) -> Result<u64, String> {
    if n == 0 {
        return Err("must be at least 1".to_string());
    }
    Ok(n)
}

fn positive(n: u64) -> Result<usize, String> {
    let n = nonzero(n)?;
    usize::try_from(n).map_err(|_| format!("is too large: {n}"))
}

fn isolation(value: &Node) -> Result<Isolation, String> {
    match value.as_str() {
        Some("shared") => Ok(Isolation::Shared),
        Some("process") => Ok(Isolation::Process),
        _ => Err(format!("must be `shared` or `process`, got {}", value.shown())),
    }
}

fn placement(value: &Node) -> Result<Placement, String> {
    match value.as_str() {
        Some("parent") => Ok(Placement::Parent),
        Some("spread") => Ok(Placement::Spread),
        _ => Err(format!("must be `parent` or `spread`, got {}", value.shown())),
    }
}

fn fallback(value: &Node) -> Result<String, String> {
    match value.as_str().map(str::trim) {
        Some(name) if !name.is_empty() => Ok(name.to_string()),
        _ => Err(format!("must name a process (a registered name or an entry id), got {}", value.shown())),
    }
}

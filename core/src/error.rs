//! The errors of the process runtime, one enum for the crate.
//!
//! Every variant maps to one of the spec's error kinds ([`ErrorKind`], `lua-api.md`, "Conventions"), which
//! the sandbox turns into the `errors` objects scripts see. Messages are lowercase, carry the offending id in
//! backticks and name no Rust types.

use crate::value::Value;

/// The kinds of `errors` the Lua API exposes (`lua-api.md`, "Conventions").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A bad argument: wrong type, reserved topic, bad duration, unknown option.
    Invalid,
    /// An unknown entry, host, name or PID, or a PID that is no longer alive.
    NotFound,
    /// A registry name that is taken.
    AlreadyExists,
    /// A policy decision said no, or the audit log could not record the decision.
    PermissionDenied,
    /// A host limit: mailbox full, too many processes, message too large or too deep.
    LimitExceeded,
    /// A wait that ran out of time.
    Timeout,
    /// A cancelled operation.
    Canceled,
    /// A service that cannot answer now.
    Unavailable,
    /// A defect of the runtime itself.
    Internal,
}

impl ErrorKind {
    /// The constant's name as scripts see it: `errors.INVALID` is `"INVALID"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Invalid => "INVALID",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::AlreadyExists => "ALREADY_EXISTS",
            ErrorKind::PermissionDenied => "PERMISSION_DENIED",
            ErrorKind::LimitExceeded => "LIMIT_EXCEEDED",
            ErrorKind::Timeout => "TIMEOUT",
            ErrorKind::Canceled => "CANCELED",
            ErrorKind::Unavailable => "UNAVAILABLE",
            ErrorKind::Internal => "INTERNAL",
        }
    }

    /// Every kind, in the order `errors` lists them.
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::Invalid,
        ErrorKind::NotFound,
        ErrorKind::AlreadyExists,
        ErrorKind::PermissionDenied,
        ErrorKind::LimitExceeded,
        ErrorKind::Timeout,
        ErrorKind::Canceled,
        ErrorKind::Unavailable,
        ErrorKind::Internal,
    ];
}

/// An error of a runtime call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The policy decision was deny (or the audit log could not record it). Nothing of the call happened.
    #[error("not allowed: {action} on {resource}{}", reason_suffix(.reason))]
    Denied {
        /// The Cedar action, e.g. `process.send`.
        action: String,
        /// The resource in Cedar syntax, e.g. `Process::"{local@1|app:h|3}"`.
        resource: String,
        /// Why, when it is not a plain policy deny (e.g. the audit log is unavailable).
        reason: Option<String>,
    },
    /// A PID that is not alive, or an unknown name.
    #[error("no such process `{dest}`")]
    NoSuchProcess {
        /// The PID or name asked for.
        dest: String,
    },
    /// A PID of an earlier incarnation of this node (Ergo's `ErrProcessIncarnation`, seed 002).
    #[error("stale pid `{pid}`: it belongs to an earlier incarnation of node `{node}`")]
    StalePid {
        /// The PID asked for.
        pid: String,
        /// The node it names.
        node: String,
    },
    /// An entry id that the app does not declare.
    #[error("no such entry `{id}`")]
    NoSuchEntry {
        /// The entry id.
        id: String,
    },
    /// A host id that the app does not declare.
    #[error("no such host `{id}`")]
    NoSuchHost {
        /// The host id.
        id: String,
    },
    /// An entry that cannot be spawned (a library, say).
    #[error("entry `{id}` is not a process entry")]
    NotAProcess {
        /// The entry id.
        id: String,
    },
    /// A registry name that is taken.
    #[error("name `{name}` is already registered to `{holder}`")]
    NameTaken {
        /// The name.
        name: String,
        /// The PID holding it.
        holder: String,
    },
    /// A name that is not registered.
    #[error("name `{name}` is not registered")]
    NameNotFound {
        /// The name.
        name: String,
    },
    /// A full mailbox refused a message; the message is handed back (tokio's `SendError<T>`).
    #[error("mailbox of `{pid}` is full ({capacity} messages)")]
    MailboxFull {
        /// The receiver.
        pid: String,
        /// The host's mailbox bound.
        capacity: usize,
        /// The payload that was not delivered.
        payload: Vec<Value>,
    },
    /// A host's process limit, or another limit, was reached.
    #[error("limit exceeded: {what}")]
    Limit {
        /// Which limit, with the numbers.
        what: String,
    },
    /// A bad argument.
    #[error("{0}")]
    Invalid(String),
    /// A wait that timed out.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The other side cannot answer: a called process exited before it replied (`models.md`, "Call and
    /// reply"); the text names the process and its exit reason.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A defect of the runtime.
    #[error("internal error: {0}")]
    Internal(String),
}

fn reason_suffix(reason: &Option<String>) -> String {
    reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()
}

impl Error {
    /// The spec's error kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Denied { .. } => ErrorKind::PermissionDenied,
            Error::NoSuchProcess { .. }
            | Error::StalePid { .. }
            | Error::NoSuchEntry { .. }
            | Error::NoSuchHost { .. }
            | Error::NameNotFound { .. } => ErrorKind::NotFound,
            Error::NotAProcess { .. } | Error::Invalid(_) => ErrorKind::Invalid,
            Error::NameTaken { .. } => ErrorKind::AlreadyExists,
            Error::MailboxFull { .. } | Error::Limit { .. } => ErrorKind::LimitExceeded,
            Error::Timeout(_) => ErrorKind::Timeout,
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }
}

/// The result of runtime calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! `process.send`: topic messages through the gate into the receiver's mailbox.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde_json::Value as Json;

use super::Runtime;
use super::spawn::check_topic;
use crate::audit::{OVERFLOW_WINDOW, OverflowCount};
use crate::error::{Error, Result};
use crate::gate::{OpKind, Operation, Permit, SubjectRef};
use crate::lock;
use crate::mailbox::Message;
use crate::process::Process;
use crate::value::{Table, Value};

/// The topic a fallback process receives refused messages on (`@` topics belong to the runtime, so the
/// wrapped message lands in the fallback's inbox).
pub const FALLBACK_TOPIC: &str = "@fallback";

impl Runtime {
    /// Sends `payload` on `topic` from `from` to `dest` (a PID or a registered name).
    /// Errors: `Invalid` for a reserved or empty topic; `LimitExceeded` for a payload over the host's size or
    /// depth bound, or a full mailbox when the host names no fallback (the payload is handed back in
    /// [`Error::MailboxFull`]); `NotFound`; `PermissionDenied`. On error nothing was delivered.
    pub fn send(&self, from: &Process, dest: &str, topic: &str, payload: impl Into<Arc<[Value]>>) -> Result<()> {
        check_topic(topic)?;
        let payload = payload.into();
        let bytes = check_payload(from, &payload)?;
        let target = self.resolve_for(from, dest)?;
        let permit = self.gate().check_send(&from.caller(), &target.target(), topic, bytes, &from.memo)?;
        self.deliver(permit, from, &target, topic, payload, bytes)
    }

    /// [`Runtime::resolve`], remembering the last PID `from` sent to (see [`Process`]'s `last_dest`).
    pub(super) fn resolve_for(&self, from: &Process, dest: &str) -> Result<Arc<Process>> {
        if dest.starts_with('{') {
            let memo = lock(&from.last_dest);
            if let Some((text, target)) = memo.as_ref()
                && &**text == dest
                && let Some(target) = target.upgrade().filter(|t| t.is_alive())
            {
                return Ok(target);
            }
        }
        let target = self.resolve(dest)?;
        if dest.starts_with('{') {
            *lock(&from.last_dest) = Some((dest.into(), Arc::downgrade(&target)));
        }
        Ok(target)
    }

    fn deliver(
        &self,
        permit: Permit,
        from: &Process,
        target: &Arc<Process>,
        topic: &str,
        payload: Arc<[Value]>,
        bytes: usize,
    ) -> Result<()> {
        // The permit's topic is the text just decided (redeeming checks it): the message shares it.
        let shared = permit.topic().cloned();
        permit.redeem(OpKind::Send, SubjectRef::Message { to: target.pid(), topic })?;
        let topic = shared.unwrap_or_else(|| topic.into());
        let message = Message::new(Some(from.pid().clone()), topic, payload).with_actor(from.actor_id());
        match target.mailbox().deliver(message, bytes) {
            Ok(_) => {
                count_delivery(from, target);
                self.inner.counters.message();
                Ok(())
            }
            Err(refused) => self.overflow(from, target, refused, bytes),
        }
    }

    /// A full mailbox: the host's fallback process gets the message wrapped with its target and topic, or the
    /// sender gets `LimitExceeded` with the payload back (`lua-api.md`: nothing is dropped silently).
    ///
    /// The fallback is fixed by the host entry: `fallback:` naming an entry of the app is a process the host
    /// starts (on first need, and again if it exited), which no tenant can stand in for. A `fallback:` that
    /// names no entry is taken as a registered name (the older form: anyone allowed to register that name
    /// receives the overflow). Either way the delivery is a send from the sender to the fallback on topic
    /// [`FALLBACK_TOPIC`], decided and audited like any other (issue 9).
    fn overflow(&self, from: &Process, target: &Arc<Process>, refused: Message, bytes: usize) -> Result<()> {
        let host = target.host();
        self.audit_overflow(target, from.pid().to_string(), &refused.topic);
        let full = |payload: &Message| Error::MailboxFull {
            pid: target.pid().to_string(),
            capacity: target.limits().mailbox,
            payload: payload.payload.to_vec(),
        };
        let fallback = match host.spec.fallback.as_deref() {
            None => None,
            Some(entry) if self.inner.app.load().entries.contains_key(entry) => self.host_fallback(host, entry).ok(),
            Some(name) => self.resolve(name).ok(),
        };
        let Some(fallback) = fallback.filter(|f| f.pid() != target.pid()) else {
            return Err(full(&refused));
        };
        let wrapped = Value::Table(Arc::new(Table {
            array: Vec::new(),
            map: vec![
                (Value::str("target"), Value::str(&target.pid().to_string())),
                (Value::str("topic"), Value::str(&refused.topic)),
                (Value::str("payload"), Value::Table(Arc::new(Table { array: refused.payload.to_vec(), map: vec![] }))),
            ],
        }));
        let wrapped_bytes = bytes.saturating_add(target.pid().to_string().len()).saturating_add(64);
        let send = Operation::Send { target: &fallback.target(), topic: FALLBACK_TOPIC, bytes: wrapped_bytes };
        let Ok(permit) = self.gate().check(&from.caller(), send) else {
            return Err(full(&refused));
        };
        permit.redeem(OpKind::Send, SubjectRef::Message { to: fallback.pid(), topic: FALLBACK_TOPIC })?;
        let message = Message::new(Some(from.pid().clone()), FALLBACK_TOPIC.into(), vec![wrapped].into())
            .with_actor(from.actor_id());
        match fallback.mailbox().deliver(message, wrapped_bytes) {
            Ok(_) => {
                count_delivery(from, &fallback);
                self.inner.counters.message();
                Ok(())
            }
            Err(_) => Err(full(&refused)),
        }
    }
}

impl Runtime {
    /// Counts one refused message to `target` and writes a `mailbox.overflow` record when the summariser
    /// says one is due (at most one per mailbox per [`crate::audit::OVERFLOW_WINDOW`]).
    pub fn audit_overflow(&self, target: &Process, from: String, topic: &str) {
        self.inner.counters.mailbox_overflow();
        let pid = target.pid().to_string();
        let due = lock(&self.inner.overflow).observe(&pid, &from, topic, Instant::now());
        if let Some(count) = due {
            self.write_overflow(target, count);
        }
    }

    /// Writes the overflows still held back for `target` (it is exiting).
    pub(crate) fn flush_overflow(&self, target: &Process) {
        let held = lock(&self.inner.overflow).flush(&target.pid().to_string());
        if let Some(count) = held {
            self.write_overflow(target, count);
        }
    }

    fn write_overflow(&self, target: &Process, count: OverflowCount) {
        let spec = &target.host().spec;
        self.audit_event(
            "mailbox.overflow",
            [
                ("pid", target.pid().to_string().into()),
                ("from", count.from.into()),
                ("topic", count.topic.into()),
                ("count", count.count.into()),
                ("window_ms", u64::try_from(OVERFLOW_WINDOW.as_millis()).unwrap_or(u64::MAX).into()),
                ("capacity", target.limits().mailbox.into()),
                ("fallback", spec.fallback.clone().map(Json::from).unwrap_or(Json::Null)),
            ],
        );
    }
}

/// Counts a delivered message in both processes' `proc.exit` counters.
fn count_delivery(from: &Process, to: &Process) {
    from.messages_out.fetch_add(1, Ordering::Relaxed);
    to.messages_in.fetch_add(1, Ordering::Relaxed);
}

/// A payload within the sender's host bounds on size and nesting depth; its size in bytes
/// ([`Value::size`]). Errors: `LimitExceeded`.
pub fn check_payload(from: &Process, payload: &[Value]) -> Result<usize> {
    check_values(&from.host().spec, payload)
}

/// Values (a payload, spawn arguments) within `spec`'s bounds on size and nesting depth; their size in
/// bytes. Errors: `LimitExceeded`.
pub(crate) fn check_values(spec: &crate::app::HostSpec, payload: &[Value]) -> Result<usize> {
    let size: usize = payload.iter().map(Value::size).sum();
    if size > spec.max_message_bytes {
        return Err(Error::Limit {
            what: format!("message of {size} bytes is over the {} byte bound", spec.max_message_bytes),
        });
    }
    let depth = payload.iter().map(Value::depth).max().unwrap_or(0);
    if depth > spec.max_message_depth {
        return Err(Error::Limit {
            what: format!("message nested {depth} deep is over the bound of {}", spec.max_message_depth),
        });
    }
    Ok(size)
}

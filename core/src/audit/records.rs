//! The fields of the `policy.*` records, built in one place so that loading at startup and reloading write
//! the same shape (`docs/audit-log.md`). The runtime writes them (it adds `node`
//! and `incarnation`; the sink adds `v`, `seq`, `ts`, `kind` and `prev`.

use std::collections::BTreeSet;
use std::path::Path;

use corral_policy::{PolicySet, Problem};
use serde_json::{Map, Value as Json, json};

/// The kind of the record of the policy set a node starts with.
pub const POLICY_LOAD: &str = "policy.load";
/// The kind of the record of a policy set that replaced the one in force.
pub const POLICY_RELOAD: &str = "policy.reload";
/// The kind of the record of a policy folder that was rejected (the set in force stays).
pub const POLICY_REJECT: &str = "policy.reject";

/// `policy.load`: `source` (the folder), `revision`, `policies` (ids in file order), `scopes`.
pub fn policy_load(source: &Path, set: &PolicySet) -> Map<String, Json> {
    let mut fields = Map::new();
    fields.insert("source".into(), source.display().to_string().into());
    fields.insert("revision".into(), set.revision().into());
    fields.insert("policies".into(), set.policy_ids().into());
    fields.insert("scopes".into(), set.scopes().into_iter().collect::<Vec<_>>().into());
    fields
}

/// `policy.reload`: the `policy.load` fields of the new set, plus `previous` (the revision it replaced) and
/// `added` / `removed` (policy ids, sorted).
pub fn policy_reload(source: &Path, previous: &PolicySet, set: &PolicySet) -> Map<String, Json> {
    let mut fields = policy_load(source, set);
    let old: BTreeSet<String> = previous.policy_ids().into_iter().collect();
    let new: BTreeSet<String> = set.policy_ids().into_iter().collect();
    fields.insert("previous".into(), previous.revision().into());
    fields.insert("added".into(), new.difference(&old).cloned().collect::<Vec<_>>().into());
    fields.insert("removed".into(), old.difference(&new).cloned().collect::<Vec<_>>().into());
    fields
}

/// `policy.reject`: `source`, `revision` (the set that stays in force) and `problems`, each
/// `{file, line, policy, message}` (`line` and `policy` null when unknown).
pub fn policy_reject(source: &Path, in_force: &PolicySet, problems: &[Problem]) -> Map<String, Json> {
    let problems: Vec<Json> = problems
        .iter()
        .map(
            |p| json!({"file": p.file.display().to_string(), "line": p.line, "policy": p.policy, "message": p.message}),
        )
        .collect();
    let mut fields = Map::new();
    fields.insert("source".into(), source.display().to_string().into());
    fields.insert("revision".into(), in_force.revision().into());
    fields.insert("problems".into(), problems.into());
    fields
}

/// The fields of an `authz.decision` record (`docs/audit-log.md`), borrowed from the request and the decision
/// and written straight into the writer's batch field by field ([`JsonObject`]); `node`, `incarnation`,
/// `target_entry`, `target_actor`, `via` and `context` are left out when `None`.
pub(crate) struct DecisionRecord<'a> {
    pub(crate) node: Option<&'a str>,
    pub(crate) incarnation: Option<u64>,
    pub(crate) op: u64,
    pub(crate) principal: Option<&'a str>,
    pub(crate) action: &'a str,
    pub(crate) resource: &'a corral_policy::Resource,
    pub(crate) target_entry: Option<&'a str>,
    pub(crate) target_actor: Option<&'a str>,
    pub(crate) decision: &'static str,
    pub(crate) basis: &'static str,
    pub(crate) policies: &'a [String],
    pub(crate) errors: &'a [String],
    pub(crate) revision: &'a str,
    pub(crate) cached: bool,
    pub(crate) pid: Option<&'a str>,
    pub(crate) entry: Option<&'a str>,
    pub(crate) scopes: &'a [String],
    /// Microseconds, rounded to a tenth.
    pub(crate) eval_us: f64,
    pub(crate) level: &'static str,
    /// `"api"` for a request of a node's API caller (no PID: a bearer token's actor); absent otherwise.
    pub(crate) via: Option<&'static str>,
    pub(crate) context: Option<RequestContext<'a>>,
}

impl super::Fields for DecisionRecord<'_> {
    fn write_object(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let mut o = JsonObject::open(out);
        o.str_if("node", self.node);
        o.u64_if("incarnation", self.incarnation);
        o.u64("op", self.op);
        o.opt_str("principal", self.principal);
        o.str("action", self.action);
        o.resource("resource", self.resource);
        o.str_if("target_entry", self.target_entry);
        o.str_if("target_actor", self.target_actor);
        o.constant("decision", self.decision);
        o.constant("basis", self.basis);
        o.strs("policies", self.policies);
        o.strs("errors", self.errors);
        o.str("revision", self.revision);
        o.bool("cached", self.cached);
        o.opt_str("pid", self.pid);
        o.opt_str("entry", self.entry);
        o.strs("scopes", self.scopes);
        o.tenths("eval_us", self.eval_us);
        o.constant("level", self.level);
        o.str_if("via", self.via);
        if let Some(context) = &self.context {
            o.serde("context", context)?;
        }
        o.close();
        Ok(())
    }
}

/// `context` of a decision at level `request`: the request's context attributes and `payload_bytes`.
pub(crate) struct RequestContext<'a> {
    pub(crate) attrs: &'a [(String, corral_policy::AttrValue)],
    pub(crate) payload_bytes: Option<usize>,
}

impl serde::Serialize for RequestContext<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.attrs {
            map.serialize_entry(key, value)?;
        }
        if let Some(bytes) = self.payload_bytes {
            map.serialize_entry("payload_bytes", &bytes)?;
        }
        map.end()
    }
}

/// The fields of a lifecycle record as `(name, value)` pairs followed by `node` and `incarnation`, written as
/// one object without building a map (fields named like the sink's own are left out).
pub(crate) struct Pairs<'a> {
    pub(crate) fields: &'a [(&'a str, Json)],
    pub(crate) node: &'a str,
    pub(crate) incarnation: u64,
}

impl serde::Serialize for Pairs<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.fields {
            if !super::RESERVED.contains(key) && *key != "node" && *key != "incarnation" {
                map.serialize_entry(key, value)?;
            }
        }
        map.serialize_entry("node", self.node)?;
        map.serialize_entry("incarnation", &self.incarnation)?;
        map.end()
    }
}

/// The fields of a `proc.spawn` record (`docs/audit-log.md`, "Lifecycle"), borrowed and written in this
/// order with no map in between ([`JsonObject`]).
pub(crate) struct SpawnRecord<'a> {
    pub(crate) pid: &'a str,
    pub(crate) parent: Option<&'a str>,
    pub(crate) entry: &'a str,
    pub(crate) host: &'a str,
    pub(crate) actor: Option<&'a str>,
    pub(crate) scopes: &'a [String],
    pub(crate) monitored: bool,
    pub(crate) linked: bool,
    pub(crate) args_bytes: usize,
    /// The op ids of the grants the child was given.
    pub(crate) grants: &'a [u64],
    pub(crate) limits: SpawnLimits,
    pub(crate) node: &'a str,
    pub(crate) incarnation: u64,
}

/// `limits` of a `proc.spawn` record: mailbox messages, memory bytes, compute units.
pub(crate) struct SpawnLimits {
    pub(crate) mailbox: usize,
    pub(crate) memory: u64,
    pub(crate) compute: u64,
}

impl super::Fields for SpawnRecord<'_> {
    fn write_object(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let mut o = JsonObject::open(out);
        o.str("pid", self.pid);
        o.opt_str("parent", self.parent);
        o.str("entry", self.entry);
        o.str("host", self.host);
        o.opt_str("actor", self.actor);
        o.strs("scopes", self.scopes);
        o.bool("monitored", self.monitored);
        o.bool("linked", self.linked);
        o.u64("args_bytes", self.args_bytes as u64);
        o.u64s("grants", self.grants);
        let limits = &self.limits;
        o.object("limits", |l| {
            l.u64("mailbox", limits.mailbox as u64);
            l.u64("memory", limits.memory);
            l.u64("compute", limits.compute);
        });
        o.str("node", self.node);
        o.u64("incarnation", self.incarnation);
        o.close();
        Ok(())
    }
}

/// The fields of a `proc.exit` record (`docs/audit-log.md`, "Lifecycle"), borrowed.
pub(crate) struct ExitRecord<'a> {
    pub(crate) pid: &'a str,
    pub(crate) entry: &'a str,
    pub(crate) actor: Option<&'a str>,
    pub(crate) reason: &'a str,
    /// The error text (cut to its bound), `null` for a normal exit.
    pub(crate) error: Option<&'a str>,
    pub(crate) counters: ExitCounters,
    pub(crate) node: &'a str,
    pub(crate) incarnation: u64,
}

/// `counters` of a `proc.exit` record.
pub(crate) struct ExitCounters {
    pub(crate) messages_in: u64,
    pub(crate) messages_out: u64,
    pub(crate) peak_memory_bytes: u64,
    pub(crate) instructions: u64,
    pub(crate) wall_us: u64,
}

impl super::Fields for ExitRecord<'_> {
    fn write_object(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let mut o = JsonObject::open(out);
        o.str("pid", self.pid);
        o.str("entry", self.entry);
        o.opt_str("actor", self.actor);
        o.str("reason", self.reason);
        o.opt_str("error", self.error);
        let c = &self.counters;
        o.object("counters", |o| {
            o.u64("messages_in", c.messages_in);
            o.u64("messages_out", c.messages_out);
            o.u64("peak_memory_bytes", c.peak_memory_bytes);
            o.u64("instructions", c.instructions);
            o.u64("wall_us", c.wall_us);
        });
        o.str("node", self.node);
        o.u64("incarnation", self.incarnation);
        o.close();
        Ok(())
    }
}

/// A JSON object written field by field into a record's buffer, for the records written most (`proc.spawn`,
/// `proc.exit`, `authz.decision`, `authz.summary`): the field names are this module's constants, written as
/// they are; a string value is copied when it holds nothing JSON escapes (PIDs and ids, in practice) and
/// escaped as `serde_json` escapes it otherwise ([`push_json_contents`]), so the bytes are those `serde_json`
/// writes for the same fields.
pub(crate) struct JsonObject<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> JsonObject<'o> {
    /// Starts an object at the end of `out`.
    pub(crate) fn open(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        JsonObject { out, first: true }
    }

    /// Ends the object.
    pub(crate) fn close(self) {
        self.out.push(b'}');
    }

    fn name(&mut self, name: &str) {
        if !std::mem::replace(&mut self.first, false) {
            self.out.push(b',');
        }
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    pub(crate) fn str(&mut self, name: &str, value: &str) {
        self.name(name);
        push_json_str(self.out, value);
    }

    /// A string of this crate's own (a decision's `allow` / `deny`, its basis, a level's name), copied
    /// without looking for bytes to escape: none of them holds one.
    pub(crate) fn constant(&mut self, name: &str, value: &'static str) {
        debug_assert!(!needs_escape(value.as_bytes()), "{value}");
        self.name(name);
        self.out.push(b'"');
        self.out.extend_from_slice(value.as_bytes());
        self.out.push(b'"');
    }

    /// A string field, left out when `None`.
    pub(crate) fn str_if(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.str(name, value);
        }
    }

    /// A number field, left out when `None`.
    pub(crate) fn u64_if(&mut self, name: &str, value: Option<u64>) {
        if let Some(value) = value {
            self.u64(name, value);
        }
    }

    pub(crate) fn opt_str(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(value) => self.str(name, value),
            None => {
                self.name(name);
                self.out.extend_from_slice(b"null");
            }
        }
    }

    pub(crate) fn u64(&mut self, name: &str, value: u64) {
        self.name(name);
        self.out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    pub(crate) fn bool(&mut self, name: &str, value: bool) {
        self.name(name);
        self.out.extend_from_slice(if value { b"true" } else { b"false" });
    }

    pub(crate) fn strs(&mut self, name: &str, values: &[String]) {
        self.name(name);
        self.out.push(b'[');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            push_json_str(self.out, value);
        }
        self.out.push(b']');
    }

    pub(crate) fn u64s(&mut self, name: &str, values: &[u64]) {
        self.name(name);
        self.out.push(b'[');
        let mut digits = itoa::Buffer::new();
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            self.out.extend_from_slice(digits.format(*value).as_bytes());
        }
        self.out.push(b']');
    }

    /// Triples of numbers as an array of three-number arrays (`[[a,b,c],...]`).
    pub(crate) fn u64_triples(&mut self, name: &str, values: &[[u64; 3]]) {
        self.name(name);
        self.out.push(b'[');
        let mut digits = itoa::Buffer::new();
        for (i, triple) in values.iter().enumerate() {
            self.out.extend_from_slice(if i > 0 { b",[" } else { b"[" });
            for (j, value) in triple.iter().enumerate() {
                if j > 0 {
                    self.out.push(b',');
                }
                self.out.extend_from_slice(digits.format(*value).as_bytes());
            }
            self.out.push(b']');
        }
        self.out.push(b']');
    }

    /// A time as an RFC 3339 string (`super::write_rfc3339`, which writes nothing JSON escapes).
    pub(crate) fn time(&mut self, name: &str, at: std::time::SystemTime) {
        self.name(name);
        self.out.push(b'"');
        super::write_rfc3339(self.out, at);
        self.out.push(b'"');
    }

    /// A number as `serde_json` writes it (shortest round trip), `null` when not finite.
    pub(crate) fn f64(&mut self, name: &str, value: f64) {
        self.name(name);
        if serde_json::to_writer(&mut *self.out, &value).is_err() {
            // Writing a number into a Vec cannot fail; were it to, the record still holds a valid value.
            self.out.extend_from_slice(b"null");
        }
    }

    /// A number given to a tenth (`(x * 10).round() / 10`) as `serde_json` writes it: its whole part, a dot
    /// and its tenth, from integers, when it is such a number from 0 to below 10^9 (where that is the
    /// shortest text that reads back as the number, which is what `serde_json` writes); otherwise as
    /// [`JsonObject::f64`].
    pub(crate) fn tenths(&mut self, name: &str, value: f64) {
        let scaled = (value * 10.0).round();
        if !(0.0..1e10).contains(&scaled) || value.is_sign_negative() || scaled / 10.0 != value {
            return self.f64(name, value);
        }
        self.name(name);
        // In 0..10^10 and integral: the conversion is exact.
        let tenths = scaled as u64;
        self.out.extend_from_slice(itoa::Buffer::new().format(tenths / 10).as_bytes());
        self.out.extend_from_slice(&[b'.', b'0' + (tenths % 10) as u8]);
    }

    /// A request's resource as its `Display` text (`Type::"id"`), written in three pieces when the id is
    /// printable ASCII with no quote or backslash (what `Display` writes as it is); otherwise through `Display`.
    pub(crate) fn resource(&mut self, name: &str, resource: &corral_policy::Resource) {
        let id = resource.id();
        if needs_escape(id.as_bytes()) || !id.is_ascii() || id.as_bytes().contains(&0x7f) {
            return self.display(name, resource);
        }
        self.name(name);
        self.out.push(b'"');
        push_json_contents(self.out, resource.type_name());
        self.out.extend_from_slice(br#"::\""#);
        self.out.extend_from_slice(id.as_bytes());
        self.out.extend_from_slice(br#"\"""#);
    }

    /// A value's `Display` text as a string.
    pub(crate) fn display(&mut self, name: &str, value: &impl std::fmt::Display) {
        use std::fmt::Write;
        self.name(name);
        self.out.push(b'"');
        let _ = write!(Escaping(self.out), "{value}");
        self.out.push(b'"');
    }

    /// Any serialisable value, by `serde_json`. Errors: as `serde_json`'s.
    pub(crate) fn serde(&mut self, name: &str, value: &impl serde::Serialize) -> serde_json::Result<()> {
        self.name(name);
        serde_json::to_writer(&mut *self.out, value)
    }

    pub(crate) fn object(&mut self, name: &str, fields: impl FnOnce(&mut JsonObject<'_>)) {
        self.name(name);
        let mut inner = JsonObject::open(self.out);
        fields(&mut inner);
        inner.close();
    }
}

/// Writes text into a JSON string's contents (between its quotes), escaped as [`push_json_str`] does.
struct Escaping<'o>(&'o mut Vec<u8>);

impl std::fmt::Write for Escaping<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        push_json_contents(self.0, text);
        Ok(())
    }
}

/// Whether `bytes` holds a byte JSON escapes: `"`, `\\` or a control character below 0x20. A text of 16
/// bytes or more is checked sixteen bytes at a time with no early exit inside a block, so that the compiler
/// turns a block into a few vector compares (SSE2 is part of x86-64), its last bytes as the whole block that
/// ends it (overlapping the one before); a text of 8 to 15 bytes as its first and last eight bytes, each a
/// word (the usual bit tests for a byte below a bound and a byte equal to a value); a shorter one byte by byte.
fn needs_escape(bytes: &[u8]) -> bool {
    const BLOCK: usize = 16;
    const WORD: usize = 8;
    let escaped = |b: u8| (b < 0x20) | (b == b'"') | (b == b'\\');
    let block_escaped = |block: &[u8]| {
        let block: [u8; BLOCK] = block.try_into().unwrap_or([b' '; BLOCK]);
        block.iter().fold(false, |any, &b| any | escaped(b))
    };
    let word_escaped = |word: &[u8]| {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let zero_byte = |w: u64| w.wrapping_sub(ONES) & !w & HIGH != 0;
        let w = u64::from_le_bytes(word.try_into().unwrap_or([b' '; WORD]));
        w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0 || zero_byte(w ^ (ONES * 0x22)) || zero_byte(w ^ (ONES * 0x5c))
    };
    let tail = |size: usize| bytes.get(bytes.len().saturating_sub(size)..).unwrap_or_default();
    match bytes.len() {
        0..WORD => bytes.iter().any(|&b| escaped(b)),
        WORD..BLOCK => word_escaped(bytes.get(..WORD).unwrap_or_default()) || word_escaped(tail(WORD)),
        _ => {
            let mut blocks = bytes.chunks_exact(BLOCK);
            blocks.any(block_escaped) || (!blocks.remainder().is_empty() && block_escaped(tail(BLOCK)))
        }
    }
}

/// Appends `value` as a JSON string, escaped as `serde_json` escapes it ([`push_json_contents`]).
pub(crate) fn push_json_str(out: &mut Vec<u8>, value: &str) {
    out.reserve(value.len() + 2);
    out.push(b'"');
    push_json_contents(out, value);
    out.push(b'"');
}

/// Appends `value` as the contents of a JSON string (without its quotes), byte for byte what `serde_json`
/// writes: copied as it is when no byte needs escaping (JSON escapes only `"`, `\` and control characters
/// below 0x20); otherwise the runs between escaped bytes are copied, `"` and `\` get a backslash, and a
/// control character is written as `\b`, `\t`, `\n`, `\f`, `\r` or `\u00xx` (lowercase hex).
fn push_json_contents(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    if !needs_escape(bytes) {
        out.extend_from_slice(bytes);
        return;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut run = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let short = match byte {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x09 => b't',
            0x0a => b'n',
            0x0c => b'f',
            0x0d => b'r',
            0x00..=0x1f => 0,
            _ => continue,
        };
        out.extend_from_slice(bytes.get(run..at).unwrap_or_default());
        run = at + 1;
        if short != 0 {
            out.extend_from_slice(&[b'\\', short]);
        } else {
            out.extend_from_slice(b"\\u00");
            out.extend_from_slice(&[HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]]);
        }
    }
    out.extend_from_slice(bytes.get(run..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn set(policies: &str) -> Result<PolicySet, String> {
        PolicySet::from_files(&[("a.cedar".into(), policies.into())]).map_err(|e| e.to_string())
    }

    /// A string is written byte for byte as `serde_json` writes it, whatever it holds.
    #[test]
    fn a_string_is_written_as_serde_json_writes_it() {
        let mut samples: Vec<String> = (0u8..0x80).map(|b| format!("a{}b", b as char)).collect();
        samples.extend(
            [
                "",
                "{local@18c2|app:processes|5}",
                "quote\"d",
                "back\\slash",
                "tab\tnew\nline",
                "\u{7f}",
                "é日本🦀",
                "\u{1f}x",
                "Process::\"{local@18c2|app:processes|5}\"",
                "\"\"\\\\\u{0}\u{8}\u{c}\r\té\"end",
                "\\",
                "\"",
            ]
            .map(String::from),
        );
        for sample in &samples {
            let mut ours = Vec::new();
            push_json_str(&mut ours, sample);
            let theirs = serde_json::to_vec(sample).unwrap_or_default();
            assert_eq!(ours, theirs, "{sample:?}");
            // A value's `Display` text, written in pieces, is escaped the same way.
            let mut shown = Vec::new();
            let mut object = JsonObject::open(&mut shown);
            object.display("k", &format_args!("{sample}{sample}"));
            object.close();
            let doubled = serde_json::to_vec(&serde_json::json!({ "k": format!("{sample}{sample}") }));
            assert_eq!(shown, doubled.unwrap_or_default(), "{sample:?} shown");
        }
    }

    /// A number given to a tenth is written as `serde_json` writes it, and so is any other number.
    #[test]
    fn a_tenth_is_written_as_serde_json_writes_it() {
        let written = |value: f64| {
            let mut out = Vec::new();
            let mut object = JsonObject::open(&mut out);
            object.tenths("t", value);
            object.close();
            (String::from_utf8_lossy(&out).into_owned(), format!("{{\"t\":{}}}", serde_json::json!(value)))
        };
        let mut tenths: Vec<u64> = (0..200_000).collect();
        tenths.extend((0..2_000).map(|i| 9_999_999_000 + i));
        tenths.extend((0..2_000).map(|i| 123_456_789 * i));
        for n in tenths {
            let (ours, theirs) = written((n as f64 * 0.1 * 10.0).round() / 10.0);
            assert_eq!(ours, theirs, "{n} tenths");
        }
        for value in [0.05, 1e10, 1e12 + 0.5, 2.71, -1.0, -0.0, f64::NAN, f64::INFINITY, 1e300] {
            let (ours, theirs) = written(value);
            assert_eq!(ours, theirs, "{value}");
        }
    }

    /// A resource is written as its `Display` text, escaped, whatever its id holds.
    #[test]
    fn a_resource_is_written_as_its_display_text() {
        let ids = ["{local@18c2|app:processes|5}", "app:main", "", "quo\"te", "back\\slash", "tab\t", "é", "\u{7f}x"];
        for id in ids {
            let owned = || Arc::<str>::from(id);
            let process =
                corral_policy::Resource::Process { pid: owned(), entry: owned(), host: owned(), actor: owned() };
            for resource in [
                corral_policy::Resource::Entry { id: id.into() },
                corral_policy::Resource::Name { name: id.into() },
                process,
            ] {
                let mut out = Vec::new();
                let mut object = JsonObject::open(&mut out);
                object.resource("r", &resource);
                object.close();
                let theirs = serde_json::to_vec(&serde_json::json!({ "r": resource.to_string() }));
                assert_eq!(out, theirs.unwrap_or_default(), "{id:?}");
            }
        }
    }

    /// The word-at-a-time test agrees with a byte-by-byte one at every position of every escaped byte.
    #[test]
    fn a_byte_to_escape_is_found_wherever_it_is() {
        let plain = |b: &[u8]| b.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        for len in 0..40 {
            for at in 0..len {
                for byte in 0u8..=255 {
                    let mut text = vec![b'a'; len];
                    text[at] = byte;
                    assert_eq!(needs_escape(&text), plain(&text), "byte {byte:#x} at {at} of {len}");
                }
            }
        }
        assert!(!needs_escape("{local@18c2|app:processes|5} é日本".as_bytes()));
        // Mixed words (bytes near the bounds, high bytes beside low ones), from a fixed-seed generator.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let near = [0x00, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff];
        for _ in 0..20_000 {
            let text: Vec<u8> = (0..16)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    if seed >> 63 == 0 {
                        near[(seed >> 40) as usize % near.len()]
                    } else {
                        b'a' + (seed >> 50) as u8 % 26
                    }
                })
                .collect();
            assert_eq!(needs_escape(&text), plain(&text), "{text:?}");
        }
    }

    /// The lifecycle records hold the documented fields in the documented order, and stay valid JSON with
    /// hostile text in them.
    #[test]
    fn lifecycle_records_are_json_objects_in_field_order() {
        use crate::audit::Fields;
        let scopes = vec!["a\"b".to_string(), "c".to_string()];
        let spawn = SpawnRecord {
            pid: "{n@1|h|2}",
            parent: None,
            entry: "app:w\n",
            host: "app:h",
            actor: Some("user:\u{0}"),
            scopes: &scopes,
            monitored: true,
            linked: false,
            args_bytes: 52,
            grants: &[7, 9],
            limits: SpawnLimits { mailbox: 256, memory: u64::MAX, compute: 0 },
            node: "local",
            incarnation: 3,
        };
        let mut out = Vec::new();
        assert!(spawn.write_object(&mut out).is_ok());
        let parsed: Json = serde_json::from_slice(&out).unwrap_or_default();
        assert_eq!(
            parsed,
            json!({"pid": "{n@1|h|2}", "parent": null, "entry": "app:w\n", "host": "app:h", "actor": "user:\u{0}",
                   "scopes": ["a\"b", "c"], "monitored": true, "linked": false, "args_bytes": 52, "grants": [7, 9],
                   "limits": {"mailbox": 256, "memory": u64::MAX, "compute": 0}, "node": "local", "incarnation": 3})
        );
        let text = String::from_utf8_lossy(&out);
        let order = [
            "\"pid\"",
            "\"parent\"",
            "\"entry\"",
            "\"host\"",
            "\"actor\"",
            "\"scopes\"",
            "\"monitored\"",
            "\"linked\"",
            "\"args_bytes\"",
            "\"grants\"",
            "\"limits\"",
            "\"node\"",
            "\"incarnation\"",
        ];
        let at: Vec<usize> = order.iter().map(|k| text.find(k).unwrap_or(usize::MAX)).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        let exit = ExitRecord {
            pid: "{n@1|h|2}",
            entry: "app:w",
            actor: None,
            reason: "error",
            error: Some("boom \"quoted\"\n"),
            counters: ExitCounters {
                messages_in: 1,
                messages_out: 2,
                peak_memory_bytes: 3,
                instructions: 4,
                wall_us: 5,
            },
            node: "local",
            incarnation: 3,
        };
        let mut out = Vec::new();
        assert!(exit.write_object(&mut out).is_ok());
        let parsed: Json = serde_json::from_slice(&out).unwrap_or_default();
        assert_eq!(
            parsed,
            json!({"pid": "{n@1|h|2}", "entry": "app:w", "actor": null, "reason": "error", "error": "boom \"quoted\"\n",
                   "counters": {"messages_in": 1, "messages_out": 2, "peak_memory_bytes": 3, "instructions": 4,
                   "wall_us": 5}, "node": "local", "incarnation": 3})
        );
    }

    /// A decision record holds what `serde_json` would write for the same fields: the optional ones left out
    /// when `None`, the resource's Cedar text escaped, the evaluation time as the shortest number.
    #[test]
    fn a_decision_record_is_the_documented_object() {
        use crate::audit::Fields;
        use corral_policy::{AttrValue, Resource};
        let resource = Resource::Entry { id: "app:\"odd\"\n".into() };
        let policies = vec!["p1".to_string()];
        let attrs = vec![("topic".to_string(), AttrValue::from("t\"x"))];
        let record = |context, node| DecisionRecord {
            node,
            incarnation: node.map(|_| 9),
            op: 4,
            principal: Some("user:alice"),
            action: "process.spawn",
            resource: &resource,
            target_entry: None,
            target_actor: Some("user:bob"),
            decision: "allow",
            basis: "permit",
            policies: &policies,
            errors: &[],
            revision: "rev",
            cached: false,
            pid: None,
            entry: Some("app:main"),
            scopes: &[],
            eval_us: 12.3,
            level: "request",
            via: Some("api"),
            context,
        };
        let mut out = Vec::new();
        let full = record(Some(RequestContext { attrs: &attrs, payload_bytes: Some(5) }), Some("local"));
        assert!(full.write_object(&mut out).is_ok());
        let parsed: Json = serde_json::from_slice(&out).unwrap_or_default();
        assert_eq!(
            parsed,
            json!({"node": "local", "incarnation": 9, "op": 4, "principal": "user:alice", "action": "process.spawn",
                   "resource": resource.to_string(), "target_actor": "user:bob", "decision": "allow",
                   "basis": "permit", "policies": ["p1"], "errors": [], "revision": "rev", "cached": false,
                   "pid": null, "entry": "app:main", "scopes": [], "eval_us": 12.3, "level": "request",
                   "via": "api", "context": {"topic": "t\"x", "payload_bytes": 5}})
        );
        let text = String::from_utf8_lossy(&out).into_owned();
        assert!(text.contains(&format!("\"eval_us\":{},", serde_json::to_string(&12.3).unwrap_or_default())));
        let mut out = Vec::new();
        assert!(record(None, None).write_object(&mut out).is_ok());
        let parsed: Json = serde_json::from_slice(&out).unwrap_or_default();
        for absent in ["node", "incarnation", "target_entry", "context"] {
            assert!(parsed.get(absent).is_none(), "{absent} is left out: {parsed}");
        }
    }

    #[test]
    fn a_reload_names_the_policies_it_added_and_removed() -> Result<(), String> {
        let old = set("@id(\"one\") permit (principal, action, resource);")?;
        let new = set("@id(\"two\") permit (principal, action, resource);")?;
        let fields = policy_reload(Path::new("policies"), &old, &new);
        assert_eq!(fields["added"], json!(["two"]));
        assert_eq!(fields["removed"], json!(["one"]));
        assert_eq!(fields["previous"], json!(old.revision()));
        assert_eq!(fields["revision"], json!(new.revision()));
        Ok(())
    }
}

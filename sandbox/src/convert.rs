//! Converting between Lua values and the runtime's [`corral_core::Value`].
//!
//! Payloads and arguments are copied (`lua-api.md`, "Conventions"): nil, booleans, numbers, strings and tables
//! of those. A function, userdata, thread, a cycle or a key that is not a string, number or boolean is
//! `INVALID`, naming the offending path (`payload[2].name`). A payload object of the reference dialect
//! (`[compat] wippy = true`: `msg:payload()`, `payload.new`) is its value: it holds no userdata of its own
//! (`payload.new` of a payload is that payload), so it adds no depth or size of its own.
//!
//! A conversion is bounded by the sender's [`Bounds`] (its host's `max_message_bytes` and
//! `max_message_depth`) and stops as soon as either is passed (`LIMIT_EXCEEDED` naming the bound), so its
//! time and memory are linear in what it produces, never in what the script built: a table that holds
//! another twice, 24 times over, is 2^24 tables to walk, and is refused after the first megabyte. Bytes are
//! counted while building exactly as [`CoreValue::size`] counts them, so the runtime's own check afterwards
//! agrees.

use hashbrown::HashSet;
use std::sync::Arc;

use corral_core::ErrorKind;
use corral_core::app::HostSpec;
use corral_core::value::{Table as CoreTable, Value as CoreValue};
use mlua::{Lua, Value};

use crate::modules::errors::LuaError;

/// No value deeper than this is even walked, whatever the host allows: a guard for the converter's stack.
pub const HARD_DEPTH: usize = 256;

/// What one conversion (a payload, a set of arguments, a return value) may produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// The most bytes, counted as [`CoreValue::size`] counts them (8 per value, plus each string's length);
    /// the sum over every value of a multi-value conversion.
    pub bytes: usize,
    /// The deepest nesting of tables ([`CoreValue::depth`]: a flat table is 1); never more than
    /// [`HARD_DEPTH`] is walked.
    pub depth: usize,
}

impl Bounds {
    /// The defaults of a host (1 MiB, 32 levels), for conversions that belong to no host's message.
    pub const DEFAULT: Bounds =
        Bounds { bytes: HostSpec::DEFAULT_MAX_MESSAGE_BYTES, depth: HostSpec::DEFAULT_MAX_MESSAGE_DEPTH };

    /// The message bounds of `spec`: `max_message_bytes` and `max_message_depth`.
    pub fn of(spec: &HostSpec) -> Bounds {
        Bounds { bytes: spec.max_message_bytes, depth: spec.max_message_depth }
    }

    /// The bounds of what `process` sends: its host's.
    pub fn of_process(process: &corral_core::Process) -> Bounds {
        Bounds::of(&process.host().spec)
    }
}

/// Converts a Lua value; `what` names it in errors (e.g. `payload`, `argument 2`). Errors: `INVALID` naming
/// the path of a value that cannot be copied; `LIMIT_EXCEEDED` naming the bound as soon as the value is
/// bigger than `bounds.bytes` or deeper than `bounds.depth`.
pub fn from_lua(value: &Value, what: &str, bounds: Bounds) -> Result<CoreValue, LuaError> {
    Converter::new(bounds).convert(value, what)
}

/// Converts several values, naming them `what[1]`, `what[2]`, ...; `bounds.bytes` bounds their sum (as the
/// runtime bounds a payload). Errors: those of [`from_lua`].
pub fn from_lua_multi<'a>(
    values: impl IntoIterator<Item = &'a Value>,
    what: &str,
    bounds: Bounds,
) -> Result<Vec<CoreValue>, LuaError> {
    let mut converter = Converter::new(bounds);
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            // The label `what[i]` is made only for an error.
            converter.arg = Some(i + 1);
            converter.convert(v, what)
        })
        .collect()
}

/// [`from_lua_multi`] into the shared slice a message holds: one value (the common payload) goes straight
/// into it, with no list made in between.
pub fn from_lua_payload<'a, I>(values: I, what: &str, bounds: Bounds) -> Result<std::sync::Arc<[CoreValue]>, LuaError>
where
    I: IntoIterator<Item = &'a Value>,
    I::IntoIter: ExactSizeIterator,
{
    let mut values = values.into_iter();
    if values.len() == 1
        && let Some(value) = values.next()
    {
        let mut converter = Converter::new(bounds);
        converter.arg = Some(1);
        return Ok(std::sync::Arc::from([converter.convert(value, what)?]));
    }
    from_lua_multi(values, what, bounds).map(std::sync::Arc::from)
}

/// One step of the path to the value being converted; turned into text only for an error.
enum Step {
    /// An array index, `[3]`.
    Index(usize),
    /// A key of the hash part: `.name` for a string, `[2.5]` for a number or boolean.
    Key(Value),
}

/// One conversion's running count of bytes against its bounds.
struct Converter {
    bounds: Bounds,
    used: usize,
    path: Vec<Step>,
    seen: HashSet<usize>,
    /// The position of the value among several (`from_lua_multi`), shown as `what[i]` in errors.
    arg: Option<usize>,
}

impl Converter {
    fn new(bounds: Bounds) -> Converter {
        Converter { bounds, used: 0, path: Vec::new(), seen: HashSet::new(), arg: None }
    }

    fn convert(&mut self, value: &Value, what: &str) -> Result<CoreValue, LuaError> {
        self.path.clear();
        self.seen.clear();
        self.value(value, what)
    }

    fn path_text(&self) -> String {
        let mut text = self.arg.map(|i| format!("[{i}]")).unwrap_or_default();
        for step in &self.path {
            match step {
                Step::Index(i) => text.push_str(&format!("[{i}]")),
                Step::Key(Value::String(s)) => text.push_str(&format!(".{}", s.to_string_lossy())),
                Step::Key(k) => text.push_str(&format!("[{}]", key_text(k))),
            }
        }
        text
    }

    fn bad(&self, what: &str, why: &str) -> LuaError {
        LuaError::invalid(format!("{what}{}: {why}", self.path_text()))
    }

    fn limit(&self, what: &str, why: String) -> LuaError {
        LuaError::new(ErrorKind::LimitExceeded, format!("{what}{}: {why}", self.path_text()))
    }

    /// Counts `bytes` more. Errors: `LIMIT_EXCEEDED` once the count is over `bounds.bytes`.
    fn charge(&mut self, bytes: usize, what: &str) -> Result<(), LuaError> {
        self.used = self.used.saturating_add(bytes);
        if self.used > self.bounds.bytes {
            let why = format!("message over the {} byte bound (max_message_bytes)", self.bounds.bytes);
            return Err(self.limit(what, why));
        }
        Ok(())
    }

    fn value(&mut self, value: &Value, what: &str) -> Result<CoreValue, LuaError> {
        Ok(match value {
            Value::Nil => self.charge(8, what).map(|()| CoreValue::Nil)?,
            Value::Boolean(b) => self.charge(8, what).map(|()| CoreValue::Bool(*b))?,
            Value::Integer(n) => self.charge(8, what).map(|()| CoreValue::Num(*n as f64))?,
            Value::Number(n) => self.charge(8, what).map(|()| CoreValue::Num(*n))?,
            Value::String(s) => {
                let bytes = s.as_bytes();
                self.charge(bytes.len().saturating_add(8), what)?;
                CoreValue::Str(Arc::from(&*bytes))
            }
            Value::Table(table) => self.table(table, what)?,
            // A payload object of the reference dialect (`msg:payload()`, `payload.new`) is its value.
            Value::UserData(ud) if ud.is::<crate::modules::payload::LuaPayload>() => {
                let inner = crate::modules::payload::unwrap(ud).unwrap_or(Value::Nil);
                return self.value(&inner, what);
            }
            other => {
                return Err(self.bad(what, &format!("a {} cannot be copied between processes", other.type_name())));
            }
        })
    }

    fn table(&mut self, table: &mlua::Table, what: &str) -> Result<CoreValue, LuaError> {
        // This table is at nesting level `path.len() + 1`.
        if self.path.len() >= HARD_DEPTH.min(self.bounds.depth) {
            let why = if self.bounds.depth <= HARD_DEPTH {
                format!("message nested deeper than the bound of {} (max_message_depth)", self.bounds.depth)
            } else {
                format!("nested deeper than {HARD_DEPTH}")
            };
            return Err(self.limit(what, why));
        }
        self.charge(8, what)?;
        let id = table.to_pointer() as usize;
        if !self.seen.insert(id) {
            return Err(self.bad(what, "a table that contains itself (a cycle) cannot be copied"));
        }
        let mut out = CoreTable::default();
        let len = table.raw_len();
        for i in 1..=len {
            let item: Value = table.raw_get(i).map_err(|e| self.bad(what, &e.to_string()))?;
            self.path.push(Step::Index(i));
            out.array.push(self.value(&item, what)?);
            self.path.pop();
        }
        for pair in table.pairs::<Value, Value>() {
            let (k, v) = pair.map_err(|e| self.bad(what, &e.to_string()))?;
            if let Value::Integer(i) = k
                && i >= 1
                && (i as usize) <= len
            {
                continue;
            }
            if let Value::Number(n) = k
                && n.fract() == 0.0
                && n >= 1.0
                && (n as usize) <= len
            {
                continue;
            }
            match &k {
                Value::String(_) | Value::Integer(_) | Value::Number(_) | Value::Boolean(_) => {}
                other => return Err(self.bad(what, &format!("a {} key cannot be copied", other.type_name()))),
            }
            self.path.push(Step::Key(k.clone()));
            let key = self.value(&k, what)?;
            let val = self.value(&v, what)?;
            self.path.pop();
            out.map.push((key, val));
        }
        self.seen.remove(&id);
        Ok(CoreValue::Table(Arc::new(out)))
    }
}

fn key_text(k: &Value) -> String {
    match k {
        Value::Integer(i) => i.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Boolean(b) => b.to_string(),
        _ => String::new(),
    }
}

/// Builds a fresh Lua value (tables are new tables: the receiver never aliases the sender's).
pub fn to_lua(lua: &Lua, value: &CoreValue) -> mlua::Result<Value> {
    Ok(match value {
        CoreValue::Nil => Value::Nil,
        CoreValue::Bool(b) => Value::Boolean(*b),
        CoreValue::Num(n) => Value::Number(*n),
        CoreValue::Str(bytes) => Value::String(lua.create_string(&**bytes)?),
        CoreValue::Table(table) => {
            let t = lua.create_table_with_capacity(table.array.len(), table.map.len())?;
            for (i, v) in table.array.iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, v)?)?;
            }
            for (k, v) in &table.map {
                t.raw_set(to_lua(lua, k)?, to_lua(lua, v)?)?;
            }
            Value::Table(t)
        }
    })
}

/// A payload as scripts see it: one value as itself, none as nil, several as an array.
pub fn payload_to_lua(lua: &Lua, payload: &[CoreValue]) -> mlua::Result<Value> {
    match payload {
        [] => Ok(Value::Nil),
        [one] => to_lua(lua, one),
        many => {
            let t = lua.create_table_with_capacity(many.len(), 0)?;
            for (i, v) in many.iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, v)?)?;
            }
            Ok(Value::Table(t))
        }
    }
}

//! The reference system's `json` module (`[compat] wippy = true` only): `json.encode(value)` and
//! `json.decode(text)`, each returning the result or `nil, err`.
//!
//! Encoding follows the reference's rules: `nil` is `null`; a table with keys `1..n` and nothing else is an
//! array, a table with string keys only is an object (keys sorted, so the text is the same every time), an
//! empty table is `[]`; mixed keys, a sparse array, a recursive reference, a function or a userdata, and
//! nesting past [`MAX_DEPTH`] are errors of kind `INTERNAL`; a whole number (|n| < 2^53) is written without a
//! fraction; NaN and infinities are `null`. Decoding uses `serde_json` (nesting past 128 is an error); an
//! object becomes a table with string keys, an array a sequence, `null` is `nil`.
//!
//! The boundary (issue 9): the text `encode` builds on the host may take at most half of what the calling
//! process has left of its memory limit (`LIMIT_EXCEEDED` past it; the other half is for its Lua copy), and
//! is charged to the process until it is a Lua string; `decode` charges about
//! what `serde_json` allocates for the text while it parses, and the tables it builds are in the process's
//! Lua heap, under its memory limit like any other.

use std::collections::HashSet;
use std::fmt::Write as _;

use corral_core::ErrorKind;
use mlua::{Lua, MultiValue, Table, Value};

use crate::modules::errors::{LuaError, charge, fail, ret};

/// The deepest nesting `encode` writes, as in the reference system.
pub const MAX_DEPTH: usize = 128;

/// The `json` module table.
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let json = lua.create_table()?;
    json.set("encode", lua.create_function(|lua, value: Value| encode_call(lua, &value))?)?;
    json.set("decode", lua.create_function(|lua, text: Value| decode_call(lua, &text))?)?;
    Ok(json)
}

fn encode_call(lua: &Lua, value: &Value) -> mlua::Result<MultiValue> {
    match encode_value(lua, value) {
        Ok(text) => {
            // What the text holds on the host side is charged until it is a Lua string.
            let _charge = charge(lua, text.capacity());
            ret(lua, Ok::<_, LuaError>(lua.create_string(&text)?))
        }
        Err(e) => fail(lua, e),
    }
}

/// `json.encode`'s text for `value`, under the same rules and bounds (also `payload`'s JSON transcoding).
/// Errors: those of `json.encode` (`INTERNAL`, `LIMIT_EXCEEDED`).
pub fn encode_value(lua: &Lua, value: &Value) -> Result<String, LuaError> {
    // The text and its Lua copy both exist for a moment: each may take half of what the process has left.
    let limit = crate::procs::current(lua)
        .map(|ctx| {
            let account = ctx.process.account();
            usize::try_from(account.limit().saturating_sub(account.held()) / 2).unwrap_or(usize::MAX)
        })
        .unwrap_or(corral_core::app::HostSpec::DEFAULT_MEMORY_LIMIT as usize / 2);
    let mut encoder = Encoder { out: String::new(), limit, visiting: HashSet::new() };
    encoder.value(value, 0)?;
    Ok(encoder.out)
}

fn decode_call(lua: &Lua, text: &Value) -> mlua::Result<MultiValue> {
    let Value::String(text) = text else {
        return fail(lua, LuaError::invalid(format!("json.decode: expected a string, got {}", text.type_name())));
    };
    let bytes = text.as_bytes();
    match decode_text(lua, &bytes)? {
        Ok(value) => Ok(MultiValue::from_iter([value])),
        Err(e) => fail(lua, e),
    }
}

/// `json.decode`'s value for `bytes` (also `payload`'s JSON transcoding). Errors: `INTERNAL` for bad text
/// (with its line and column); a Lua error (the process's memory limit) while building the value is raised.
pub fn decode_text(lua: &Lua, bytes: &[u8]) -> mlua::Result<Result<Value, LuaError>> {
    // serde_json's tree costs a few times the text; charged while it lives.
    let _charge = charge(lua, bytes.len().saturating_mul(4));
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(parsed) => to_lua(lua, &parsed).map(Ok),
        Err(e) => Ok(Err(LuaError::new(ErrorKind::Internal, format!("json.decode: {e}")))),
    }
}

fn to_lua(lua: &Lua, value: &serde_json::Value) -> mlua::Result<Value> {
    Ok(match value {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Boolean(*b),
        serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Value::String(lua.create_string(s)?),
        serde_json::Value::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, to_lua(lua, item)?)?;
            }
            Value::Table(t)
        }
        serde_json::Value::Object(map) => {
            let t = lua.create_table_with_capacity(0, map.len())?;
            for (k, v) in map {
                t.raw_set(k.as_str(), to_lua(lua, v)?)?;
            }
            Value::Table(t)
        }
    })
}

struct Encoder {
    out: String,
    limit: usize,
    /// The tables being written (by address): meeting one again is a recursive reference.
    visiting: HashSet<usize>,
}

fn internal(message: impl Into<String>) -> LuaError {
    LuaError::new(ErrorKind::Internal, message)
}

impl Encoder {
    fn value(&mut self, value: &Value, depth: usize) -> Result<(), LuaError> {
        match value {
            Value::Nil => self.out.push_str("null"),
            Value::Boolean(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Integer(n) => {
                let _ = write!(self.out, "{n}");
            }
            Value::Number(n) => self.number(*n),
            Value::String(s) => {
                let text = s.to_str().map_err(|_| internal("json.encode: a string is not valid UTF-8"))?;
                self.string(&text);
            }
            Value::Table(t) => self.table(t, depth + 1)?,
            other => return Err(internal(format!("json.encode: a {} cannot be encoded", other.type_name()))),
        }
        if self.out.capacity() > self.limit {
            return Err(LuaError::new(
                ErrorKind::LimitExceeded,
                format!(
                    "json.encode: the text passes {} bytes, half of what the process has left of its memory limit",
                    self.limit
                ),
            ));
        }
        Ok(())
    }

    fn number(&mut self, n: f64) {
        if !n.is_finite() {
            self.out.push_str("null");
        } else if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
            // Exact: |n| < 2^53 is an integer an i64 holds.
            let _ = write!(self.out, "{}", n as i64);
        } else {
            let _ = write!(self.out, "{n}");
        }
    }

    fn string(&mut self, text: &str) {
        // serde_json's escaping; writing into a String cannot fail.
        if let Ok(quoted) = serde_json::to_string(text) {
            self.out.push_str(&quoted);
        }
    }

    fn table(&mut self, table: &Table, depth: usize) -> Result<(), LuaError> {
        if depth > MAX_DEPTH {
            return Err(internal(format!("json.encode: nesting passes {MAX_DEPTH} levels")));
        }
        let address = table.to_pointer() as usize;
        if !self.visiting.insert(address) {
            return Err(internal("json.encode: a table refers to itself (a recursive reference)"));
        }
        let mut strings: Vec<(String, Value)> = Vec::new();
        let mut numbered: Vec<(f64, Value)> = Vec::new();
        for pair in table.pairs::<Value, Value>() {
            let (key, value) = pair.map_err(|e| internal(format!("json.encode: {e}")))?;
            match key {
                Value::String(s) => {
                    let key = s.to_str().map_err(|_| internal("json.encode: a key is not valid UTF-8"))?.to_string();
                    strings.push((key, value));
                }
                Value::Integer(n) => numbered.push((n as f64, value)),
                Value::Number(n) => numbered.push((n, value)),
                other => {
                    return Err(internal(format!("json.encode: a {} key cannot be encoded", other.type_name())));
                }
            }
            if strings.len().saturating_add(numbered.len()).saturating_mul(16) > self.limit {
                return Err(LuaError::new(ErrorKind::LimitExceeded, "json.encode: the table passes the memory limit"));
            }
        }
        if !strings.is_empty() && !numbered.is_empty() {
            return Err(internal("json.encode: a table mixes numeric and string keys"));
        }
        if strings.is_empty() {
            numbered.sort_by(|a, b| a.0.total_cmp(&b.0));
            let dense = numbered.iter().enumerate().all(|(i, (k, _))| *k == (i + 1) as f64);
            if !dense {
                return Err(internal("json.encode: a sparse array (its keys are not 1..n)"));
            }
            self.out.push('[');
            for (i, (_, value)) in numbered.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.value(value, depth)?;
            }
            self.out.push(']');
        } else {
            strings.sort_by(|a, b| a.0.cmp(&b.0));
            self.out.push('{');
            for (i, (key, value)) in strings.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.string(key);
                self.out.push(':');
                self.value(value, depth)?;
            }
            self.out.push('}');
        }
        self.visiting.remove(&address);
        Ok(())
    }
}

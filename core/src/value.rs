//! Values that cross process boundaries: message payloads, spawn arguments, return values, context values.
//!
//! The spec (`lua-api.md`, "Conventions") allows nil, booleans, numbers, strings and tables of those. A value
//! is immutable once built, so sharing it between sender and receiver is the same as copying it.

use std::sync::Arc;

/// A value that crosses a process boundary.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Lua's nil.
    Nil,
    /// A boolean.
    Bool(bool),
    /// A number (Luau numbers are doubles).
    Num(f64),
    /// A string: Lua strings are bytes, not necessarily UTF-8.
    Str(Arc<[u8]>),
    /// A table.
    Table(Arc<Table>),
}

/// A table: its array part `1..=n` and its other keys, in the order they were read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Values at keys `1..=array.len()`.
    pub array: Vec<Value>,
    /// Every other key and its value.
    pub map: Vec<(Value, Value)>,
}

impl Value {
    /// A string value from text.
    pub fn str(text: &str) -> Value {
        Value::Str(text.as_bytes().into())
    }

    /// The text of a string value, if it is one and is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(bytes) => std::str::from_utf8(bytes).ok(),
            _ => None,
        }
    }

    /// The bytes this value occupies when sent, roughly: strings count their length, every value 8 bytes.
    pub fn size(&self) -> usize {
        match self {
            Value::Str(bytes) => 8 + bytes.len(),
            Value::Table(table) => {
                let array: usize = table.array.iter().map(Value::size).sum();
                let map: usize = table.map.iter().map(|(k, v)| k.size() + v.size()).sum();
                8 + array + map
            }
            _ => 8,
        }
    }

    /// Nesting depth: 0 for a scalar, 1 for a flat table.
    pub fn depth(&self) -> usize {
        match self {
            Value::Table(table) => {
                let array = table.array.iter().map(Value::depth).max().unwrap_or(0);
                let map = table.map.iter().map(|(k, v)| k.depth().max(v.depth())).max().unwrap_or(0);
                1 + array.max(map)
            }
            _ => 0,
        }
    }

    /// JSON for output (`corral run` prints the root's return value). A table with only an array part is a
    /// JSON array, any other table an object whose keys are the keys' text; an empty table is `{}`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Nil => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Num(n) => number_to_json(*n),
            Value::Str(bytes) => J::String(String::from_utf8_lossy(bytes).into_owned()),
            Value::Table(table) if table.map.is_empty() && !table.array.is_empty() => {
                J::Array(table.array.iter().map(Value::to_json).collect())
            }
            Value::Table(table) => {
                // Keys are sorted so output does not depend on Lua's table iteration order.
                let mut sorted = std::collections::BTreeMap::new();
                for (i, v) in table.array.iter().enumerate() {
                    sorted.insert((i + 1).to_string(), v.to_json());
                }
                for (k, v) in &table.map {
                    sorted.insert(key_text(k), v.to_json());
                }
                J::Object(sorted.into_iter().collect())
            }
        }
    }

    /// A value from JSON (`corral run` arguments): arrays become array tables, objects tables with string keys.
    pub fn from_json(json: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match json {
            J::Null => Value::Nil,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => Value::Num(n.as_f64().unwrap_or(f64::NAN)),
            J::String(s) => Value::str(s),
            J::Array(items) => {
                Value::Table(Arc::new(Table { array: items.iter().map(Value::from_json).collect(), map: Vec::new() }))
            }
            J::Object(object) => Value::Table(Arc::new(Table {
                array: Vec::new(),
                map: object.iter().map(|(k, v)| (Value::str(k), Value::from_json(v))).collect(),
            })),
        }
    }
}

fn number_to_json(n: f64) -> serde_json::Value {
    // Integral doubles print as integers: a worker's `value * 2` is 20, not 20.0.
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map(serde_json::Value::Number).unwrap_or(serde_json::Value::Null)
    }
}

fn key_text(key: &Value) -> String {
    match key {
        Value::Str(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        other => other.to_json().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_shapes() {
        let json: serde_json::Value = serde_json::json!({"n": 5, "list": [1, 2.5, "x"], "t": true, "z": null});
        assert_eq!(Value::from_json(&json).to_json(), json);
    }

    #[test]
    fn depth_and_size_count_nesting() {
        let inner = Value::Table(Arc::new(Table { array: vec![Value::str("abcd")], map: vec![] }));
        let outer = Value::Table(Arc::new(Table { array: vec![inner], map: vec![] }));
        assert_eq!(outer.depth(), 2);
        assert_eq!(Value::Nil.depth(), 0);
        assert_eq!(outer.size(), 8 + 8 + 12);
    }
}

//! A YAML document as a tree whose every node knows its line.
//!
//! serde-saphyr parses; this module only gives its output a shape that keeps the location of
//! every key and value (`serde_saphyr::Spanned`), so that the loader can check a whole manifest
//! and report each problem at its own line instead of stopping at the first typed-struct error.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, MessageFormatter, Spanned};

/// A node with the location where the document references it.
pub(crate) type SNode = Spanned<Node>;

/// One YAML node: a scalar (as JSON), a sequence, or a mapping with located keys in order.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Scalar(serde_json::Value),
    Seq(Vec<SNode>),
    Map(Vec<(Spanned<String>, SNode)>),
}

/// The 1-based line of a location, `None` when serde-saphyr does not know it.
pub(crate) fn line(location: &Location) -> Option<u32> {
    match location.line() {
        0 => None,
        n => Some(u32::try_from(n).unwrap_or(u32::MAX)),
    }
}

/// Parses `text` into a located tree; on failure, the line (if known) and a one-line message.
///
/// Only the YAML 1.2 spellings `true`/`false` are booleans (`strict_booleans`), as in the
/// reference system's Go loader: an entry named `y` or `no` stays a string.
pub(crate) fn parse(text: &str) -> Result<SNode, (Option<u32>, String)> {
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options(text, options).map_err(|err| {
        let err = err.without_snippet();
        let at = err.location().as_ref().and_then(line);
        let message: Cow<'_, str> = serde_saphyr::UserMessageFormatter.format_message(err);
        // The message goes to a terminal: keep it on one line, free of control characters.
        let message: String = message.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        (at, format!("invalid YAML: {message}"))
    })
}

impl Node {
    /// The text of a string scalar.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(serde_json::Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// Whether this is `null` or an empty value (`key:` with nothing after it).
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Node::Scalar(serde_json::Value::Null))
    }

    /// What kind of node this is, for messages (`a list`, `a mapping`...).
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Node::Scalar(serde_json::Value::Null) => "null",
            Node::Scalar(serde_json::Value::Bool(_)) => "a boolean",
            Node::Scalar(serde_json::Value::Number(_)) => "a number",
            Node::Scalar(serde_json::Value::String(_)) => "a string",
            Node::Scalar(_) => "a value",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }

    /// The node for a message: a scalar as written in backticks (`` `lots` ``), a collection by
    /// its kind (`a list`).
    pub(crate) fn shown(&self) -> String {
        match self {
            Node::Scalar(_) => format!("`{self}`"),
            other => other.describe().to_string(),
        }
    }

    /// The node as a JSON value (mapping keys become strings), for free-form `meta`.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self {
            Node::Scalar(value) => value.clone(),
            Node::Seq(items) => items.iter().map(|item| item.value.to_json()).collect(),
            Node::Map(pairs) => pairs.iter().map(|(key, value)| (key.value.clone(), value.value.to_json())).collect(),
        }
    }
}

impl fmt::Display for Node {
    /// Scalars as written (strings without quotes); collections by their kind.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Scalar(serde_json::Value::String(s)) => f.write_str(s),
            Node::Scalar(value) => write!(f, "{value}"),
            other => f.write_str(other.describe()),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

fn scalar<E>(value: impl Into<serde_json::Value>) -> Result<Node, E> {
    Ok(Node::Scalar(value.into()))
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        scalar(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        scalar(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        scalar(v)
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        // Beyond 64 bits no limit makes sense; keep the digits so messages can quote them.
        scalar(v.to_string())
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        scalar(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        scalar(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        scalar(v)
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        scalar(v)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        scalar(serde_json::Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        scalar(serde_json::Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<SNode>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut pairs = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<SNode>()?;
            pairs.push((key, value));
        }
        Ok(Node::Map(pairs))
    }
}

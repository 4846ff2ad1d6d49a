//! Sizes, counts and durations as manifests write them.

use std::time::Duration;

use crate::app::yaml::Node;

/// Parses a memory size into bytes.
///
/// Accepts a plain integer (bytes: `1024`) or an integer followed by a unit, optionally separated
/// by `-`, `_` or a space: `16MiB`, `500-mb` (the AO seed's `Memory-Limit` spelling), `64MB`,
/// `2 g`. Units are case-insensitive: `b`; `k`, `kb`, `kib`; `m`, `mb`, `mib`; `g`, `gb`, `gib`;
/// `t`, `tb`, `tib`. Every unit is binary (`1kb` = 1024 bytes), as memory limits are read by
/// Docker and the AO seed: a limit is a budget of pages, never a marketing decimal.
///
/// Returns `None` for anything else (`lots`, `1.5GiB`, `-3mb`, an empty string) and on overflow
/// of `u64`.
pub fn parse_memory_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, rest) = text.split_at(digits_end);
    let number: u64 = number.parse().ok()?;
    let unit = rest.strip_prefix(['-', '_', ' ']).unwrap_or(rest);
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return None,
    };
    number.checked_mul(1u64 << shift)
}

/// A whole non-negative number: a YAML integer, or a string of digits (`"10000"`, as the
/// reference system's environment-style values are often quoted).
pub(crate) fn count(node: &Node) -> Result<u64, String> {
    if let Node::Scalar(serde_json::Value::Number(n)) = node
        && let Some(n) = n.as_u64()
    {
        return Ok(n);
    }
    if let Some(text) = node.as_str()
        && let Ok(n) = text.trim().parse::<u64>()
    {
        return Ok(n);
    }
    Err(format!("must be a whole number, got {}", node.shown()))
}

/// A memory size in bytes: a YAML integer (bytes) or a string for [`parse_memory_size`].
pub(crate) fn size(node: &Node) -> Result<u64, String> {
    if let Node::Scalar(serde_json::Value::Number(n)) = node
        && let Some(n) = n.as_u64()
    {
        return Ok(n);
    }
    node.as_str()
        .and_then(parse_memory_size)
        .ok_or_else(|| format!("must be a size like `16MiB` or a number of bytes, got {}", node.shown()))
}

/// A duration: a YAML integer or a string of digits (milliseconds), or a humantime string
/// (`5s`, `250ms`, `1m 30s`).
pub(crate) fn duration(node: &Node) -> Result<Duration, String> {
    if let Ok(ms) = count(node) {
        return Ok(Duration::from_millis(ms));
    }
    node.as_str()
        .and_then(|text| humantime::parse_duration(text.trim()).ok())
        .ok_or_else(|| format!("must be a duration like `5s` or a number of milliseconds, got {}", node.shown()))
}

#[cfg(test)]
mod tests {
    use super::parse_memory_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_memory_size("16MiB"), Some(16 << 20));
        assert_eq!(parse_memory_size("500-mb"), Some(500 << 20));
        assert_eq!(parse_memory_size("1-gb"), Some(1 << 30), "the AO seed's Memory-Limit forms");
        assert_eq!(parse_memory_size("500MiB"), parse_memory_size("500-mb"));
        assert_eq!(parse_memory_size("500--mb"), None);
        assert_eq!(parse_memory_size("-500-mb"), None);
        assert_eq!(parse_memory_size("64MB"), Some(64 << 20));
        assert_eq!(parse_memory_size("1024"), Some(1024));
        assert_eq!(parse_memory_size("2 g"), Some(2 << 30));
        assert_eq!(parse_memory_size("lots"), None);
        assert_eq!(parse_memory_size("1.5GiB"), None);
        assert_eq!(parse_memory_size(""), None);
        assert_eq!(parse_memory_size("99999999999999tb"), None);
    }
}

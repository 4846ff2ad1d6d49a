//! Process identifiers.
//!
//! A PID names the node, the node's incarnation (a new one each time the runtime starts: Ergo's `Creation`,
//! seed 002), the host the process runs on, and a sequence number the node never reuses. Its text form is
//! `{node@incarnation|host|seq}`, e.g. `{local@18c2f0a1b2|app:processes|5}`; scripts treat it as opaque.

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};

/// A process identifier. Cheap to clone (one shared allocation); equal PIDs name the same process. Its text is
/// formatted once, when the PID is made: every request, record and message that names the process reuses it
/// (issue 10).
#[derive(Clone)]
pub struct Pid(Arc<Parts>);

/// What a PID names, and its text.
struct Parts {
    node: Arc<str>,
    incarnation: u64,
    host: Arc<str>,
    seq: u64,
    text: Arc<str>,
}

impl PartialEq for Pid {
    fn eq(&self, other: &Pid) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || (self.0.seq == other.0.seq && self.0.text == other.0.text)
    }
}

impl Eq for Pid {}

impl std::hash::Hash for Pid {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.text.hash(state);
    }
}

impl PartialOrd for Pid {
    fn partial_cmp(&self, other: &Pid) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pid {
    fn cmp(&self, other: &Pid) -> std::cmp::Ordering {
        let (a, b) = (&*self.0, &*other.0);
        (&a.node, a.incarnation, &a.host, a.seq).cmp(&(&b.node, b.incarnation, &b.host, b.seq))
    }
}

impl Pid {
    /// A PID from its parts.
    pub fn new(node: Arc<str>, incarnation: u64, host: Arc<str>, seq: u64) -> Pid {
        // `{node@incarnation|host|seq}`, incarnation in lowercase hex: written by hand, once per process.
        let mut text = String::with_capacity(node.len() + host.len() + 16 + 20 + 4);
        text.push('{');
        text.push_str(&node);
        text.push('@');
        push_digits(&mut text, incarnation, 16);
        text.push('|');
        text.push_str(&host);
        text.push('|');
        push_digits(&mut text, seq, 10);
        text.push('}');
        Pid(Arc::new(Parts { node, incarnation, host, seq, text: text.into() }))
    }

    /// The text form, `{node@incarnation|host|seq}`, shared.
    pub fn text(&self) -> &Arc<str> {
        &self.0.text
    }

    /// The text form as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// Parses the text form. Errors: `Invalid` for text that is not a PID.
    pub fn parse(text: &str) -> Result<Pid> {
        let bad = || Error::Invalid(format!("`{text}` is not a pid"));
        let inner = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')).ok_or_else(bad)?;
        let mut parts = inner.split('|');
        let (Some(origin), Some(host), Some(seq), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let (node, incarnation) = origin.split_once('@').ok_or_else(bad)?;
        let incarnation = u64::from_str_radix(incarnation, 16).map_err(|_| bad())?;
        let seq = seq.parse::<u64>().map_err(|_| bad())?;
        if node.is_empty() || host.is_empty() {
            return Err(bad());
        }
        Ok(Pid::new(node.into(), incarnation, host.into(), seq))
    }

    /// The node's name.
    pub fn node(&self) -> &str {
        &self.0.node
    }

    /// The node's incarnation this PID was made in.
    pub fn incarnation(&self) -> u64 {
        self.0.incarnation
    }

    /// The host entry id the process runs on.
    pub fn host(&self) -> &str {
        &self.0.host
    }

    /// The host entry id, shared.
    pub fn host_id(&self) -> &Arc<str> {
        &self.0.host
    }

    /// The never-reused sequence number.
    pub fn seq(&self) -> u64 {
        self.0.seq
    }
}

/// Appends `n` in `radix` (10 or 16, lowercase), without leading zeros.
fn push_digits(out: &mut String, mut n: u64, radix: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = DIGITS[(n % radix) as usize];
        n /= radix;
        if n == 0 {
            break;
        }
    }
    out.extend(buf[at..].iter().map(|&b| char::from(b)));
}

/// A PID is found by its text in maps keyed by PIDs (equal PIDs have equal text, and hash as it).
impl std::borrow::Borrow<str> for Pid {
    fn borrow(&self) -> &str {
        &self.0.text
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.text)
    }
}

impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        let pid = Pid::new("local".into(), 0x18c2, "app:processes".into(), 5);
        assert_eq!(pid.to_string(), "{local@18c2|app:processes|5}");
        assert_eq!(Pid::parse(&pid.to_string()).ok(), Some(pid));
    }

    #[test]
    fn text_is_written_like_the_format_it_documents() {
        for (incarnation, seq) in [(0, 0), (1, 9), (0xabc, 10), (u64::MAX, u64::MAX), (0x10, 100)] {
            let pid = Pid::new("n".into(), incarnation, "a:h".into(), seq);
            assert_eq!(pid.as_str(), format!("{{n@{incarnation:x}|a:h|{seq}}}"));
        }
    }

    #[test]
    fn garbage_is_invalid() {
        for text in ["", "{}", "{a|b}", "{a@zz|h|1}", "{a@1|h|x}", "{@1|h|1}", "a@1|h|1", "{a@1|h|1|2}"] {
            assert!(Pid::parse(text).is_err(), "{text} parsed");
        }
    }
}

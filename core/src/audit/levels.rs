//! Audit levels per action pattern, in the manner of Kubernetes' audit policy: the first rule whose pattern
//! matches the action sets the level of its `authz.decision` records; a deny is always recorded.

use serde::Deserialize;

/// How much of a decision is recorded (`[[audit.rules]] level` of `corral.toml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// No record (for allows only: a deny is raised to `metadata`).
    None,
    /// Who, what, on which resource, the decision and the deciding policies: the default.
    Metadata,
    /// `metadata` plus `context`: the request's context attributes (caller pid, topic, host) and payload size.
    Request,
}

impl Level {
    /// The name used in `corral.toml` and in records: `none`, `metadata`, `request`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Metadata => "metadata",
            Level::Request => "request",
        }
    }
}

/// One rule: the action patterns it covers and their level. A pattern is a Cedar action id in which `*`
/// stands for any run of characters (`process.spawn*`, `process.registry.*`, `*`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Action patterns.
    pub actions: Vec<String>,
    /// The level of the decisions on those actions.
    pub level: Level,
}

/// The rules in order; an action no rule matches is recorded at `metadata`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Levels {
    rules: Vec<Rule>,
}

impl Levels {
    /// Levels from `rules`, first match wins.
    pub fn new(rules: Vec<Rule>) -> Levels {
        Levels { rules }
    }

    /// The level for a decision on `action`. A deny is never below `metadata`, whatever the rules say.
    pub fn level(&self, action: &str, allowed: bool) -> Level {
        let level = self
            .rules
            .iter()
            .find(|rule| rule.actions.iter().any(|p| matches(p, action)))
            .map_or(Level::Metadata, |rule| rule.level);
        if allowed { level } else { level.max(Level::Metadata) }
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters (including none).
/// It runs for every decision (no list is made): the text must start with the part before the first `*`,
/// end with the part after the last, and hold the parts between in order.
fn matches(pattern: &str, text: &str) -> bool {
    let Some((first, after)) = pattern.split_once('*') else { return text == pattern };
    let Some(mut rest) = text.strip_prefix(first) else { return false };
    let (middle, last) = after.rsplit_once('*').unwrap_or(("", after));
    for part in middle.split('*') {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_runs_of_characters() {
        assert!(matches("process.spawn*", "process.spawn.linked"));
        assert!(matches("process.spawn*", "process.spawn"));
        assert!(!matches("process.spawn*", "process.send"));
        assert!(matches("*", "process.send"));
        assert!(matches("process.*.register", "process.registry.register"));
        assert!(!matches("process.send", "process.sender"));
        assert!(matches("*.link", "process.link"));
        assert!(!matches("*.link", "process.unlink.x"));
    }

    /// The matcher agrees with a plain split-and-scan over every pattern and text made of a few pieces.
    #[test]
    fn wildcards_match_as_a_split_and_scan_does() {
        fn reference(pattern: &str, text: &str) -> bool {
            let parts: Vec<&str> = pattern.split('*').collect();
            let Some(mut rest) = text.strip_prefix(parts[0]) else { return false };
            let Some((last, middle)) = parts[1..].split_last() else { return rest.is_empty() };
            for part in middle {
                match rest.find(part) {
                    Some(at) => rest = &rest[at + part.len()..],
                    None => return false,
                }
            }
            rest.len() >= last.len() && rest.ends_with(last)
        }
        let pieces = ["", "*", "a", "b", "ab", ".", "a*b", "**"];
        let mut words = vec![String::new()];
        for _ in 0..3 {
            words = words.iter().flat_map(|w| pieces.iter().map(move |p| format!("{w}{p}"))).collect();
        }
        let texts: Vec<String> = words.iter().map(|w| w.replace('*', "")).collect();
        for pattern in &words {
            for text in &texts {
                assert_eq!(matches(pattern, text), reference(pattern, text), "{pattern:?} on {text:?}");
            }
        }
    }

    #[test]
    fn the_first_matching_rule_wins_and_a_deny_is_never_dropped() {
        let levels = Levels::new(vec![
            Rule { actions: vec!["process.send".into()], level: Level::None },
            Rule { actions: vec!["process.*".into()], level: Level::Request },
        ]);
        assert_eq!(levels.level("process.send", true), Level::None);
        assert_eq!(levels.level("process.send", false), Level::Metadata);
        assert_eq!(levels.level("process.spawn", true), Level::Request);
        assert_eq!(levels.level("process.spawn", false), Level::Request);
        assert_eq!(Levels::default().level("process.spawn", true), Level::Metadata);
    }
}

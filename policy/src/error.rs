//! Load problems: every one found in a policy folder, each naming its file, line and policy.

use std::fmt;
use std::path::{Path, PathBuf};

/// Every problem found while loading a policy folder (spec: "an error names the file, line and policy and
/// nothing starts").
///
/// Loading does not stop at the first problem: parse errors of every `.cedar` file, schema errors, validation
/// errors of every policy, duplicate ids and `entities.json` errors are all collected. `Display` lists them one
/// per line as `file:line: [policy id] message`.
#[derive(Debug, thiserror::Error)]
pub struct LoadError {
    /// The problems, in the order they were found (files in name order). Never empty.
    pub problems: Vec<Problem>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// One problem of a policy folder.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The file the problem is in: the path inside the folder for [`crate::PolicySet::load_dir`], the given name
    /// for [`crate::PolicySet::from_files`].
    pub file: PathBuf,
    /// The 1-based line the problem starts on, when known.
    pub line: Option<u32>,
    /// The id of the policy the problem is in, when it is in one that parsed.
    pub policy: Option<String>,
    /// What is wrong, in Cedar's words where Cedar found it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": ")?;
        if let Some(policy) = &self.policy {
            write!(f, "[{policy}] ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl Problem {
    /// A problem at `file` (and `line`, when known) that belongs to no policy.
    pub fn new(file: &Path, line: Option<u32>, message: impl Into<String>) -> Self {
        Self { file: file.to_path_buf(), line, policy: None, message: message.into() }
    }

    /// The problem a Cedar diagnostic describes; its first label gives the line in `text`.
    pub(crate) fn from_diagnostic(file: &Path, text: &str, diagnostic: &dyn miette::Diagnostic) -> Self {
        Self::new(file, diagnostic_line(text, diagnostic), message_of(diagnostic))
    }

    /// Names the policy the problem is in.
    pub(crate) fn in_policy(mut self, policy: impl Into<String>) -> Self {
        self.policy = Some(policy.into());
        self
    }
}

/// The message of a diagnostic with the messages of its causes (Cedar often says "entity does not conform to
/// the schema" and tells why only in the cause), and Cedar's help (e.g. "did you mean ...") when it has one.
pub(crate) fn message_of(diagnostic: &dyn miette::Diagnostic) -> String {
    let mut message = diagnostic.to_string();
    let mut cause = diagnostic.source();
    while let Some(error) = cause {
        let text = error.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = error.source();
    }
    if let Some(help) = diagnostic.help() {
        message.push_str(&format!(" (help: {help})"));
    }
    message
}

/// The 1-based line of the first labelled span of `diagnostic`, whose offsets are bytes into `text`.
pub(crate) fn diagnostic_line(text: &str, diagnostic: &dyn miette::Diagnostic) -> Option<u32> {
    let offset = diagnostic.labels()?.next()?.offset();
    Some(line_of(text, offset))
}

/// The 1-based line that byte `offset` of `text` is on (an offset past the end counts as the last line).
pub(crate) fn line_of(text: &str, offset: usize) -> u32 {
    let bytes = text.as_bytes();
    let before = bytes.get(..offset).unwrap_or(bytes);
    let newlines = before.iter().filter(|b| **b == b'\n').count();
    u32::try_from(newlines).map_or(u32::MAX, |n| n.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based_and_clamped() {
        let text = "a\nbc\nd";
        assert_eq!(line_of(text, 0), 1);
        assert_eq!(line_of(text, 2), 2);
        assert_eq!(line_of(text, 5), 3);
        assert_eq!(line_of(text, 999), 3);
    }

    #[test]
    fn problems_display_as_file_line_policy_message() {
        let problem = Problem::new(Path::new("base.cedar"), Some(3), "bad").in_policy("p1");
        assert_eq!(problem.to_string(), "base.cedar:3: [p1] bad");
        let bare = Problem::new(Path::new("entities.json"), None, "bad");
        let error = LoadError { problems: vec![problem, bare] };
        assert_eq!(error.to_string(), "base.cedar:3: [p1] bad\nentities.json: bad");
    }
}

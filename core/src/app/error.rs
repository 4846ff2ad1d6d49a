//! The problems a load finds, and the error that carries them all.

use std::fmt;
use std::path::{Path, PathBuf};

/// Every problem [`App::load`](crate::app::App::load) found, in file and line order.
///
/// Loading does not stop at the first problem (the `corral check` contract in
/// `spec/cli-and-manifest.md`: "lists every problem with file and line"), so this error holds all of
/// them. `Display` lists them one per line as `file:line: message` (`file: message` when the
/// problem has no line).
#[derive(Debug, thiserror::Error)]
#[error("{}", render(.problems))]
pub struct AppError {
    /// The problems, sorted by file then line; never empty when returned by `App::load`.
    pub problems: Vec<Problem>,
}

/// One problem in an app: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file at fault: an `_index.yaml`, `corral.toml`, or the app folder itself.
    pub file: PathBuf,
    /// The 1-based line in `file`, when the problem has one.
    pub line: Option<u32>,
    /// What is wrong: lowercase, no final period, ids in backticks.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

fn render(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(Problem::to_string).collect();
    lines.join("\n")
}

/// Collects problems while a load goes on.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    list: Vec<Problem>,
}

impl Problems {
    /// Records a problem at `file`, `line` (`None`: the whole file).
    pub(crate) fn push(&mut self, file: &Path, line: Option<u32>, message: impl Into<String>) {
        self.list.push(Problem { file: file.to_path_buf(), line, message: message.into() });
    }

    /// `Ok(())` when nothing was recorded, else every problem sorted by file then line.
    pub(crate) fn finish(mut self) -> Result<(), AppError> {
        if self.list.is_empty() {
            return Ok(());
        }
        // A stable sort keeps problems of one line in the order they were found.
        self.list.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        Err(AppError { problems: self.list })
    }
}

//! Reading one `.cedar` file into policies with their ids, lines and scopes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;

use cedar_policy as cedar;

use crate::error::{Problem, line_of};

/// A file of the policy folder, as loaded.
#[derive(Debug)]
pub(crate) struct SourceFile {
    /// The path problems name.
    pub(crate) path: PathBuf,
    /// The file name, which decides what the file is and names unannotated policies.
    pub(crate) name: String,
    pub(crate) text: String,
}

/// One static policy of the folder.
#[derive(Debug, Clone)]
pub(crate) struct LoadedPolicy {
    /// `@id`, or `<file name>:<line>`; also the id of `policy` so that Cedar's diagnostics report it.
    pub(crate) id: String,
    /// Index of the file in the loaded `.cedar` files.
    pub(crate) file: usize,
    /// The path of that file, as problems name it.
    pub(crate) path: PathBuf,
    /// The line the policy (with its annotations) starts on.
    pub(crate) line: Option<u32>,
    /// `@scope`, if any.
    pub(crate) scope: Option<String>,
    /// The action ids the policy's action constraint admits (`None`: any action); filled in once the schema
    /// is known.
    pub(crate) actions: Option<std::collections::BTreeSet<String>>,
    pub(crate) policy: cedar::Policy,
}

/// The policies of `file` (the `file`-th `.cedar` file), in text order; problems go to `problems`.
pub(crate) fn parse_file(index: usize, file: &SourceFile, problems: &mut Vec<Problem>) -> Vec<LoadedPolicy> {
    let set = match cedar::PolicySet::from_str(&file.text) {
        Ok(set) => set,
        Err(errors) => {
            for error in errors.iter() {
                problems.push(Problem::from_diagnostic(&file.path, &file.text, error));
            }
            return Vec::new();
        }
    };
    let starts = statement_starts(&file.text, &set);
    let line = |id: &cedar::PolicyId| starts.get(id).map(|offset| line_of(&file.text, *offset));
    for template in set.templates() {
        problems.push(Problem::new(
            &file.path,
            line(template.id()),
            "templates (policies with `?principal` or `?resource` slots) are not supported",
        ));
    }
    let mut policies: Vec<&cedar::Policy> = set.policies().collect();
    policies.sort_by_key(|p| generated_index(p.id()));
    policies
        .into_iter()
        .filter_map(|policy| {
            let line = line(policy.id());
            let loaded = annotated(index, file, line, policy);
            loaded.map_err(|problem| problems.push(problem)).ok()
        })
        .collect()
}

/// A parsed policy with the id and scope its annotations give it.
fn annotated(
    index: usize,
    file: &SourceFile,
    line: Option<u32>,
    policy: &cedar::Policy,
) -> Result<LoadedPolicy, Problem> {
    let fallback = match line {
        Some(line) => format!("{}:{line}", file.name),
        // Not expected (every parsed policy is found in its text), but ids must stay unique.
        None => format!("{}#{}", file.name, generated_index(policy.id())),
    };
    let id = match policy.annotation("id") {
        Some("") => return Err(Problem::new(&file.path, line, "`@id` must not be empty")),
        Some(id) => id.to_owned(),
        None => fallback,
    };
    let scope = match policy.annotation("scope") {
        Some("") => {
            return Err(Problem::new(&file.path, line, "`@scope` must not be empty").in_policy(id));
        }
        scope => scope.map(str::to_owned),
    };
    Ok(LoadedPolicy {
        policy: policy.new_id(cedar::PolicyId::new(&id)),
        id,
        file: index,
        path: file.path.clone(),
        line,
        scope,
        actions: None,
    })
}

/// Cedar names the statements of a parsed text `policy0`, `policy1`, ... in text order.
fn generated_index(id: &cedar::PolicyId) -> usize {
    let id: &str = id.as_ref();
    id.strip_prefix("policy").and_then(|n| n.parse().ok()).unwrap_or(usize::MAX)
}

/// The byte offset where each statement (policy or template, annotations included) starts in `text`.
///
/// Cedar keeps each statement's exact source text but not (publicly) its offset, so each text is searched
/// for in order, after the previous one, skipping matches that start inside a comment or a string (a
/// commented-out copy of a policy must not take its place).
fn statement_starts(text: &str, set: &cedar::PolicySet) -> HashMap<cedar::PolicyId, usize> {
    let mut statements: Vec<(usize, &cedar::PolicyId, String)> = set
        .policies()
        .filter_map(|p| Some((generated_index(p.id()), p.id(), p.to_cedar()?)))
        .chain(set.templates().map(|t| (generated_index(t.id()), t.id(), t.to_cedar())))
        .collect();
    statements.sort_by_key(|(index, _, _)| *index);
    let code = code_mask(text);
    let mut cursor = 0;
    let mut starts = HashMap::new();
    for (_, id, statement) in statements {
        let rest = text.get(cursor..).unwrap_or_default();
        let found = rest
            .match_indices(statement.as_str())
            .map(|(at, _)| cursor + at)
            .find(|at| code.get(*at).copied().unwrap_or(false));
        if let Some(at) = found {
            starts.insert(id.clone(), at);
            cursor = at + statement.len();
        }
    }
    starts
}

/// For each byte of a Cedar text, whether it is outside comments and string literals.
fn code_mask(text: &str) -> Vec<bool> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Code,
        Str,
        Escape,
        Comment,
    }
    let bytes = text.as_bytes();
    let mut state = State::Code;
    let mut mask = Vec::with_capacity(bytes.len());
    for (i, &byte) in bytes.iter().enumerate() {
        mask.push(state == State::Code);
        state = match (state, byte) {
            (State::Code, b'"') => State::Str,
            (State::Code, b'/') if bytes.get(i + 1) == Some(&b'/') => State::Comment,
            (State::Str, b'\\') => State::Escape,
            (State::Str, b'"') | (State::Comment, b'\n') => State::Code,
            (State::Escape, _) => State::Str,
            (state, _) => state,
        };
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> SourceFile {
        SourceFile { path: PathBuf::from("base.cedar"), name: "base.cedar".into(), text: text.into() }
    }

    #[test]
    fn ids_come_from_annotations_or_lines() {
        let text = "// permit(principal, action, resource);\n\n\
                    permit(principal, action, resource);\n\
                    @id(\"named\")\n@scope(\"admin\")\nforbid(principal, action, resource);\n\
                    permit(principal, action, resource);\n";
        let mut problems = Vec::new();
        let policies = parse_file(0, &file(text), &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let ids: Vec<&str> = policies.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["base.cedar:3", "named", "base.cedar:7"]);
        assert_eq!(policies[1].line, Some(4));
        assert_eq!(policies[1].scope.as_deref(), Some("admin"));
        assert_eq!(policies[1].policy.id().to_string(), "named");
    }

    #[test]
    fn templates_and_empty_annotations_are_problems() {
        let text =
            "permit(principal == ?principal, action, resource);\n@id(\"\")\npermit(principal, action, resource);\n";
        let mut problems = Vec::new();
        let policies = parse_file(0, &file(text), &mut problems);
        assert!(policies.is_empty());
        let lines: Vec<Option<u32>> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(1), Some(2)]);
    }

    #[test]
    fn comments_and_strings_are_not_code() {
        let mask = code_mask("a \"//x\" // c\nb");
        assert!(mask[0]);
        assert!(!mask[3]);
        assert!(!mask[10]);
        assert!(mask[13]);
    }
}

//! Loading `entities.json` (actors, tenants, groups in Cedar's JSON entity format) against the schema.

use cedar_policy as cedar;

use crate::error::{Problem, line_of};
use crate::source::SourceFile;

/// The static entities: those of `file` (validated against `schema` when there is one) plus the schema's
/// action entities. Problems go to `problems`; `None` when there were any.
pub(crate) fn load(
    file: Option<&SourceFile>,
    schema: Option<&cedar::Schema>,
    problems: &mut Vec<Problem>,
) -> Option<cedar::Entities> {
    let Some(file) = file else {
        return match schema.map(cedar::Schema::action_entities) {
            Some(Ok(actions)) => Some(actions),
            Some(Err(e)) => {
                let schema_file = std::path::Path::new(crate::load::SCHEMA_FILE);
                problems.push(Problem::new(schema_file, None, format!("schema actions: {e}")));
                None
            }
            None => Some(cedar::Entities::empty()),
        };
    };
    let json: serde_json::Value = match serde_json::from_str(&file.text) {
        Ok(json) => json,
        Err(e) => {
            let line = u32::try_from(e.line()).ok().filter(|line| *line > 0);
            problems.push(Problem::new(&file.path, line, format!("invalid JSON: {e}")));
            return None;
        }
    };
    match cedar::Entities::from_json_value(json.clone(), schema) {
        Ok(entities) => Some(entities),
        Err(error) => {
            let before = problems.len();
            each_entity(file, &json, schema, problems);
            if problems.len() == before {
                // The entities are fine one by one (e.g. a duplicate uid): report the error of the whole file.
                problems.push(Problem::from_diagnostic(&file.path, &file.text, &error));
            }
            None
        }
    }
}

/// Checks each entity of the top-level array on its own, so that every bad one is reported with its line.
fn each_entity(
    file: &SourceFile,
    json: &serde_json::Value,
    schema: Option<&cedar::Schema>,
    problems: &mut Vec<Problem>,
) {
    let Some(items) = json.as_array() else {
        return;
    };
    let starts = element_starts(&file.text);
    for (i, item) in items.iter().enumerate() {
        if let Err(e) = cedar::Entity::from_json_value(item.clone(), schema) {
            let line = starts.get(i).map(|offset| line_of(&file.text, *offset));
            problems.push(Problem::new(&file.path, line, crate::error::message_of(&e)));
        }
    }
}

/// The byte offsets where the elements of a top-level JSON array start (for a valid JSON text).
fn element_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut expect_element = false;
    for (i, byte) in text.bytes().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        if byte.is_ascii_whitespace() {
            continue;
        }
        if expect_element && byte != b']' {
            starts.push(i);
        }
        expect_element = false;
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                expect_element = depth == 1 && byte == b'[';
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' => expect_element = depth == 1,
            _ => {}
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_of_the_top_array_are_found() {
        let text = "[\n  {\"a\": [1, {\"b\": \"]\"}]},\n  {\"c\": 2}\n]";
        let starts = element_starts(text);
        let lines: Vec<u32> = starts.iter().map(|o| line_of(text, *o)).collect();
        assert_eq!(lines, [2, 3]);
    }

    #[test]
    fn an_empty_array_has_no_elements() {
        assert!(element_starts("[ ]").is_empty());
    }
}

//! Mutations for the loader property tests: a good text with a few characters deleted, replaced or inserted.
//! Shared by `core/tests/loader_props.rs` and the root's `tests/policy_props.rs` (through `#[path]`).

use proptest::prelude::*;

/// `good` with one to five edits, each at a position, of a kind (delete, replace, insert) and with a character.
pub fn mangled(good: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec((0..good.len(), 0u8..3, any::<char>()), 1..6).prop_map(move |edits| {
        let mut text: Vec<char> = good.chars().collect();
        for (at, op, c) in edits {
            let at = at % text.len().max(1);
            match op {
                0 if !text.is_empty() => {
                    text.remove(at);
                }
                1 if !text.is_empty() => text[at] = c,
                _ => text.insert(at, c),
            }
        }
        text.into_iter().collect()
    })
}

/// A bounded run: `cases` cases and no failure files written into the tree.
pub fn bounded(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

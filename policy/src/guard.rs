//! A policy's leading test on one context attribute, checked before Cedar is asked.
//!
//! Many policies open their conditions with a test of one context attribute, e.g.
//! `when { context has topic && context.topic == "orders" && ... }`. Cedar evaluates a policy's scope
//! (`principal`, `action`, `resource` constraints, which cannot fail) and then its conditions left to right,
//! and `&&` stops at the first `false`. So when the leading test is false for a request's context, the policy
//! is not satisfied and cannot fail: leaving it out of the evaluated set changes no decision, no deciding
//! policy and no error. A [`Guard`] records such a leading test; [`Guard::fails`] tells, from the context
//! Cedar is given, whether it is false. Only forms whose value is certain are read; anything else gives no
//! guard, and the policy is evaluated.

use serde_json::Value as Json;

use crate::request::AttrValue;

/// The leading test of a policy's conditions on the context attribute `attr`: `context has attr` (when
/// `has`), then (or alone) `context.attr == value` or `value == context.attr`, `value` a string, a number
/// or a boolean.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Guard {
    attr: String,
    has: bool,
    value: Option<AttrValue>,
}

impl Guard {
    /// The guard of a policy from its JSON (EST) form; `None` when its first condition is not a `when`
    /// opening with one of the forms above.
    pub(crate) fn of(policy: &cedar_policy::Policy) -> Option<Guard> {
        let json = policy.to_json().ok()?;
        let first = json.get("conditions")?.as_array()?.first()?;
        if first.get("kind")?.as_str()? != "when" {
            return None;
        }
        let mut conjuncts = Vec::new();
        leading(first.get("body")?, &mut conjuncts, 2);
        match conjuncts.as_slice() {
            [first, rest @ ..] => {
                if let Some(attr) = has(first) {
                    let value = rest.first().and_then(|next| equals(next)).filter(|(a, _)| *a == attr);
                    Some(Guard { attr: attr.to_owned(), has: true, value: value.map(|(_, v)| v) })
                } else {
                    let (attr, value) = equals(first)?;
                    Some(Guard { attr: attr.to_owned(), has: false, value: Some(value) })
                }
            }
            [] => None,
        }
    }

    /// Whether the guarded test is false, without an error, for a request whose context (as Cedar is given
    /// it: the declared attributes, narrowed) is `context`. An absent attribute fails a `has` test; without
    /// one it is an error in Cedar, so it does not fail here (the policy is evaluated and reports it). A
    /// present one fails an equality with a different value (Cedar's `==` of different types is `false`).
    pub(crate) fn fails(&self, context: &[(String, AttrValue)]) -> bool {
        match context.iter().find(|(name, _)| *name == self.attr) {
            None => self.has,
            Some((_, value)) => self.value.as_ref().is_some_and(|expected| value != expected),
        }
    }
}

/// Pushes the first `limit` conjuncts of `body` in evaluation order (`a && b && c` is `(a && b) && c`).
fn leading<'j>(body: &'j Json, out: &mut Vec<&'j Json>, limit: usize) {
    if out.len() >= limit {
        return;
    }
    match body.get("&&") {
        Some(and) => {
            if let (Some(left), Some(right)) = (and.get("left"), and.get("right")) {
                leading(left, out, limit);
                leading(right, out, limit);
            } else {
                // An unknown shape ends the conjuncts that are understood.
                out.push(body);
            }
        }
        None => out.push(body),
    }
}

/// The attribute of `context has attr`.
fn has(json: &Json) -> Option<&str> {
    context_attr(json.get("has")?)
}

/// `attr` of `left.attr` / `left has attr` when `left` is the variable `context`.
fn context_attr(access: &Json) -> Option<&str> {
    (access.get("left")?.get("Var")?.as_str()? == "context").then_some(())?;
    access.get("attr")?.as_str()
}

/// The attribute and value of `context.attr == value` or `value == context.attr`.
fn equals(json: &Json) -> Option<(&str, AttrValue)> {
    let eq = json.get("==")?;
    let (left, right) = (eq.get("left")?, eq.get("right")?);
    fn attr_of(side: &Json) -> Option<&str> {
        side.get(".").and_then(context_attr)
    }
    match (attr_of(left), attr_of(right)) {
        (Some(attr), None) => Some((attr, literal(right)?)),
        (None, Some(attr)) => Some((attr, literal(left)?)),
        _ => None,
    }
}

/// A string, number or boolean literal.
fn literal(json: &Json) -> Option<AttrValue> {
    match json.get("Value")? {
        Json::String(s) => Some(AttrValue::Str(s.clone())),
        Json::Bool(b) => Some(AttrValue::Bool(*b)),
        Json::Number(n) => n.as_i64().map(AttrValue::Long),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn guard(text: &str) -> Option<Guard> {
        cedar_policy::Policy::from_str(text).ok().and_then(|policy| Guard::of(&policy))
    }

    fn context(pairs: &[(&str, AttrValue)]) -> Vec<(String, AttrValue)> {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), v.clone())).collect()
    }

    #[test]
    fn leading_context_tests_are_read() {
        let g = guard(r#"permit (principal, action, resource) when { context has topic && context.topic == "a" };"#);
        assert_eq!(g, Some(Guard { attr: "topic".into(), has: true, value: Some("a".into()) }));
        let g = guard(r#"permit (principal, action, resource) when { 3 == context.n && principal.x };"#);
        assert_eq!(g, Some(Guard { attr: "n".into(), has: false, value: Some(3.into()) }));
        let g = guard(r#"permit (principal, action, resource) when { context has a && context.b == "x" };"#);
        assert_eq!(g, Some(Guard { attr: "a".into(), has: true, value: None }));
        let g = guard(
            r#"permit (principal, action, resource) when { context has a && context.a == true && principal.x };"#,
        );
        assert_eq!(g, Some(Guard { attr: "a".into(), has: true, value: Some(true.into()) }));
    }

    #[test]
    fn other_forms_give_no_guard() {
        for text in [
            r#"permit (principal, action, resource);"#,
            r#"permit (principal, action, resource) unless { context has topic };"#,
            r#"permit (principal, action, resource) when { principal.ok } when { context has topic };"#,
            r#"permit (principal, action, resource) when { principal.ok && context has topic };"#,
            r#"permit (principal, action, resource) when { context has topic || principal.ok };"#,
            r#"permit (principal, action, resource) when { context.topic != "a" };"#,
            r#"permit (principal, action, resource) when { context.topic == principal.topic };"#,
            r#"permit (principal, action, resource) when { context.owner == Actor::"a" };"#,
            r#"permit (principal, action, resource) when { context.scopes == ["a"] };"#,
            r#"permit (principal, action, resource) when { context.a.b == "x" };"#,
            r#"permit (principal, action, resource) when { principal.topic == "a" };"#,
        ] {
            assert_eq!(guard(text), None, "{text}");
        }
    }

    #[test]
    fn a_guard_fails_only_where_cedar_gives_false() {
        let has_eq = Guard { attr: "topic".into(), has: true, value: Some("a".into()) };
        assert!(has_eq.fails(&context(&[])), "absent: `has` is false");
        assert!(has_eq.fails(&context(&[("topic", "b".into())])));
        assert!(has_eq.fails(&context(&[("topic", 1.into())])), "another type is not equal");
        assert!(!has_eq.fails(&context(&[("topic", "a".into()), ("pid", "b".into())])));
        let eq = Guard { attr: "topic".into(), has: false, value: Some("a".into()) };
        assert!(!eq.fails(&context(&[])), "absent without `has` is an error Cedar must report");
        assert!(eq.fails(&context(&[("topic", "b".into())])));
        let only_has = Guard { attr: "topic".into(), has: true, value: None };
        assert!(only_has.fails(&context(&[])));
        assert!(!only_has.fails(&context(&[("topic", "b".into())])));
    }
}

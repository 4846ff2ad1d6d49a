//! Property tests of the value conversion for messages and arguments (`convert.rs`): every value either
//! round-trips or is refused with a clear error naming its path, and nothing panics. Bounded case counts keep
//! the whole file to well under a second.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use corral_core::ErrorKind;
use corral_core::value::{Table as CoreTable, Value as CoreValue};
use corral_sandbox::convert::{Bounds, HARD_DEPTH, from_lua, from_lua_multi, to_lua};
use mlua::{Lua, Value};
use proptest::prelude::*;

/// No bound but the converter's own depth guard.
const UNBOUNDED: Bounds = Bounds { bytes: usize::MAX, depth: usize::MAX };

fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
}

/// Any scalar a message may hold, numbers included NaN and the infinities.
fn scalar() -> impl Strategy<Value = CoreValue> {
    prop_oneof![
        Just(CoreValue::Nil),
        any::<bool>().prop_map(CoreValue::Bool),
        any::<f64>().prop_map(CoreValue::Num),
        (-1000i32..1000).prop_map(|n| CoreValue::Num(f64::from(n))),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(|b| CoreValue::Str(b.into())),
    ]
}

/// Any value tree: tables of any scalar keys (nil and NaN included) and values (nil included).
fn any_value() -> impl Strategy<Value = CoreValue> {
    scalar().prop_recursive(5, 64, 6, |inner| {
        (proptest::collection::vec(inner.clone(), 0..6), proptest::collection::vec((scalar(), inner), 0..6))
            .prop_map(|(array, map)| CoreValue::Table(Arc::new(CoreTable { array, map })))
    })
}

/// A value that must come back equal: finite numbers, arrays without nils, maps with distinct string keys
/// and non-nil values (a nil value or array hole is no key at all in Lua).
fn canonical() -> impl Strategy<Value = CoreValue> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(CoreValue::Bool),
        (-1e12f64..1e12).prop_map(CoreValue::Num),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(|b| CoreValue::Str(b.into())),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        (proptest::collection::vec(inner.clone(), 0..6), proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..6))
            .prop_map(|(array, map)| {
                let map = map.into_iter().map(|(k, v)| (CoreValue::str(&k), v)).collect();
                CoreValue::Table(Arc::new(CoreTable { array, map }))
            })
    })
}

/// The same value with every table's map sorted (Lua's `pairs` order is not the insertion order).
fn sorted(value: &CoreValue) -> CoreValue {
    match value {
        CoreValue::Table(t) => {
            let mut map: Vec<(CoreValue, CoreValue)> = t.map.iter().map(|(k, v)| (sorted(k), sorted(v))).collect();
            map.sort_by_key(|(k, _)| format!("{k:?}"));
            CoreValue::Table(Arc::new(CoreTable { array: t.array.iter().map(sorted).collect(), map }))
        }
        other => other.clone(),
    }
}

/// What a script may try to send, built in Lua: copyable data, and the things that cannot cross.
#[derive(Clone, Debug)]
enum Shape {
    Data(CoreValue),
    Function,
    Thread,
    Userdata,
    /// The table `n` levels up (0: the enclosing table itself): a cycle.
    Up(usize),
    /// A table with a function as a key.
    FunctionKey,
    Table(Vec<Shape>, Vec<(String, Shape)>),
}

impl Shape {
    /// Whether it can be copied (no function, thread, userdata, function key or cycle inside).
    fn copyable(&self, depth: usize) -> bool {
        match self {
            Shape::Data(_) => true,
            Shape::Function | Shape::Thread | Shape::Userdata | Shape::FunctionKey => false,
            Shape::Up(n) => *n >= depth, // a reference above the root is plain data here (see `build`)
            Shape::Table(a, m) => {
                a.iter().all(|s| s.copyable(depth + 1)) && m.iter().all(|(_, s)| s.copyable(depth + 1))
            }
        }
    }
}

fn shape() -> impl Strategy<Value = Shape> {
    let leaf = prop_oneof![
        4 => canonical().prop_map(Shape::Data),
        1 => Just(Shape::Function),
        1 => Just(Shape::Thread),
        1 => Just(Shape::Userdata),
        1 => (0usize..4).prop_map(Shape::Up),
        1 => Just(Shape::FunctionKey),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        (proptest::collection::vec(inner.clone(), 0..5), proptest::collection::btree_map("[a-z]{1,6}", inner, 0..5))
            .prop_map(|(a, m)| Shape::Table(a, m.into_iter().collect()))
    })
}

/// Builds `shape` in `lua`; `parents` are the enclosing tables, innermost last.
fn build(lua: &Lua, shape: &Shape, parents: &mut Vec<mlua::Table>) -> Value {
    match shape {
        Shape::Data(v) => to_lua(lua, v).unwrap(),
        Shape::Function => Value::Function(lua.create_function(|_, ()| Ok(())).unwrap()),
        Shape::Thread => Value::Thread(lua.create_thread(lua.create_function(|_, ()| Ok(())).unwrap()).unwrap()),
        Shape::Userdata => Value::UserData(lua.create_any_userdata(7u8).unwrap()),
        Shape::Up(n) => match parents.len().checked_sub(n + 1) {
            Some(i) => Value::Table(parents[i].clone()),
            None => Value::Boolean(true),
        },
        Shape::FunctionKey => {
            let t = lua.create_table().unwrap();
            t.raw_set(lua.create_function(|_, ()| Ok(())).unwrap(), 1).unwrap();
            Value::Table(t)
        }
        Shape::Table(array, map) => {
            let t = lua.create_table().unwrap();
            parents.push(t.clone());
            for (i, s) in array.iter().enumerate() {
                // a nil never makes a hole: it ends the array part, as in Lua
                let v = build(lua, s, parents);
                t.raw_set(i + 1, if v.is_nil() { Value::Boolean(false) } else { v }).unwrap();
            }
            for (k, s) in map {
                t.raw_set(k.as_str(), build(lua, s, parents)).unwrap();
            }
            parents.pop();
            Value::Table(t)
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// Plain data comes back equal after a trip into Lua and out again.
    #[test]
    fn canonical_values_round_trip(value in canonical()) {
        let lua = Lua::new();
        let back = from_lua(&to_lua(&lua, &value).unwrap(), "payload", UNBOUNDED);
        prop_assert_eq!(back.map(|b| sorted(&b)).map_err(|e| e.message), Ok(sorted(&value)));
    }

    /// Any tree, nil and NaN keys included: building it in Lua succeeds or fails with an error, never a
    /// panic, and what was built converts back to a value that converts to itself again.
    #[test]
    fn any_value_converts_or_fails_cleanly(value in any_value()) {
        let lua = Lua::new();
        if let Ok(built) = to_lua(&lua, &value) {
            let once = from_lua(&built, "payload", UNBOUNDED).map_err(|e| e.message);
            prop_assert!(once.is_ok(), "{once:?}");
            let once = once.unwrap();
            let twice = from_lua(&to_lua(&lua, &once).unwrap(), "payload", UNBOUNDED).map_err(|e| e.message);
            prop_assert_eq!(twice.map(|t| sorted(&t)), Ok(sorted(&once)));
        }
    }

    /// Functions, threads, userdata, function keys and cycles anywhere are INVALID, naming the path from
    /// `payload`; everything else converts.
    #[test]
    fn what_cannot_cross_is_invalid_with_its_path(shape in shape()) {
        let lua = Lua::new();
        let value = build(&lua, &shape, &mut Vec::new());
        match from_lua(&value, "payload", UNBOUNDED) {
            Ok(_) => prop_assert!(shape.copyable(0), "{shape:?} was copied"),
            Err(e) => {
                prop_assert!(!shape.copyable(0), "{shape:?} refused: {}", e.message);
                prop_assert_eq!(e.kind, ErrorKind::Invalid, "{}", e.message);
                prop_assert!(e.message.starts_with("payload"), "{}", e.message);
                prop_assert!(e.message.contains("cannot be copied"), "{}", e.message);
            }
        }
    }

    /// Nesting is refused beyond the converter's own bound with LIMIT_EXCEEDED, never a stack overflow.
    #[test]
    fn deep_nesting_is_a_limit(levels in 1usize..600) {
        let lua = Lua::new();
        let mut value = lua.create_table().unwrap();
        for _ in 1..levels {
            let outer = lua.create_table().unwrap();
            outer.raw_set(1, value).unwrap();
            value = outer;
        }
        let result = from_lua(&Value::Table(value), "argument 1", UNBOUNDED);
        if levels <= HARD_DEPTH {
            prop_assert!(result.is_ok());
        } else {
            let e = result.err().unwrap();
            prop_assert_eq!(e.kind, ErrorKind::LimitExceeded);
            prop_assert!(e.message.starts_with("argument 1[1][1]"), "{}", e.message);
        }
    }

    /// Within bounds, a conversion counts bytes and depth exactly as the runtime does (`Value::size`,
    /// `Value::depth`): it succeeds exactly when the runtime's own check would pass, and a refusal is
    /// LIMIT_EXCEEDED naming the bound.
    #[test]
    fn bounded_conversion_agrees_with_the_runtime(values in proptest::collection::vec(canonical(), 1..4),
                                                  bytes in 0usize..400, depth in 0usize..5) {
        let lua = Lua::new();
        let built: Vec<Value> = values.iter().map(|v| to_lua(&lua, v).unwrap()).collect();
        let bounds = Bounds { bytes, depth };
        let size: usize = values.iter().map(CoreValue::size).sum();
        let deepest = values.iter().map(CoreValue::depth).max().unwrap_or(0);
        match from_lua_multi(&built, "payload", bounds) {
            Ok(out) => {
                prop_assert!(size <= bytes && deepest <= depth, "{size} bytes, {deepest} deep passed {bounds:?}");
                prop_assert_eq!(out.iter().map(CoreValue::size).sum::<usize>(), size);
            }
            Err(e) => {
                prop_assert!(size > bytes || deepest > depth, "{size} bytes, {deepest} deep refused: {}", e.message);
                prop_assert_eq!(e.kind, ErrorKind::LimitExceeded, "{}", e.message);
                prop_assert!(e.message.contains("max_message_"), "{}", e.message);
            }
        }
    }
}

/// A table that holds another twice, 24 times over (2^24 tables to walk), is refused at the byte bound
/// after walking about bound / 8 values, not all of them (class 5; the hostile suite has the same attack).
#[test]
fn exponential_sharing_stops_at_the_bound() {
    let lua = Lua::new();
    let t: Value = lua.load("local t = {'x'} for i = 1, 24 do t = {t, t} end return t").eval().unwrap();
    let e = from_lua(&t, "payload", Bounds::DEFAULT).err().unwrap();
    assert_eq!(e.kind, ErrorKind::LimitExceeded, "{}", e.message);
    assert!(e.message.contains("over the 1048576 byte bound (max_message_bytes)"), "{}", e.message);
}

//! The `errors` global: error objects and their kinds (`lua-api.md`, "Conventions").
//!
//! `err:kind()` is one of the constants, `err:message()` the text, `tostring(err)` the text, and
//! `"prefix: " .. err` works on both sides.
//!
//! In the reference system's dialect (`[compat] wippy = true`, `wippy-compat.md`, "errors") the same object
//! also carries what the reference documents: the kinds `CONFLICT`, `RATE_LIMITED` and `UNKNOWN`,
//! `err:retryable()`, `err:details()`, `err:stack()`, `errors.new(message | {message, kind, retryable,
//! details})`, `errors.wrap(err, context)` and `errors.call_stack(err)`: see [`crate::modules::wippy_errors`].

use std::sync::Arc;

use corral_core::limits::Charge;
use corral_core::{Error, ErrorKind};
use mlua::{Lua, MetaMethod, MultiValue, UserData, UserDataMethods, Value};

/// An error object as scripts see it.
#[derive(Clone, Debug)]
pub struct LuaError {
    /// The kind.
    pub kind: ErrorKind,
    /// The text.
    pub message: String,
    /// What the text costs the process that made the error (`errors.new`), released with the last copy.
    _charge: Option<Arc<Charge>>,
    /// What the reference dialect adds (`errors.new` with a table, `errors.wrap`); shared by copies.
    pub(crate) compat: Option<Arc<crate::modules::wippy_errors::Compat>>,
}

/// Charges `bytes` the host holds outside the Lua heap to the calling process's memory account (nothing
/// outside a process). Over its limit, the process ends with `limit.memory` at its next metering check
/// (issue 9, class 3).
pub fn charge(lua: &Lua, bytes: usize) -> Charge {
    match crate::procs::current(lua) {
        Ok(ctx) => {
            let account = ctx.process.account();
            let charge = account.charge(u64::try_from(bytes).unwrap_or(u64::MAX));
            if account.held() > account.limit() {
                crate::interrupt::check_now();
            }
            charge
        }
        Err(_) => Charge::default(),
    }
}

impl LuaError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> LuaError {
        LuaError { kind, message: message.into(), _charge: None, compat: None }
    }

    /// `INVALID` with `message`.
    pub fn invalid(message: impl Into<String>) -> LuaError {
        LuaError::new(ErrorKind::Invalid, message)
    }

    /// An error of the reference dialect: `compat` carries its kind name, retryable flag, details and stack;
    /// `charge` is what the host holds for it.
    pub(crate) fn with_compat(
        kind: ErrorKind,
        message: String,
        charge: Charge,
        compat: crate::modules::wippy_errors::Compat,
    ) -> LuaError {
        LuaError { kind, message, _charge: Some(Arc::new(charge)), compat: Some(Arc::new(compat)) }
    }

    /// The kind as scripts see it: one of the `errors` constants (in the reference dialect also
    /// `CONFLICT`, `RATE_LIMITED` or `UNKNOWN`).
    pub fn kind_name(&self) -> &'static str {
        self.compat.as_ref().and_then(|c| c.kind).unwrap_or(self.kind.as_str())
    }
}

impl From<Error> for LuaError {
    fn from(e: Error) -> LuaError {
        LuaError { kind: e.kind(), message: e.to_string(), _charge: None, compat: None }
    }
}

impl UserData for LuaError {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("kind", |_, this, ()| Ok(this.kind_name()));
        methods.add_method("message", |_, this, ()| Ok(this.message.clone()));
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| Ok(this.message.clone()));
        methods.add_meta_function(MetaMethod::Concat, |lua, (a, b): (Value, Value)| {
            Ok(format!("{}{}", text(lua, &a)?, text(lua, &b)?))
        });
        methods.add_meta_method(MetaMethod::Eq, |_, this, other: mlua::AnyUserData| {
            Ok(other
                .borrow::<LuaError>()
                .map(|o| o.kind_name() == this.kind_name() && o.message == this.message)
                .unwrap_or(false))
        });
        crate::modules::wippy_errors::add_methods(methods);
    }
}

fn text(_: &Lua, value: &Value) -> mlua::Result<String> {
    match value {
        Value::UserData(ud) if ud.is::<LuaError>() => Ok(ud.borrow::<LuaError>()?.message.clone()),
        Value::String(s) => Ok(s.to_string_lossy()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Integer(n) => Ok(n.to_string()),
        other => {
            Err(mlua::Error::runtime(format!("attempt to concatenate a {} value with an error", other.type_name())))
        }
    }
}

/// `nil, err`: the failure return of every non-raising call.
pub fn fail(lua: &Lua, error: impl Into<LuaError>) -> mlua::Result<MultiValue> {
    let err = lua.create_userdata(error.into())?;
    Ok(MultiValue::from_iter([Value::Nil, Value::UserData(err)]))
}

/// What a non-raising call gives back, as mlua pushes it without gathering the values first: `Ok(value)`
/// is the value, `Err(error)` is `nil, error` (mlua's convention for a `Result` return).
pub type Returned = Result<Value, mlua::AnyUserData>;

/// [`ret`] as a [`Returned`]: the same values, pushed straight onto the Lua stack.
pub fn returned<T: mlua::IntoLua>(lua: &Lua, result: Result<T, impl Into<LuaError>>) -> mlua::Result<Returned> {
    match result {
        Ok(value) => Ok(Ok(value.into_lua(lua)?)),
        Err(e) => Ok(Err(lua.create_userdata(e.into())?)),
    }
}

/// Either `value` or `nil, err`.
pub fn ret<T: mlua::IntoLua>(lua: &Lua, result: Result<T, impl Into<LuaError>>) -> mlua::Result<MultiValue> {
    match result {
        Ok(value) => Ok(MultiValue::from_iter([value.into_lua(lua)?])),
        Err(e) => fail(lua, e),
    }
}

/// Registers the `errors` global; `wippy` selects the reference dialect's `errors` (its `new`, `wrap`,
/// `call_stack` and extra kinds, [`crate::modules::wippy_errors::register`]).
pub fn register(lua: &Lua, wippy: bool) -> mlua::Result<()> {
    let errors = lua.create_table()?;
    for kind in ErrorKind::ALL {
        errors.set(kind.as_str(), kind.as_str())?;
    }
    if wippy {
        crate::modules::wippy_errors::register(lua, &errors)?;
        errors.set(
            "is",
            lua.create_function(|_, (err, kind): (Value, mlua::LuaString)| {
                Ok(match err {
                    Value::UserData(ud) => ud
                        .borrow::<LuaError>()
                        .map(|e| e.kind_name().as_bytes() == kind.as_bytes().as_ref())
                        .unwrap_or(false),
                    _ => false,
                })
            })?,
        )?;
        return lua.globals().set("errors", errors);
    }
    errors.set(
        "new",
        lua.create_function(|lua, (kind, message): (mlua::LuaString, Option<mlua::LuaString>)| {
            let kind = parse_kind(&kind.to_string_lossy()).ok_or_else(|| {
                let shown: String = kind.to_string_lossy().chars().take(64).collect();
                mlua::Error::runtime(format!("unknown error kind `{shown}`"))
            })?;
            let message = message.map(|m| m.to_string_lossy()).unwrap_or_default();
            let charge = Arc::new(charge(lua, message.len()));
            Ok(LuaError { kind, message, _charge: Some(charge), compat: None })
        })?,
    )?;
    errors.set(
        "is",
        lua.create_function(|_, (err, kind): (Value, String)| {
            Ok(match err {
                Value::UserData(ud) => ud.borrow::<LuaError>().map(|e| e.kind.as_str() == kind).unwrap_or(false),
                _ => false,
            })
        })?,
    )?;
    lua.globals().set("errors", errors)
}

pub(crate) fn parse_kind(text: &str) -> Option<ErrorKind> {
    ErrorKind::ALL.into_iter().find(|k| k.as_str() == text)
}

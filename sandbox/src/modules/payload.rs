//! The reference system's payload objects and its `payload` module (`[compat] wippy = true` only;
//! `docs/wippy-compat.md`, "payload").
//!
//! A payload is a Lua value with a format label: `msg:payload()` in compat mode returns one (format
//! `lua/any`), and `payload.new(value)` makes one. `p:data()` and `p:unmarshal()` give the value,
//! `p:get_format()` the label, `p:transcode(format)` a new payload in another format. A payload is plain data
//! for the conversion that copies values between processes (`convert.rs`): sent, passed as a spawn argument
//! or returned from `main`, it is its value.
//!
//! Formats: `lua/any` (the value), `json/plain` (the value through the `json` module's encoder and back,
//! so the JSON rules apply: mixed keys, sparse arrays, functions are refused; NaN is nil), `text/plain` (a
//! string; a number or boolean becomes its text), `application/octet-stream` (a string's bytes) and
//! `golang/error` (an error object, from `payload.new(err)`). YAML, MessagePack and `golang/any` would need
//! encoders Corral does not carry: transcoding to them is `INTERNAL` saying so.
//!
//! The boundary: a payload holds a Lua value (in the process's Lua heap, under its memory limit) and a
//! `&'static` label; transcoding to JSON is bounded as `json.encode` is (half of what the process has left
//! of its memory limit); a format argument is read only up to [`MAX_FORMAT_BYTES`].

use corral_core::ErrorKind;
use mlua::{AnyUserData, Lua, MultiValue, Table, UserData, UserDataMethods, Value};

use crate::modules::errors::{LuaError, fail, ret};

/// `payload.format.JSON`.
pub const JSON: &str = "json/plain";
/// `payload.format.YAML`.
pub const YAML: &str = "yaml/plain";
/// `payload.format.STRING`.
pub const STRING: &str = "text/plain";
/// `payload.format.BYTES`.
pub const BYTES: &str = "application/octet-stream";
/// `payload.format.MSGPACK`.
pub const MSGPACK: &str = "application/msgpack";
/// `payload.format.LUA`: what `payload.new` and `msg:payload()` make.
pub const LUA: &str = "lua/any";
/// `payload.format.GOLANG`.
pub const GOLANG: &str = "golang/any";
/// `payload.format.ERROR`: a payload of an error object.
pub const ERROR: &str = "golang/error";

/// The constants of `payload.format`, by name.
const FORMATS: [(&str, &str); 8] = [
    ("JSON", JSON),
    ("YAML", YAML),
    ("STRING", STRING),
    ("BYTES", BYTES),
    ("MSGPACK", MSGPACK),
    ("LUA", LUA),
    ("GOLANG", GOLANG),
    ("ERROR", ERROR),
];

/// The longest format argument `transcode` reads; a longer one is `INVALID` without being copied.
pub const MAX_FORMAT_BYTES: usize = 64;

/// A payload object: a value and its format.
#[derive(Clone)]
pub struct LuaPayload {
    /// One of the format constants.
    pub format: &'static str,
    /// The value (for `golang/error`, the error object).
    pub value: Value,
}

impl LuaPayload {
    /// A `lua/any` payload of `value` (what `msg:payload()` returns in compat mode).
    pub fn lua(value: Value) -> LuaPayload {
        LuaPayload { format: LUA, value }
    }
}

impl UserData for LuaPayload {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("data", |lua, this, ()| ret(lua, Ok::<_, LuaError>(this.value.clone())));
        methods.add_method("unmarshal", |lua, this, ()| ret(lua, Ok::<_, LuaError>(this.value.clone())));
        methods.add_method("get_format", |_, this, ()| Ok(this.format));
        methods.add_method("transcode", |lua, this, format: Value| transcode(lua, this, &format));
        methods.add_meta_method(mlua::MetaMethod::ToString, |_, this, ()| Ok(format!("payload: {}", this.format)));
    }
}

/// The value a payload userdata carries, for the conversion between processes; `None` when `ud` is not a
/// payload.
pub fn unwrap(ud: &AnyUserData) -> Option<Value> {
    ud.borrow::<LuaPayload>().ok().map(|p| p.value.clone())
}

fn internal(message: impl Into<String>) -> LuaError {
    LuaError::new(ErrorKind::Internal, message)
}

/// The format constant `format` names. Errors: `INVALID` for a non-string or a text over
/// [`MAX_FORMAT_BYTES`]; `INTERNAL` for an unknown format (a transcoding failure, as in the reference).
fn format_of(format: &Value) -> Result<&'static str, LuaError> {
    let Value::String(text) = format else {
        return Err(LuaError::invalid(format!("payload format must be a string, got {}", format.type_name())));
    };
    let bytes = text.as_bytes();
    if bytes.len() > MAX_FORMAT_BYTES {
        return Err(LuaError::invalid(format!("payload format of {} bytes is over {MAX_FORMAT_BYTES}", bytes.len())));
    }
    FORMATS.iter().map(|(_, f)| *f).find(|f| f.as_bytes() == &*bytes).ok_or_else(|| {
        internal(format!("payload: unknown format `{}` (see payload.format)", String::from_utf8_lossy(&bytes)))
    })
}

fn transcode(lua: &Lua, from: &LuaPayload, format: &Value) -> mlua::Result<MultiValue> {
    let target = match format_of(format) {
        Ok(f) => f,
        Err(e) => return fail(lua, e),
    };
    let result = match target {
        LUA => Ok(from.value.clone()),
        JSON => {
            if from.format == ERROR {
                Err(internal("payload: an error payload cannot be transcoded to json/plain"))
            } else {
                match crate::modules::json::encode_value(lua, &from.value) {
                    Ok(text) => {
                        let _charge = crate::modules::errors::charge(lua, text.capacity());
                        crate::modules::json::decode_text(lua, text.as_bytes())?
                    }
                    Err(e) => Err(e),
                }
            }
        }
        STRING => match &from.value {
            Value::String(_) => Ok(from.value.clone()),
            Value::Integer(_) | Value::Number(_) | Value::Boolean(_) => {
                Ok(Value::String(lua.create_string(from.value.to_string()?)?))
            }
            other => Err(internal(format!("payload: a {} cannot be transcoded to text/plain", other.type_name()))),
        },
        BYTES => match &from.value {
            Value::String(_) => Ok(from.value.clone()),
            other => Err(internal(format!(
                "payload: a {} cannot be transcoded to application/octet-stream",
                other.type_name()
            ))),
        },
        ERROR => match &from.value {
            Value::UserData(ud) if ud.is::<LuaError>() => Ok(from.value.clone()),
            other => Err(internal(format!("payload: a {} is not an error", other.type_name()))),
        },
        unsupported => Err(internal(format!("payload: transcoding to {unsupported} is not supported by Corral"))),
    };
    match result {
        Ok(value) => ret(lua, Ok::<_, LuaError>(LuaPayload { format: target, value })),
        Err(e) => fail(lua, e),
    }
}

/// `payload.new(value)`: a `lua/any` payload, `golang/error` for an error object; a payload is returned as
/// it is. Errors: `INVALID` for a function, a thread or a userdata that is neither.
fn new(lua: &Lua, value: Value) -> mlua::Result<MultiValue> {
    let made = match &value {
        Value::UserData(ud) if ud.is::<LuaPayload>() => return Ok(MultiValue::from_iter([value])),
        Value::UserData(ud) if ud.is::<LuaError>() => Ok(LuaPayload { format: ERROR, value }),
        Value::Nil | Value::Boolean(_) | Value::Integer(_) | Value::Number(_) | Value::String(_) | Value::Table(_) => {
            Ok(LuaPayload::lua(value))
        }
        other => Err(LuaError::invalid(format!("payload.new: a {} cannot be a payload", other.type_name()))),
    };
    ret(lua, made)
}

/// The `payload` module table (read-only, as is its `format` table).
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let payload = lua.create_table()?;
    let formats = lua.create_table()?;
    for (name, format) in FORMATS {
        formats.raw_set(name, format)?;
    }
    formats.set_readonly(true);
    payload.raw_set("format", formats)?;
    payload.raw_set("new", lua.create_function(new)?)?;
    Ok(payload)
}

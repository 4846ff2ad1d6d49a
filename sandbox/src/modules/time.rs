//! `require("time")`: sleep, timers, tickers, the clock and durations (`lua-api.md`, "time").
//!
//! In the reference system's dialect (`[compat] wippy = true`) `require("time")` is that system's module
//! instead ([`crate::modules::wippy_time`]): same names, its shapes (numbers are nanoseconds there).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use corral_core::chan::{Chan, Item};
use corral_core::runtime::OwnedTask;
use corral_core::value::Value as CoreValue;
use mlua::{AnyUserData, Lua, MetaMethod, Table, UserData, UserDataMethods, Value};

use crate::modules::channel::LuaChan;
use crate::modules::errors::LuaError;
use crate::procs::current;

/// A point in time (`time.now()`).
#[derive(Clone, Copy)]
pub struct LuaTime(pub SystemTime);

/// A span of time (`time.parse_duration`, `t:sub(u)`).
#[derive(Clone, Copy)]
pub struct LuaDuration(pub Duration);

/// A ticker (`time.ticker(d)`): `:channel()` receives the time every period until `:stop()`, until the
/// ticker is collected, or until its process exits (the task is the process's, `Runtime::spawn_owned`).
pub struct LuaTicker {
    chan: Chan,
    task: OwnedTask,
}

impl Drop for LuaTicker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl UserData for LuaTime {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("unix", |_, this, ()| Ok(unix(this.0).as_secs_f64().floor()));
        methods.add_method("unix_milli", |_, this, ()| Ok(unix(this.0).as_millis() as f64));
        methods.add_method("unix_nano", |_, this, ()| Ok(unix(this.0).as_nanos() as f64));
        methods.add_method("sub", |_, this, other: AnyUserData| {
            let other = other.borrow::<LuaTime>()?.0;
            let d = this.0.duration_since(other).unwrap_or(Duration::ZERO);
            Ok(LuaDuration(d))
        });
        methods.add_method("add", |_, this, d: Value| {
            let d = duration_arg(&d).map_err(raise)?;
            this.0.checked_add(d).filter(|t| *t <= latest_time()).map(LuaTime).ok_or_else(|| {
                raise(LuaError::invalid(format!(
                    "time {} plus {} is past the latest time, 9999-12-31T23:59:59Z",
                    corral_core::audit::rfc3339(this.0),
                    humantime::format_duration(d)
                )))
            })
        });
        methods.add_method("format_rfc3339", |_, this, ()| Ok(corral_core::audit::rfc3339(this.0)));
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| Ok(corral_core::audit::rfc3339(this.0)));
    }
}

impl UserData for LuaDuration {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("seconds", |_, this, ()| Ok(this.0.as_secs_f64()));
        methods.add_method("milliseconds", |_, this, ()| Ok(this.0.as_millis() as f64));
        methods.add_method("nanoseconds", |_, this, ()| Ok(this.0.as_nanos() as f64));
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| Ok(humantime::format_duration(this.0).to_string()));
    }
}

impl UserData for LuaTicker {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("channel", |_, this, ()| Ok(LuaChan(this.chan.clone())));
        // The reference dialect's name for the channel.
        methods.add_method("response", |lua, this, ()| {
            if !crate::modules::require::is_wippy(lua) {
                return Err(mlua::Error::runtime(
                    "ticker:response() is part of the reference system's dialect ([compat] wippy = true)",
                ));
            }
            Ok(LuaChan(this.chan.clone()))
        });
        methods.add_method("stop", |_, this, ()| {
            this.task.abort();
            this.chan.close();
            Ok(true)
        });
    }
}

fn raise(e: impl Into<LuaError>) -> mlua::Error {
    let e = e.into();
    mlua::Error::runtime(format!("{}: {}", e.kind.as_str(), e.message))
}

fn unix(t: SystemTime) -> Duration {
    t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO)
}

/// The longest duration a script may give (a sleep, a timer, a ticker period, a cancel deadline, `t:add`):
/// 100 years (of 365.25 days). Every later `Instant`, `SystemTime` or tokio-timer addition of a duration
/// this long is in range, so nothing a tenant passes can overflow one.
pub const MAX_DURATION: Duration = Duration::from_secs(3_155_760_000);

/// The shortest ticker period, 1 ms: a shorter one is `INVALID` (a 1 ns ticker would keep a core busy).
pub const MIN_PERIOD: Duration = Duration::from_millis(1);

/// The latest time a time value can hold, 9999-12-31T23:59:59Z (the RFC 3339 formatter's range).
fn latest_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(253_402_300_799)
}

/// A duration argument: a humantime string (`"100ms"`, `"1m30s"`), milliseconds (a number, fractions
/// allowed), or a duration object; from zero to [`MAX_DURATION`]. Errors: `INVALID` naming the value for
/// anything else: negative, NaN, infinite, longer than 100 years, text humantime cannot read, another type.
pub fn duration_arg(value: &Value) -> Result<Duration, LuaError> {
    let (duration, shown) = match value {
        Value::Integer(ms) => (u64::try_from(*ms).ok().map(Duration::from_millis), format!("{ms} ms")),
        Value::Number(ms) => (Duration::try_from_secs_f64(ms / 1000.0).ok(), format!("{ms} ms")),
        Value::String(s) => {
            let text = s.to_string_lossy();
            let parsed = humantime::parse_duration(text.trim())
                .map_err(|e| LuaError::invalid(format!("invalid duration `{text}`: {e}")))?;
            (Some(parsed), format!("`{text}`"))
        }
        Value::UserData(ud) if ud.is::<crate::modules::wippy_time::WippyDuration>() => {
            // A duration of the reference dialect (signed nanoseconds): a negative one is refused below.
            let ns = ud.borrow::<crate::modules::wippy_time::WippyDuration>().map(|d| d.0).unwrap_or(-1);
            (u64::try_from(ns).ok().map(Duration::from_nanos), crate::modules::wippy_time::go_duration(ns))
        }
        Value::UserData(ud) => {
            let d = ud.borrow::<LuaDuration>().map(|d| d.0).map_err(|_| LuaError::invalid("invalid duration"))?;
            (Some(d), humantime::format_duration(d).to_string())
        }
        other => {
            return Err(LuaError::invalid(format!("invalid duration: a {} is not a duration", other.type_name())));
        }
    };
    duration
        .filter(|d| *d <= MAX_DURATION)
        .ok_or_else(|| LuaError::invalid(format!("invalid duration {shown}: a duration is from 0 to 100 years")))
}

/// What a timer or ticker channel receives: the unix time in seconds.
pub(crate) fn now_item() -> Item {
    Item::Payload(vec![CoreValue::Num(unix(SystemTime::now()).as_secs_f64())].into())
}

/// Starts a ticker of `period` (at least [`MIN_PERIOD`], checked by the caller) for the calling process.
pub(crate) fn start_ticker(lua: &Lua, period: Duration) -> mlua::Result<LuaTicker> {
    let ctx = current(lua).map_err(raise)?;
    let first = tokio::time::Instant::now()
        .checked_add(period)
        .ok_or_else(|| raise(LuaError::invalid("ticker period is past what the clock can hold")))?;
    let chan = Chan::new(1);
    let sender = chan.clone();
    let ticking = async move {
        let mut interval = tokio::time::interval_at(first, period);
        // A slow reader misses ticks rather than piling them up (Go's ticker does the same).
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            let _ = sender.try_send(now_item());
        }
    };
    let task = ctx.runtime.spawn_owned(&ctx.process, ticking).map_err(raise)?;
    Ok(LuaTicker { chan, task })
}

/// Registers `time` as a module `require` can grant (the reference dialect's in `wippy` mode).
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    if crate::modules::require::is_wippy(lua) {
        return crate::modules::wippy_time::create(lua);
    }
    let time = lua.create_table()?;
    time.set(
        "sleep",
        crate::block::function(lua, |lua, args| {
            let d = args.into_iter().next().unwrap_or(Value::Nil);
            match duration_arg(&d) {
                Ok(d) => Ok(crate::block::Step::Wait(crate::block::Wait::Sleep(d))),
                Err(e) => crate::modules::errors::fail(lua, e).map(crate::block::Step::Ready),
            }
        })?,
    )?;
    time.set(
        "after",
        lua.create_function(|lua, d: Value| {
            let d = duration_arg(&d).map_err(raise)?;
            let ctx = current(lua).map_err(raise)?;
            let chan = Chan::new(1);
            let sender = chan.clone();
            let timer = async move {
                tokio::time::sleep(d).await;
                let _ = sender.try_send(now_item());
            };
            ctx.runtime.spawn_owned(&ctx.process, timer).map_err(raise)?;
            Ok(LuaChan(chan))
        })?,
    )?;
    time.set(
        "ticker",
        lua.create_function(|lua, d: Value| {
            let period = duration_arg(&d).map_err(raise)?;
            if period < MIN_PERIOD {
                return Err(raise(LuaError::invalid(format!(
                    "ticker period {} is under the floor of 1ms",
                    humantime::format_duration(period)
                ))));
            }
            start_ticker(lua, period)
        })?,
    )?;
    time.set("now", lua.create_function(|_, ()| Ok(LuaTime(SystemTime::now())))?)?;
    time.set(
        "parse_duration",
        lua.create_function(|lua, s: Value| match duration_arg(&s) {
            Ok(d) => crate::modules::errors::ret(lua, Ok::<_, LuaError>(LuaDuration(d))),
            Err(e) => crate::modules::errors::fail(lua, e),
        })?,
    )?;
    crate::vm::freeze_all(lua, Value::Table(time.clone()))?;
    Ok(time)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::{MAX_DURATION, latest_time};

    /// The longest tenant duration is safe for every clock it meets: `Instant`, `SystemTime`, tokio's timers
    /// (a sleep, an interval), and the RFC 3339 formatter. Paused time: nothing waits.
    #[tokio::test(start_paused = true)]
    async fn the_longest_duration_is_safe_for_every_clock() {
        assert!(std::time::Instant::now().checked_add(MAX_DURATION).is_some());
        let later = tokio::time::Instant::now().checked_add(MAX_DURATION).unwrap();
        let wall = SystemTime::now().checked_add(MAX_DURATION).unwrap();
        assert!(wall < latest_time(), "a time value plus the longest duration still formats");
        assert!(corral_core::audit::rfc3339(wall).starts_with('2'));
        let slept = tokio::time::timeout(Duration::from_millis(1), tokio::time::sleep(MAX_DURATION)).await;
        assert!(slept.is_err(), "a 100-year sleep is a pending timer");
        let mut interval = tokio::time::interval_at(later, MAX_DURATION);
        let ticked = tokio::time::timeout(Duration::from_millis(1), interval.tick()).await;
        assert!(ticked.is_err(), "a 100-year ticker is a pending timer");
    }
}

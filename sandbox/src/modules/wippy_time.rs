//! The reference system's `time` module (`[compat] wippy = true` only; `wippy-compat.md`, "time").
//!
//! Time values carry a location and have calendar accessors, Go-layout parsing and formatting (`time.parse`,
//! `t:format`), `time.date`, `time.unix`, `add_date`, comparisons, `round` and `truncate`; durations are
//! signed nanoseconds (numbers are nanoseconds: `5 * time.SECOND`); locations are IANA zones (the bundled
//! tz database), fixed zones, `time.utc` and `time.localtz` (UTC on a Corral node: the node's own zone is
//! not the tenant's business); timers (`time.timer`) and tickers have `response()`. Calendar math is
//! `jiff`'s.
//!
//! The boundary: every text argument (layout, value, duration text, zone name) is at most
//! [`MAX_TEXT_BYTES`]; every number is a whole number checked before any arithmetic (all of it checked), a
//! duration is within ±100 years ([`crate::modules::time::MAX_DURATION`]), a time within jiff's range
//! (years -9999..=9999); anything else is `INVALID`, never a panic. Timers are the process's tasks, stopped
//! when it exits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use corral_core::ErrorKind;
use corral_core::chan::Chan;
use corral_core::runtime::OwnedTask;
use jiff::civil::{Date, DateTime, Time as CivilTime};
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Span, Timestamp};
use mlua::{AnyUserData, Lua, MetaMethod, MultiValue, Table, UserData, UserDataMethods, Value};

use crate::modules::channel::LuaChan;
use crate::modules::errors::{LuaError, fail, ret};
use crate::modules::time::{LuaDuration, MAX_DURATION};

/// The longest text argument (a layout, a value to parse, a duration, a zone name), in bytes.
pub const MAX_TEXT_BYTES: usize = 256;

/// The longest duration in nanoseconds, either sign (100 years).
const MAX_NANOS: i64 = MAX_DURATION.as_secs() as i64 * 1_000_000_000;

const SECOND: i64 = 1_000_000_000;

const LAYOUTS: [(&str, &str); 15] = [
    ("RFC3339", "2006-01-02T15:04:05Z07:00"),
    ("RFC3339NANO", "2006-01-02T15:04:05.999999999Z07:00"),
    ("RFC822", "02 Jan 06 15:04 MST"),
    ("RFC822Z", "02 Jan 06 15:04 -0700"),
    ("RFC850", "Monday, 02-Jan-06 15:04:05 MST"),
    ("RFC1123", "Mon, 02 Jan 2006 15:04:05 MST"),
    ("RFC1123Z", "Mon, 02 Jan 2006 15:04:05 -0700"),
    ("DATE_TIME", "2006-01-02 15:04:05"),
    ("DATE_ONLY", "2006-01-02"),
    ("TIME_ONLY", "15:04:05"),
    ("KITCHEN", "3:04PM"),
    ("STAMP", "Jan _2 15:04:05"),
    ("STAMP_MILLI", "Jan _2 15:04:05.000"),
    ("STAMP_MICRO", "Jan _2 15:04:05.000000"),
    ("STAMP_NANO", "Jan _2 15:04:05.000000000"),
];

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const WEEKDAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// A location: a name and its time zone.
#[derive(Debug)]
pub struct Loc {
    name: String,
    tz: TimeZone,
    /// Whether `name` is what `MST` writes (a fixed zone), rather than the zone's own abbreviation.
    named: bool,
}

/// A location value (`time.utc`, `time.load_location`, `time.fixed_zone`).
#[derive(Clone, Debug)]
pub struct WippyLocation(pub Arc<Loc>);

/// A time value of the reference dialect: an instant and the location it is shown in.
#[derive(Clone, Debug)]
pub struct WippyTime {
    ts: Timestamp,
    loc: Arc<Loc>,
}

/// A duration of the reference dialect: signed nanoseconds, within ±100 years when made from a script's
/// argument (`t:sub(u)` of far-apart times saturates at the `i64` range, and is refused where a bounded
/// duration is needed).
#[derive(Clone, Copy, Debug)]
pub struct WippyDuration(pub i64);

/// A one-shot timer (`time.timer(d)`): its channel receives the unix time once, unless stopped first.
pub struct WippyTimer {
    chan: Chan,
    task: Option<OwnedTask>,
    fired: Arc<AtomicBool>,
}

impl Drop for WippyTimer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

fn invalid(message: impl Into<String>) -> LuaError {
    LuaError::invalid(message)
}

fn raise(e: LuaError) -> mlua::Error {
    mlua::Error::runtime(format!("{}: {}", e.kind_name(), e.message))
}

fn utc() -> Arc<Loc> {
    Arc::new(Loc { name: "UTC".to_string(), tz: TimeZone::UTC, named: false })
}

fn local() -> Arc<Loc> {
    Arc::new(Loc { name: "Local".to_string(), tz: TimeZone::UTC, named: false })
}

/// A text argument of at most [`MAX_TEXT_BYTES`] (longer is `INVALID` without being read).
fn text_arg(value: &Value, what: &str) -> Result<String, LuaError> {
    let Value::String(s) = value else {
        return Err(invalid(format!("{what} must be a string, got {}", value.type_name())));
    };
    let bytes = s.as_bytes();
    if bytes.len() > MAX_TEXT_BYTES {
        return Err(invalid(format!("{what} is {} bytes, over the bound of {MAX_TEXT_BYTES}", bytes.len())));
    }
    std::str::from_utf8(&bytes).map(str::to_string).map_err(|_| invalid(format!("{what} is not UTF-8")))
}

/// A whole-number argument (`nil` is `default`); a fraction, NaN, an infinity or more than 2^53 is `INVALID`.
fn int_arg(value: &Value, what: &str, default: Option<i64>) -> Result<i64, LuaError> {
    match value {
        Value::Nil if default.is_some() => Ok(default.unwrap_or(0)),
        Value::Integer(n) => Ok(*n),
        Value::Number(n) if n.is_finite() && n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 => Ok(*n as i64),
        Value::Number(n) => Err(invalid(format!("{what} must be a whole number, got {n}"))),
        other => Err(invalid(format!("{what} must be a number, got {}", other.type_name()))),
    }
}

/// A duration of the reference dialect: nanoseconds (a number), Go duration text (`"1h30m"`, `"-1.5h"`,
/// `"500ms"`, units `ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), or a duration object; within ±100 years.
pub fn duration_ns(value: &Value) -> Result<i64, LuaError> {
    let ns = match value {
        Value::Integer(n) => Some(*n),
        Value::Number(n) if n.is_finite() && n.abs() <= MAX_NANOS as f64 => Some(n.trunc() as i64),
        Value::Number(n) => return Err(invalid(format!("invalid duration {n} ns: a duration is within 100 years"))),
        Value::String(_) => {
            let text = text_arg(value, "a duration")?;
            Some(parse_go_duration(&text)?)
        }
        Value::UserData(ud) => {
            if let Ok(d) = ud.borrow::<WippyDuration>() {
                Some(d.0)
            } else if let Ok(d) = ud.borrow::<LuaDuration>() {
                i64::try_from(d.0.as_nanos()).ok()
            } else {
                return Err(invalid("invalid duration: a userdata that is not a duration"));
            }
        }
        other => return Err(invalid(format!("invalid duration: a {} is not a duration", other.type_name()))),
    };
    ns.filter(|n| n.checked_abs().is_some_and(|a| a <= MAX_NANOS))
        .ok_or_else(|| invalid("invalid duration: a duration is within 100 years either way"))
}

/// A non-negative duration for a sleep or a timer.
fn wait_arg(value: &Value) -> Result<Duration, LuaError> {
    let ns = duration_ns(value)?;
    u64::try_from(ns)
        .map(Duration::from_nanos)
        .map_err(|_| invalid(format!("invalid duration {}: a wait is not negative", go_duration(ns))))
}

/// Go's duration text: an optional sign, then one or more decimal numbers each with a unit.
fn parse_go_duration(text: &str) -> Result<i64, LuaError> {
    let bad = || invalid(format!("invalid duration `{text}`"));
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(bad()),
        };
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && frac.is_empty() || frac.contains('.') || whole.len() > 20 {
            return Err(bad());
        }
        let whole: i128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
        let mut part = whole.checked_mul(scale).ok_or_else(bad)?;
        let mut unit_scale = scale;
        for c in frac.bytes().take(20) {
            unit_scale /= 10;
            part = part.checked_add(i128::from(c - b'0') * unit_scale).ok_or_else(bad)?;
        }
        total = total.checked_add(part).ok_or_else(bad)?;
        if total > i128::from(MAX_NANOS) {
            return Err(invalid(format!("invalid duration `{text}`: a duration is within 100 years")));
        }
        rest = next;
    }
    let total = if negative { -total } else { total };
    i64::try_from(total).map_err(|_| bad())
}

/// Go's text of a duration: `1h30m0s`, `1.5s`, `500ms`, `0s`.
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    let with_fraction = |whole: u64, rem: u64, width: usize| {
        if rem == 0 {
            whole.to_string()
        } else {
            let frac = format!("{rem:0width$}");
            format!("{whole}.{}", frac.trim_end_matches('0'))
        }
    };
    if u < 1_000 {
        return format!("{sign}{u}ns");
    }
    if u < 1_000_000 {
        return format!("{sign}{}µs", with_fraction(u / 1_000, u % 1_000, 3));
    }
    if u < 1_000_000_000 {
        return format!("{sign}{}ms", with_fraction(u / 1_000_000, u % 1_000_000, 6));
    }
    let secs = u / 1_000_000_000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let mut out = sign.to_string();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{}s", with_fraction(s, u % 1_000_000_000, 9)));
    out
}

impl UserData for WippyDuration {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("hours", |_, this, ()| Ok(this.0 as f64 / 3_600e9));
        methods.add_method("minutes", |_, this, ()| Ok(this.0 as f64 / 60e9));
        methods.add_method("seconds", |_, this, ()| Ok(this.0 as f64 / 1e9));
        methods.add_method("milliseconds", |_, this, ()| Ok((this.0 / 1_000_000) as f64));
        methods.add_method("microseconds", |_, this, ()| Ok((this.0 / 1_000) as f64));
        methods.add_method("nanoseconds", |_, this, ()| Ok(this.0 as f64));
        methods.add_method("string", |_, this, ()| Ok(go_duration(this.0)));
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| Ok(go_duration(this.0)));
        methods.add_meta_method(MetaMethod::Eq, |_, this, other: AnyUserData| {
            Ok(other.borrow::<WippyDuration>().is_ok_and(|o| o.0 == this.0))
        });
    }
}

impl UserData for WippyLocation {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("string", |_, this, ()| Ok(this.0.name.clone()));
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| Ok(this.0.name.clone()));
    }
}

impl WippyTime {
    fn civil(&self) -> DateTime {
        self.loc.tz.to_datetime(self.ts)
    }

    fn offset(&self) -> i32 {
        self.loc.tz.to_offset(self.ts).seconds()
    }

    fn abbreviation(&self) -> String {
        if self.loc.named {
            return self.loc.name.clone();
        }
        self.loc.tz.to_offset_info(self.ts).abbreviation().to_string()
    }

    fn at(&self, ts: Timestamp) -> WippyTime {
        WippyTime { ts, loc: self.loc.clone() }
    }
}

fn time_arg(ud: &AnyUserData) -> mlua::Result<WippyTime> {
    ud.borrow::<WippyTime>().map(|t| t.clone()).map_err(|_| raise(invalid("expected a time value")))
}

fn loc_arg(value: &Value, default: Arc<Loc>) -> Result<Arc<Loc>, LuaError> {
    match value {
        Value::Nil => Ok(default),
        Value::UserData(ud) => {
            ud.borrow::<WippyLocation>().map(|l| l.0.clone()).map_err(|_| invalid("expected a location"))
        }
        other => Err(invalid(format!("expected a location, got {}", other.type_name()))),
    }
}

/// The instant of `year-month-day hour:minute:second.nanosecond` in `loc`, normalised as Go's `time.Date`
/// does (month 13 is January of the next year, day 0 the last day of the month before, and so on).
fn normalised(parts: [i64; 7], loc: &Arc<Loc>) -> Result<Timestamp, LuaError> {
    let [year, month, day, hour, minute, second, nano] = parts;
    let out_of_range = || invalid("time.date: the date is outside years -9999 to 9999");
    let months = year.checked_mul(12).and_then(|m| m.checked_add(month.checked_sub(1)?)).ok_or_else(out_of_range)?;
    let (y, m) = (months.div_euclid(12), months.rem_euclid(12) + 1);
    let first = Date::new(i16::try_from(y).map_err(|_| out_of_range())?, m as i8, 1).map_err(|_| out_of_range())?;
    let days = Span::new().try_days(day.checked_sub(1).ok_or_else(out_of_range)?).map_err(|_| out_of_range())?;
    let date = first.checked_add(days).map_err(|_| out_of_range())?;
    let clock = i128::from(hour) * 3_600 * i128::from(SECOND)
        + i128::from(minute) * 60 * i128::from(SECOND)
        + i128::from(second) * i128::from(SECOND)
        + i128::from(nano);
    let dt = date
        .to_datetime(CivilTime::midnight())
        .checked_add(SignedDuration::try_from_nanos_i128(clock).ok_or_else(out_of_range)?)
        .map_err(|_| out_of_range())?;
    loc.tz.to_ambiguous_timestamp(dt).compatible().map_err(|_| out_of_range())
}

fn components(t: &WippyTime) -> [i64; 7] {
    let c = t.civil();
    [
        i64::from(c.year()),
        i64::from(c.month()),
        i64::from(c.day()),
        i64::from(c.hour()),
        i64::from(c.minute()),
        i64::from(c.second()),
        i64::from(c.subsec_nanosecond()),
    ]
}

/// Go's zero time, 0001-01-01T00:00:00Z.
fn zero_time() -> Timestamp {
    Date::new(1, 1, 1)
        .ok()
        .and_then(|d| d.to_datetime(CivilTime::midnight()).to_zoned(TimeZone::UTC).ok())
        .map_or(Timestamp::MIN, |z| z.timestamp())
}

fn round_to(t: &WippyTime, d: i64, round: bool) -> Result<WippyTime, LuaError> {
    if d <= 0 {
        return Ok(t.clone());
    }
    let since = t.ts.as_nanosecond() - zero_time().as_nanosecond();
    let d = i128::from(d);
    let r = since.rem_euclid(d);
    let target = if round && r + r >= d { t.ts.as_nanosecond() + (d - r) } else { t.ts.as_nanosecond() - r };
    Timestamp::from_nanosecond(target).map(|ts| t.at(ts)).map_err(|_| invalid("the rounded time is out of range"))
}

fn duration_userdata(value: &Value) -> Result<i64, LuaError> {
    match value {
        Value::UserData(_) => duration_ns(value),
        other => Err(invalid(format!("expected a duration object, got {}", other.type_name()))),
    }
}

impl UserData for WippyTime {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("add", |_, this, d: Value| {
            let ns = duration_ns(&d).map_err(raise)?;
            this.ts
                .checked_add(SignedDuration::from_nanos(ns))
                .map(|ts| this.at(ts))
                .map_err(|_| raise(invalid("t:add: the time is out of range")))
        });
        methods.add_method("sub", |_, this, other: AnyUserData| {
            let other = time_arg(&other)?;
            let ns = this.ts.duration_since(other.ts).as_nanos();
            Ok(WippyDuration(i64::try_from(ns).unwrap_or(if ns < 0 { i64::MIN } else { i64::MAX })))
        });
        methods.add_method("add_date", |_, this, (y, m, d): (Value, Value, Value)| {
            let [year, month, day, h, mi, s, ns] = components(this);
            let add = |base: i64, v: &Value, what: &str| -> Result<i64, LuaError> {
                let n = int_arg(v, what, Some(0))?;
                base.checked_add(n).ok_or_else(|| invalid(format!("t:add_date: {what} is out of range")))
            };
            let parts = [
                add(year, &y, "years").map_err(raise)?,
                add(month, &m, "months").map_err(raise)?,
                add(day, &d, "days").map_err(raise)?,
                h,
                mi,
                s,
                ns,
            ];
            normalised(parts, &this.loc).map(|ts| this.at(ts)).map_err(raise)
        });
        methods.add_method("before", |_, this, o: AnyUserData| Ok(this.ts < time_arg(&o)?.ts));
        methods.add_method("after", |_, this, o: AnyUserData| Ok(this.ts > time_arg(&o)?.ts));
        methods.add_method("equal", |_, this, o: AnyUserData| Ok(this.ts == time_arg(&o)?.ts));
        methods.add_method("compare", |_, this, o: AnyUserData| Ok(this.ts.cmp(&time_arg(&o)?.ts) as i8));
        methods.add_meta_method(MetaMethod::Eq, |_, this, o: AnyUserData| {
            Ok(o.borrow::<WippyTime>().is_ok_and(|o| o.ts == this.ts))
        });
        methods.add_meta_method(MetaMethod::Lt, |_, this, o: AnyUserData| Ok(this.ts < time_arg(&o)?.ts));
        methods.add_meta_method(MetaMethod::Le, |_, this, o: AnyUserData| Ok(this.ts <= time_arg(&o)?.ts));
        methods.add_method("format", |_, this, layout: Value| {
            let layout = text_arg(&layout, "the layout").map_err(raise)?;
            Ok(format(this, &layout))
        });
        methods.add_method("format_rfc3339", |_, this, ()| Ok(format(this, LAYOUTS[0].1)));
        methods.add_method("unix", |_, this, ()| Ok(this.ts.as_second() as f64));
        methods.add_method("unix_milli", |_, this, ()| Ok(this.ts.as_millisecond() as f64));
        methods.add_method("unix_micro", |_, this, ()| Ok(this.ts.as_microsecond() as f64));
        methods.add_method("unix_nano", |_, this, ()| Ok(this.ts.as_nanosecond() as f64));
        methods.add_method("date", |_, this, ()| {
            let c = this.civil();
            Ok((c.year(), c.month(), c.day()))
        });
        methods.add_method("clock", |_, this, ()| {
            let c = this.civil();
            Ok((c.hour(), c.minute(), c.second()))
        });
        methods.add_method("year", |_, this, ()| Ok(this.civil().year()));
        methods.add_method("month", |_, this, ()| Ok(this.civil().month()));
        methods.add_method("day", |_, this, ()| Ok(this.civil().day()));
        methods.add_method("hour", |_, this, ()| Ok(this.civil().hour()));
        methods.add_method("minute", |_, this, ()| Ok(this.civil().minute()));
        methods.add_method("second", |_, this, ()| Ok(this.civil().second()));
        methods.add_method("nanosecond", |_, this, ()| Ok(this.civil().subsec_nanosecond()));
        methods.add_method("weekday", |_, this, ()| Ok(this.civil().weekday().to_sunday_zero_offset()));
        methods.add_method("year_day", |_, this, ()| Ok(this.civil().day_of_year()));
        methods.add_method("is_zero", |_, this, ()| Ok(this.ts == zero_time()));
        methods.add_method("utc", |_, this, ()| Ok(WippyTime { ts: this.ts, loc: utc() }));
        methods.add_method("in_local", |_, this, ()| Ok(WippyTime { ts: this.ts, loc: local() }));
        methods.add_method("in_location", |_, this, loc: Value| {
            let loc = loc_arg(&loc, utc()).map_err(raise)?;
            Ok(WippyTime { ts: this.ts, loc })
        });
        methods.add_method("location", |_, this, ()| Ok(WippyLocation(this.loc.clone())));
        methods.add_method("round", |_, this, d: Value| {
            round_to(this, duration_userdata(&d).map_err(raise)?, true).map_err(raise)
        });
        methods.add_method("truncate", |_, this, d: Value| {
            round_to(this, duration_userdata(&d).map_err(raise)?, false).map_err(raise)
        });
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(format(this, "2006-01-02 15:04:05.999999999 -0700 MST"))
        });
    }
}

/// A piece of a Go layout.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok<'a> {
    Lit(&'a str),
    Year4,
    Year2,
    MonthLong,
    MonthShort,
    MonthNum,
    MonthNum2,
    WeekLong,
    WeekShort,
    Day,
    Day2,
    DayUnder,
    YDay3,
    YDayUnder,
    Hour24,
    Hour12,
    Hour12Pad,
    Min,
    Min2,
    Sec,
    Sec2,
    Pm {
        upper: bool,
    },
    TzName,
    /// `Z07:00` and its kin: `z` writes `Z` for UTC; `minutes`, `seconds` and `colon` the parts.
    Iso {
        z: bool,
        colon: bool,
        minutes: bool,
        seconds: bool,
    },
    /// `.000` (exactly `digits`) or `.999` (at most, trailing zeros dropped); `sep` is `.` or `,`.
    Frac {
        digits: usize,
        nines: bool,
        sep: char,
    },
}

/// Splits a Go layout into its pieces, as Go's `nextStdChunk` reads them.
fn tokens(layout: &str) -> Vec<Tok<'_>> {
    let b = layout.as_bytes();
    let mut out = Vec::new();
    let mut lit = 0;
    let mut i = 0;
    while i < b.len() {
        let rest = &layout[i..];
        let iso = |z: bool| -> Option<(Tok<'static>, usize)> {
            let body = &rest[1..];
            let forms = [
                ("070000", false, true, true, 7),
                ("07:00:00", true, true, true, 9),
                ("0700", false, true, false, 5),
                ("07:00", true, true, false, 6),
                ("07", false, false, false, 3),
            ];
            forms
                .iter()
                .find(|f| body.starts_with(f.0))
                .map(|f| (Tok::Iso { z, colon: f.1, minutes: f.2, seconds: f.3 }, f.4))
        };
        let Some(&here) = b.get(i) else { break };
        let found: Option<(Tok, usize)> = match here {
            b'J' if rest.starts_with("January") => Some((Tok::MonthLong, 7)),
            b'J' if rest.starts_with("Jan") => Some((Tok::MonthShort, 3)),
            b'M' if rest.starts_with("Monday") => Some((Tok::WeekLong, 6)),
            b'M' if rest.starts_with("Mon") => Some((Tok::WeekShort, 3)),
            b'M' if rest.starts_with("MST") => Some((Tok::TzName, 3)),
            b'0' if rest.starts_with("002") => Some((Tok::YDay3, 3)),
            b'0' => match b.get(i + 1) {
                Some(b'1') => Some((Tok::MonthNum2, 2)),
                Some(b'2') => Some((Tok::Day2, 2)),
                Some(b'3') => Some((Tok::Hour12Pad, 2)),
                Some(b'4') => Some((Tok::Min2, 2)),
                Some(b'5') => Some((Tok::Sec2, 2)),
                Some(b'6') => Some((Tok::Year2, 2)),
                _ => None,
            },
            b'1' if rest.starts_with("15") => Some((Tok::Hour24, 2)),
            b'1' => Some((Tok::MonthNum, 1)),
            b'2' if rest.starts_with("2006") => Some((Tok::Year4, 4)),
            b'2' => Some((Tok::Day, 1)),
            b'_' if rest.starts_with("__2") => Some((Tok::YDayUnder, 3)),
            b'_' if rest.starts_with("_2") && !rest.starts_with("_2006") => Some((Tok::DayUnder, 2)),
            b'3' => Some((Tok::Hour12, 1)),
            b'4' => Some((Tok::Min, 1)),
            b'5' => Some((Tok::Sec, 1)),
            b'P' if rest.starts_with("PM") => Some((Tok::Pm { upper: true }, 2)),
            b'p' if rest.starts_with("pm") => Some((Tok::Pm { upper: false }, 2)),
            b'-' => iso(false),
            b'Z' => iso(true),
            b'.' | b',' if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let c = b.get(i + 1).copied().unwrap_or(b'0');
                let mut j = i + 1;
                while b.get(j) == Some(&c) {
                    j += 1;
                }
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    Some((Tok::Frac { digits: j - i - 1, nines: c == b'9', sep: here as char }, j - i))
                }
            }
            _ => None,
        };
        match found {
            Some((tok, len)) => {
                if lit < i {
                    out.push(Tok::Lit(&layout[lit..i]));
                }
                out.push(tok);
                i += len;
                lit = i;
            }
            // Not a piece: step over one character (a layout may hold any UTF-8).
            None => i += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    if lit < b.len() {
        out.push(Tok::Lit(&layout[lit..]));
    }
    out
}

fn push_offset(out: &mut String, offset: i32, colon: bool, minutes: bool, seconds: bool) {
    let sign = if offset < 0 { '-' } else { '+' };
    let a = offset.unsigned_abs();
    out.push(sign);
    out.push_str(&format!("{:02}", a / 3600));
    if minutes {
        if colon {
            out.push(':');
        }
        out.push_str(&format!("{:02}", (a / 60) % 60));
    }
    if seconds {
        if colon {
            out.push(':');
        }
        out.push_str(&format!("{:02}", a % 60));
    }
}

/// `t` written with a Go layout (at most [`MAX_TEXT_BYTES`] long, so the text is bounded too).
fn format(t: &WippyTime, layout: &str) -> String {
    let c = t.civil();
    let offset = t.offset();
    let mut out = String::new();
    let hour12 = match c.hour() % 12 {
        0 => 12,
        h => h,
    };
    let month = MONTHS.get((c.month() as usize).saturating_sub(1)).copied().unwrap_or("");
    let weekday = WEEKDAYS.get(c.weekday().to_sunday_zero_offset() as usize).copied().unwrap_or("");
    for tok in tokens(layout) {
        match tok {
            Tok::Lit(s) => out.push_str(s),
            Tok::Year4 => out.push_str(&format!("{:04}", c.year())),
            Tok::Year2 => out.push_str(&format!("{:02}", (c.year() % 100).abs())),
            Tok::MonthLong => out.push_str(month),
            Tok::MonthShort => out.push_str(month.get(..3).unwrap_or(month)),
            Tok::MonthNum => out.push_str(&c.month().to_string()),
            Tok::MonthNum2 => out.push_str(&format!("{:02}", c.month())),
            Tok::WeekLong => out.push_str(weekday),
            Tok::WeekShort => out.push_str(weekday.get(..3).unwrap_or(weekday)),
            Tok::Day => out.push_str(&c.day().to_string()),
            Tok::Day2 => out.push_str(&format!("{:02}", c.day())),
            Tok::DayUnder => out.push_str(&format!("{:>2}", c.day())),
            Tok::YDay3 => out.push_str(&format!("{:03}", c.day_of_year())),
            Tok::YDayUnder => out.push_str(&format!("{:>3}", c.day_of_year())),
            Tok::Hour24 => out.push_str(&format!("{:02}", c.hour())),
            Tok::Hour12 => out.push_str(&hour12.to_string()),
            Tok::Hour12Pad => out.push_str(&format!("{hour12:02}")),
            Tok::Min => out.push_str(&c.minute().to_string()),
            Tok::Min2 => out.push_str(&format!("{:02}", c.minute())),
            Tok::Sec => out.push_str(&c.second().to_string()),
            Tok::Sec2 => out.push_str(&format!("{:02}", c.second())),
            Tok::Pm { upper } => {
                let pm = if c.hour() >= 12 { "PM" } else { "AM" };
                out.push_str(&if upper { pm.to_string() } else { pm.to_lowercase() });
            }
            Tok::TzName => {
                let name = t.abbreviation();
                if name.is_empty() {
                    push_offset(&mut out, offset, false, true, false);
                } else {
                    out.push_str(&name);
                }
            }
            Tok::Iso { z, colon, minutes, seconds } => {
                if z && offset == 0 {
                    out.push('Z');
                } else {
                    push_offset(&mut out, offset, colon, minutes, seconds);
                }
            }
            Tok::Frac { digits, nines, sep } => {
                let all = format!("{:09}", c.subsec_nanosecond());
                let kept = &all[..digits.min(9)];
                let kept = if nines { kept.trim_end_matches('0') } else { kept };
                if !kept.is_empty() {
                    out.push(sep);
                    out.push_str(kept);
                }
            }
        }
    }
    out
}

/// What a parse found.
#[derive(Default)]
struct Found {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    yday: Option<i64>,
    hour: i64,
    minute: i64,
    second: i64,
    nano: i64,
    pm: Option<bool>,
    offset: Option<i32>,
    zulu: bool,
    zone: Option<String>,
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl Cursor<'_> {
    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    /// `min..=max` ASCII digits.
    fn digits(&mut self, min: usize, max: usize) -> Option<i64> {
        let run = self.rest().bytes().take(max).take_while(u8::is_ascii_digit).count();
        if run < min {
            return None;
        }
        let n = self.rest()[..run].parse().ok()?;
        self.at += run;
        Some(n)
    }

    fn name(&mut self, names: &[&str], short: bool) -> Option<i64> {
        for (i, name) in names.iter().enumerate() {
            let name = if short { &name[..3] } else { name };
            let rest = self.rest();
            if rest.len() >= name.len()
                && rest.is_char_boundary(name.len())
                && rest[..name.len()].eq_ignore_ascii_case(name)
            {
                self.at += name.len();
                return Some(i as i64);
            }
        }
        None
    }

    fn fraction(&mut self, max: Option<usize>) -> Option<i64> {
        let run = self.rest().bytes().take_while(u8::is_ascii_digit).count();
        if run == 0 || max.is_some_and(|m| run != m) {
            return None;
        }
        let kept = &self.rest()[..run.min(9)];
        let nano = format!("{kept:0<9}").parse().ok()?;
        self.at += run;
        Some(nano)
    }
}

fn parse(layout: &str, value: &str, default_loc: &Arc<Loc>) -> Result<WippyTime, LuaError> {
    let fail = |what: &str| invalid(format!("time.parse: cannot parse `{value}` as `{layout}`: {what}"));
    let toks = tokens(layout);
    let mut cur = Cursor { text: value, at: 0 };
    let mut f = Found::default();
    for (n, tok) in toks.iter().enumerate() {
        let bad = |what: &str| fail(&format!("bad {what}"));
        match *tok {
            Tok::Lit(s) => {
                if !cur.rest().starts_with(s) {
                    return Err(fail(&format!("expected `{s}`")));
                }
                cur.at += s.len();
            }
            Tok::Year4 => f.year = Some(cur.digits(4, 4).ok_or_else(|| bad("year"))?),
            Tok::Year2 => {
                let y = cur.digits(2, 2).ok_or_else(|| bad("year"))?;
                f.year = Some(if y >= 69 { 1900 + y } else { 2000 + y });
            }
            Tok::MonthLong => f.month = Some(cur.name(&MONTHS, false).ok_or_else(|| bad("month"))? + 1),
            Tok::MonthShort => f.month = Some(cur.name(&MONTHS, true).ok_or_else(|| bad("month"))? + 1),
            Tok::MonthNum => f.month = Some(cur.digits(1, 2).ok_or_else(|| bad("month"))?),
            Tok::MonthNum2 => f.month = Some(cur.digits(2, 2).ok_or_else(|| bad("month"))?),
            Tok::WeekLong => {
                cur.name(&WEEKDAYS, false).ok_or_else(|| bad("weekday"))?;
            }
            Tok::WeekShort => {
                cur.name(&WEEKDAYS, true).ok_or_else(|| bad("weekday"))?;
            }
            Tok::Day | Tok::DayUnder => {
                if *tok == Tok::DayUnder && cur.rest().starts_with(' ') {
                    cur.at += 1;
                }
                f.day = Some(cur.digits(1, 2).ok_or_else(|| bad("day"))?);
            }
            Tok::Day2 => f.day = Some(cur.digits(2, 2).ok_or_else(|| bad("day"))?),
            Tok::YDay3 => f.yday = Some(cur.digits(3, 3).ok_or_else(|| bad("day of year"))?),
            Tok::YDayUnder => {
                while cur.rest().starts_with(' ') {
                    cur.at += 1;
                }
                f.yday = Some(cur.digits(1, 3).ok_or_else(|| bad("day of year"))?);
            }
            Tok::Hour24 => f.hour = cur.digits(1, 2).filter(|h| *h < 24).ok_or_else(|| bad("hour"))?,
            Tok::Hour12 | Tok::Hour12Pad => {
                let min = if *tok == Tok::Hour12Pad { 2 } else { 1 };
                f.hour = cur.digits(min, 2).filter(|h| *h <= 12).ok_or_else(|| bad("hour"))?;
            }
            Tok::Min | Tok::Min2 => {
                let min = if *tok == Tok::Min2 { 2 } else { 1 };
                f.minute = cur.digits(min, 2).filter(|m| *m < 60).ok_or_else(|| bad("minute"))?;
            }
            Tok::Sec | Tok::Sec2 => {
                let min = if *tok == Tok::Sec2 { 2 } else { 1 };
                f.second = cur.digits(min, 2).filter(|s| *s < 60).ok_or_else(|| bad("second"))?;
                // Go reads a fraction after the seconds even when the layout has none.
                let next_is_frac = matches!(toks.get(n + 1), Some(Tok::Frac { .. }));
                let rest = cur.rest().as_bytes();
                if !next_is_frac
                    && matches!(rest.first(), Some(b'.' | b','))
                    && rest.get(1).is_some_and(u8::is_ascii_digit)
                {
                    cur.at += 1;
                    f.nano = cur.fraction(None).ok_or_else(|| bad("fraction"))?;
                }
            }
            Tok::Pm { .. } => {
                let rest = cur.rest();
                let word = rest.get(..2).ok_or_else(|| bad("AM/PM"))?;
                f.pm = Some(match word.to_ascii_uppercase().as_str() {
                    "AM" => false,
                    "PM" => true,
                    _ => return Err(bad("AM/PM")),
                });
                cur.at += 2;
            }
            Tok::TzName => {
                let run = cur.rest().bytes().take(5).take_while(u8::is_ascii_uppercase).count();
                if run < 3 {
                    return Err(bad("zone name"));
                }
                f.zone = Some(cur.rest()[..run].to_string());
                cur.at += run;
            }
            Tok::Iso { z, minutes, seconds, colon } => {
                if z && cur.rest().starts_with('Z') {
                    cur.at += 1;
                    f.offset = Some(0);
                    f.zulu = true;
                    continue;
                }
                let sign = match cur.rest().as_bytes().first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err(bad("zone offset")),
                };
                cur.at += 1;
                let mut secs = cur.digits(2, 2).ok_or_else(|| bad("zone offset"))? * 3600;
                for (present, scale) in [(minutes, 60), (seconds, 1)] {
                    if !present {
                        continue;
                    }
                    if colon {
                        if !cur.rest().starts_with(':') {
                            return Err(bad("zone offset"));
                        }
                        cur.at += 1;
                    }
                    secs += cur.digits(2, 2).filter(|v| *v < 60).ok_or_else(|| bad("zone offset"))? * scale;
                }
                f.offset = Some(i32::try_from(sign * secs).map_err(|_| bad("zone offset"))?);
            }
            Tok::Frac { digits, nines, sep } => {
                if cur.rest().starts_with(sep) {
                    cur.at += 1;
                    f.nano = cur.fraction(if nines { None } else { Some(digits) }).ok_or_else(|| bad("fraction"))?;
                } else if !nines {
                    return Err(bad("fraction"));
                }
            }
        }
    }
    if !cur.rest().is_empty() {
        return Err(fail(&format!("extra text `{}`", cur.rest())));
    }
    let mut hour = f.hour;
    match f.pm {
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    let year = f.year.unwrap_or(0);
    let (month, day) = match f.yday {
        Some(yday) => {
            let first =
                Date::new(i16::try_from(year).map_err(|_| fail("bad year"))?, 1, 1).map_err(|_| fail("bad year"))?;
            let date = first
                .checked_add(Span::new().try_days(yday - 1).map_err(|_| fail("bad day of year"))?)
                .ok()
                .filter(|d| d.year() == first.year() && yday >= 1)
                .ok_or_else(|| fail("day of year out of range"))?;
            (i64::from(date.month()), i64::from(date.day()))
        }
        None => (f.month.unwrap_or(1), f.day.unwrap_or(1)),
    };
    let dt = DateTime::new(
        i16::try_from(year).map_err(|_| fail("bad year"))?,
        i8::try_from(month).map_err(|_| fail("month out of range"))?,
        i8::try_from(day).map_err(|_| fail("day out of range"))?,
        hour as i8,
        f.minute as i8,
        f.second as i8,
        f.nano as i32,
    )
    .map_err(|e| fail(&format!("{e}")))?;
    if let Some(offset) = f.offset {
        let off = Offset::from_seconds(offset).map_err(|_| fail("zone offset out of range"))?;
        let ts = off.to_timestamp(dt).map_err(|_| fail("out of range"))?;
        let loc = if f.zulu {
            utc()
        } else if default_loc.tz.to_offset(ts).seconds() == offset {
            default_loc.clone()
        } else {
            Arc::new(Loc { name: String::new(), tz: TimeZone::fixed(off), named: true })
        };
        return Ok(WippyTime { ts, loc });
    }
    if let Some(zone) = f.zone {
        if zone == "UTC" || zone == "GMT" {
            let ts = TimeZone::UTC.to_timestamp(dt).map_err(|_| fail("out of range"))?;
            return Ok(WippyTime { ts, loc: utc() });
        }
        if let Ok(ts) = default_loc.tz.to_ambiguous_timestamp(dt).compatible() {
            let candidate = WippyTime { ts, loc: default_loc.clone() };
            if candidate.abbreviation() == zone {
                return Ok(candidate);
            }
        }
        // As Go does: an abbreviation the location does not know is a zone of that name at offset zero.
        let ts = TimeZone::UTC.to_timestamp(dt).map_err(|_| fail("out of range"))?;
        return Ok(WippyTime { ts, loc: Arc::new(Loc { name: zone, tz: TimeZone::UTC, named: true }) });
    }
    let ts = default_loc.tz.to_ambiguous_timestamp(dt).compatible().map_err(|_| fail("out of range"))?;
    Ok(WippyTime { ts, loc: default_loc.clone() })
}

/// A zone name jiff may look up: letters, digits and `/_+-`, no `..` (never a path of the host's).
fn zone_name_ok(name: &str) -> bool {
    !name.contains("..") && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b))
}

fn load_location(name: &Value) -> Result<WippyLocation, LuaError> {
    let name = text_arg(name, "the location name")?;
    match name.as_str() {
        "" => Err(invalid("time.load_location: the name is empty")),
        "UTC" => Ok(WippyLocation(utc())),
        "Local" => Ok(WippyLocation(local())),
        _ if !zone_name_ok(&name) => Err(invalid(format!("time.load_location: `{name}` is not a zone name"))),
        _ => TimeZone::get(&name)
            .map(|tz| WippyLocation(Arc::new(Loc { name: name.clone(), tz, named: false })))
            .map_err(|_| LuaError::new(ErrorKind::NotFound, format!("time.load_location: unknown time zone `{name}`"))),
    }
}

fn fixed_zone(name: &Value, offset: &Value) -> Result<WippyLocation, LuaError> {
    let name = text_arg(name, "the zone name")?;
    let seconds = int_arg(offset, "the offset", None)?;
    let offset = i32::try_from(seconds)
        .ok()
        .and_then(|s| Offset::from_seconds(s).ok())
        .ok_or_else(|| invalid(format!("time.fixed_zone: offset {seconds} s is beyond ±25:59:59")))?;
    Ok(WippyLocation(Arc::new(Loc { name, tz: TimeZone::fixed(offset), named: true })))
}

fn date(args: &MultiValue) -> Result<WippyTime, LuaError> {
    let names = ["year", "month", "day", "hour", "minute", "second", "nanosecond"];
    let mut parts = [0i64; 7];
    for (i, (what, part)) in names.iter().zip(parts.iter_mut()).enumerate() {
        let v = args.get(i).cloned().unwrap_or(Value::Nil);
        *part = int_arg(&v, &format!("time.date: {what}"), if i < 3 { None } else { Some(0) })?;
    }
    let loc = loc_arg(args.get(7).unwrap_or(&Value::Nil), local())?;
    normalised(parts, &loc).map(|ts| WippyTime { ts, loc })
}

fn unix(sec: &Value, nsec: &Value) -> Result<WippyTime, LuaError> {
    let sec = int_arg(sec, "time.unix: seconds", None)?;
    let nsec = int_arg(nsec, "time.unix: nanoseconds", Some(0))?;
    let total = i128::from(sec) * i128::from(SECOND) + i128::from(nsec);
    Timestamp::from_nanosecond(total)
        .map(|ts| WippyTime { ts, loc: local() })
        .map_err(|_| invalid(format!("time.unix: {sec} s is outside years -9999 to 9999")))
}

impl UserData for WippyTimer {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("response", |_, this, ()| Ok(LuaChan(this.chan.clone())));
        methods.add_method("channel", |_, this, ()| Ok(LuaChan(this.chan.clone())));
        methods.add_method_mut("stop", |_, this, ()| {
            let was_active = this.task.is_some() && !this.fired.load(Ordering::SeqCst);
            if let Some(task) = this.task.take() {
                task.abort();
            }
            Ok(was_active)
        });
        methods.add_method_mut("reset", |lua, this, d: Value| {
            let wait = wait_arg(&d).map_err(raise)?;
            let was_active = this.task.is_some() && !this.fired.load(Ordering::SeqCst);
            if let Some(task) = this.task.take() {
                task.abort();
            }
            this.fired = Arc::new(AtomicBool::new(false));
            this.task = Some(arm(lua, &this.chan, wait, this.fired.clone()).map_err(raise)?);
            Ok(was_active)
        });
    }
}

fn arm(lua: &Lua, chan: &Chan, wait: Duration, fired: Arc<AtomicBool>) -> Result<OwnedTask, LuaError> {
    let ctx = crate::procs::current(lua)?;
    let sender = chan.clone();
    let timer = async move {
        tokio::time::sleep(wait).await;
        fired.store(true, Ordering::SeqCst);
        let _ = sender.try_send(crate::modules::time::now_item());
    };
    Ok(ctx.runtime.spawn_owned(&ctx.process, timer)?)
}

fn positive(value: &Value, what: &str) -> Result<Duration, LuaError> {
    let wait = wait_arg(value)?;
    if wait.is_zero() {
        return Err(invalid(format!("{what}: the duration must be above zero")));
    }
    Ok(wait)
}

/// The reference dialect's `time` module table.
pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let time = lua.create_table()?;
    for (name, ns) in [
        ("NANOSECOND", 1),
        ("MICROSECOND", 1_000),
        ("MILLISECOND", 1_000_000),
        ("SECOND", SECOND),
        ("MINUTE", 60 * SECOND),
        ("HOUR", 3_600 * SECOND),
    ] {
        time.set(name, ns as f64)?;
    }
    for (name, layout) in LAYOUTS {
        time.set(name, layout)?;
    }
    for (i, month) in MONTHS.iter().enumerate() {
        time.set(month.to_uppercase(), i + 1)?;
    }
    for (i, day) in WEEKDAYS.iter().enumerate() {
        time.set(day.to_uppercase(), i)?;
    }
    time.set("utc", WippyLocation(utc()))?;
    time.set("localtz", WippyLocation(local()))?;
    time.set("now", lua.create_function(|_, ()| Ok(WippyTime { ts: Timestamp::now(), loc: local() }))?)?;
    time.set("date", lua.create_function(|_, args: MultiValue| date(&args).map_err(raise))?)?;
    time.set("unix", lua.create_function(|_, (s, n): (Value, Value)| unix(&s, &n).map_err(raise))?)?;
    time.set(
        "parse",
        lua.create_function(|lua, (layout, value, loc): (Value, Value, Value)| {
            let result = (|| {
                let layout = text_arg(&layout, "time.parse: the layout")?;
                let value = text_arg(&value, "time.parse: the value")?;
                let loc = loc_arg(&loc, utc())?;
                parse(&layout, &value, &loc)
            })();
            ret(lua, result)
        })?,
    )?;
    time.set("parse_duration", lua.create_function(|lua, d: Value| ret(lua, duration_ns(&d).map(WippyDuration)))?)?;
    time.set("load_location", lua.create_function(|lua, name: Value| ret(lua, load_location(&name)))?)?;
    time.set(
        "fixed_zone",
        lua.create_function(|_, (name, offset): (Value, Value)| fixed_zone(&name, &offset).map_err(raise))?,
    )?;
    time.set(
        "sleep",
        crate::block::function(lua, |lua, args| {
            let d = args.into_iter().next().unwrap_or(Value::Nil);
            match wait_arg(&d) {
                Ok(wait) => {
                    Ok(crate::block::Step::wait(tokio::time::sleep(wait), |lua, ()| ret(lua, Ok::<_, LuaError>(true))))
                }
                Err(e) => fail(lua, e).map(crate::block::Step::Ready),
            }
        })?,
    )?;
    time.set(
        "after",
        lua.create_function(|lua, d: Value| {
            let wait = wait_arg(&d).map_err(raise)?;
            let chan = Chan::new(1);
            arm(lua, &chan, wait, Arc::new(AtomicBool::new(false))).map_err(raise)?;
            Ok(LuaChan(chan))
        })?,
    )?;
    time.set(
        "timer",
        lua.create_function(|lua, d: Value| {
            let result = (|| {
                let wait = positive(&d, "time.timer")?;
                let chan = Chan::new(1);
                let fired = Arc::new(AtomicBool::new(false));
                let task = arm(lua, &chan, wait, fired.clone())?;
                Ok::<_, LuaError>(WippyTimer { chan, task: Some(task), fired })
            })();
            ret(lua, result)
        })?,
    )?;
    time.set(
        "ticker",
        lua.create_function(|lua, d: Value| {
            let result = positive(&d, "time.ticker").and_then(|period| {
                if period < crate::modules::time::MIN_PERIOD {
                    return Err(invalid("time.ticker: a period is at least 1ms"));
                }
                Ok(period)
            });
            match result {
                Ok(period) => {
                    let ticker = crate::modules::time::start_ticker(lua, period)?;
                    Ok(MultiValue::from_iter([Value::UserData(lua.create_userdata(ticker)?)]))
                }
                Err(e) => fail(lua, e),
            }
        })?,
    )?;
    crate::vm::freeze_all(lua, Value::Table(time.clone()))?;
    Ok(time)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use jiff::Timestamp;

    use super::{WippyTime, format, go_duration, parse, parse_go_duration, tokens, utc};

    #[test]
    fn go_durations_read_and_write() {
        assert_eq!(parse_go_duration("1h30m45s500ms").ok(), Some(5_445_500_000_000));
        assert_eq!(parse_go_duration("-1.5h").ok(), Some(-5_400_000_000_000));
        assert_eq!(parse_go_duration("0").ok(), Some(0));
        assert_eq!(parse_go_duration("3µs").ok(), Some(3_000));
        assert!(parse_go_duration("1d").is_err());
        assert!(parse_go_duration("").is_err());
        assert!(parse_go_duration("999999999999999999999h").is_err());
        assert!(parse_go_duration("1000000h").is_err(), "past 100 years");
        assert_eq!(go_duration(5_445_500_000_000), "1h30m45.5s");
        assert_eq!(go_duration(1_500_000), "1.5ms");
        assert_eq!(go_duration(-2_000_000_000), "-2s");
        assert_eq!(go_duration(0), "0s");
    }

    #[test]
    fn layouts_format_and_parse_back() {
        let t = WippyTime { ts: Timestamp::from_second(1_735_484_645).unwrap(), loc: utc() };
        assert_eq!(format(&t, "2006-01-02T15:04:05Z07:00"), "2024-12-29T15:04:05Z");
        assert_eq!(format(&t, "Mon Jan 2, 2006"), "Sun Dec 29, 2024");
        assert_eq!(format(&t, "3:04PM"), "3:04PM");
        assert_eq!(format(&t, "Jan _2 15:04:05.000"), "Dec 29 15:04:05.000");
        let back = parse("2006-01-02T15:04:05Z07:00", "2024-12-29T15:04:05Z", &utc()).ok().unwrap();
        assert_eq!(back.ts, t.ts);
        let est = parse("2006-01-02 15:04:05 -0700", "2024-12-29 10:04:05 -0500", &utc()).ok().unwrap();
        assert_eq!(est.ts, t.ts);
        assert_eq!(tokens("_2006").len(), 2, "`_2006` is `_` and the year");
        let far = parse("2006-01-02 15:04:05 -07:00:00", "2024-12-29 16:34:10 +01:30:05", &utc()).ok().unwrap();
        assert_eq!(far.ts, t.ts, "offsets with seconds");
        let hours = parse("2006-01-02 15:04:05 -07", "2024-12-29 12:04:05 -03", &utc()).ok().unwrap();
        assert_eq!(hours.ts, t.ts, "offsets of hours only");
        assert_eq!(format(&hours, "Z07:00 -0700 Z07"), "-03:00 -0300 -03");
        assert_eq!(format(&t, "Z07:00 -0700 Z07"), "Z +0000 Z");
        assert_eq!(format(&t, "2006年01月02日"), "2024年12月29日", "any UTF-8 around the pieces");
        assert!(parse("2006-01-02", "2024-02-30", &Arc::clone(&utc())).is_err(), "no February 30th");
    }
}

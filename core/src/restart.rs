//! The one restart engine: how often a failed piece may come back, shared by the node's services
//! ([`crate::service`], `spec/node.md`, "Services") and the `supervisor` module's children (`spec/models.md`,
//! "supervisor"; OTP's restart intensity).
//!
//! - [`Restart`] is the services' backoff (`lifecycle.restart`): the delay before restart `n` grows
//!   exponentially from `initial_delay` up to `max_delay`, moved by `jitter`; `max_attempts` failures in a row
//!   give up.
//! - [`Intensity`] is OTP's restart intensity: more than `max` restarts within a sliding `period` give up
//!   (`supervisor.erl`'s `add_restart`: restarts at least `now - period` old are kept, then `now` is added;
//!   more than `max` of them is too many). It reads tokio's clock, so paused time drives it in tests.
//! - [`Restarts`] is the engine both use: it counts failures in a row (a stable run starts a new series),
//!   applies the backoff and the intensity it was built with, and answers each failure with a [`Verdict`].
//!
//! Every number here is total: huge attempt counts, long periods and instants near the clock's origin never
//! overflow or panic.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::Error;

/// The `restart:` block of a service: exponential backoff with jitter.
#[derive(Clone, Debug, PartialEq)]
pub struct Restart {
    /// `initial_delay`: the delay before the first restart; default 1 s.
    pub initial_delay: Duration,
    /// `max_delay`: the longest delay; default 90 s.
    pub max_delay: Duration,
    /// `backoff_factor`: each restart's delay is the previous one times this; default 2.0, from 1.0 to 100.
    pub backoff_factor: f64,
    /// `jitter`: each delay is moved by up to this fraction of itself, either way; default 0.1, from 0 to 1.
    pub jitter: f64,
    /// `max_attempts`: restarts in a row (without a stable run between them) before the service is given
    /// up; default 0, never.
    pub max_attempts: u64,
}

impl Default for Restart {
    fn default() -> Restart {
        Restart {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(90),
            backoff_factor: 2.0,
            jitter: 0.1,
            max_attempts: 0,
        }
    }
}

impl Restart {
    /// The delay before restart number `attempt` (1-based), before jitter:
    /// `initial_delay * backoff_factor^(attempt - 1)`, at most `max_delay`. Total for any `attempt`.
    pub fn delay(&self, attempt: u64) -> Duration {
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let seconds = self.initial_delay.as_secs_f64() * self.backoff_factor.powi(exponent);
        Duration::try_from_secs_f64(seconds).map_or(self.max_delay, |d| d.min(self.max_delay))
    }

    /// [`Restart::delay`] moved by `jitter`: `unit` in `[0, 1)` picks the point in
    /// `[delay * (1 - jitter), delay * (1 + jitter)]`, still at most `max_delay`.
    pub fn jittered(&self, attempt: u64, unit: f64) -> Duration {
        let delay = self.delay(attempt);
        let factor = 1.0 + self.jitter * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        Duration::try_from_secs_f64(delay.as_secs_f64() * factor).map_or(delay, |d| d.min(self.max_delay))
    }
}

/// OTP's restart intensity: at most `max` restarts within any `period`.
#[derive(Clone, Debug)]
pub struct Intensity {
    max: u32,
    period: Duration,
    /// The instants of the restarts still inside the window, oldest first; at most `max + 1` of them.
    restarts: VecDeque<Instant>,
}

impl Intensity {
    /// The largest `max` an intensity may have (1000): the window it keeps is at most this long.
    pub const MAX_RESTARTS: u32 = 1000;

    /// The longest `period` (100 years, as any duration a script gives).
    pub const MAX_PERIOD: Duration = Duration::from_secs(3_155_760_000);

    /// At most `max` restarts within `period`. Errors: `INVALID` naming the value when `max` is over
    /// [`Intensity::MAX_RESTARTS`] or `period` is zero or over [`Intensity::MAX_PERIOD`].
    pub fn new(max: u32, period: Duration) -> Result<Intensity, Error> {
        if max > Intensity::MAX_RESTARTS {
            return Err(Error::Invalid(format!(
                "restart intensity {max} is over the bound of {}",
                Intensity::MAX_RESTARTS
            )));
        }
        if period.is_zero() || period > Intensity::MAX_PERIOD {
            return Err(Error::Invalid(format!(
                "restart period {} must be more than 0 and at most 100 years",
                humantime::format_duration(period)
            )));
        }
        Ok(Intensity { max, period, restarts: VecDeque::new() })
    }

    /// The most restarts allowed within a period.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Records a restart at `now`: `true` when it is allowed (at most `max` restarts, this one included,
    /// happened within `period` up to `now`), `false` when it is one too many (OTP's `add_restart`). Restarts
    /// older than `now - period` are forgotten; instants given out of order count as `now`.
    pub fn allow_at(&mut self, now: Instant) -> bool {
        let now = self.restarts.back().map_or(now, |last| now.max(*last));
        // Near the clock's origin `now - period` does not exist: then every restart kept is inside the window.
        if let Some(threshold) = now.checked_sub(self.period) {
            while self.restarts.front().is_some_and(|t| *t < threshold) {
                self.restarts.pop_front();
            }
        }
        self.restarts.push_back(now);
        let limit = usize::try_from(self.max).unwrap_or(usize::MAX);
        if self.restarts.len() > limit {
            // Keep the window bounded: only the newest `max + 1` instants can matter.
            while self.restarts.len() > limit.saturating_add(1) {
                self.restarts.pop_front();
            }
            return false;
        }
        true
    }

    /// [`Intensity::allow_at`] on tokio's clock.
    pub fn allow(&mut self) -> bool {
        self.allow_at(Instant::now())
    }
}

impl fmt::Display for Intensity {
    /// `restart intensity 3 in 5s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "restart intensity {} in {}", self.max, humantime::format_duration(self.period))
    }
}

/// What [`Restarts::failed`] decided.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Start again after `delay`; this is restart number `attempt` of the current series (1-based).
    Restart {
        /// Failures in a row, this one included.
        attempt: u64,
        /// How long to wait first (zero without a backoff).
        delay: Duration,
    },
    /// Give up, for this reason.
    GiveUp(GiveUp),
}

/// Why [`Restarts`] gave up.
#[derive(Clone, Debug, PartialEq)]
pub enum GiveUp {
    /// `max_attempts` failures came in a row.
    Attempts(u64),
    /// More restarts than the intensity allows within its period: `max` in `period`.
    Intensity {
        /// The intensity's `max`.
        max: u32,
        /// Its period.
        period: Duration,
    },
}

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GiveUp::Attempts(n) => write!(f, "{n} failures in a row"),
            GiveUp::Intensity { max, period } => {
                write!(f, "restart intensity {max} in {} exceeded", humantime::format_duration(*period))
            }
        }
    }
}

/// The restart engine: a backoff ([`Restart`], services), an intensity ([`Intensity`], supervisors), or both.
#[derive(Clone, Debug)]
pub struct Restarts {
    backoff: Option<Restart>,
    intensity: Option<Intensity>,
    failures: u64,
}

impl Restarts {
    /// A service's engine: `restart`'s backoff and `max_attempts`, no intensity.
    pub fn with_backoff(restart: Restart) -> Restarts {
        Restarts { backoff: Some(restart), intensity: None, failures: 0 }
    }

    /// A supervisor's engine: restarts at once (no delay) while `intensity` allows them.
    pub fn with_intensity(intensity: Intensity) -> Restarts {
        Restarts { backoff: None, intensity: Some(intensity), failures: 0 }
    }

    /// Failures in a row now.
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// The intensity, if this engine has one.
    pub fn intensity(&self) -> Option<&Intensity> {
        self.intensity.as_ref()
    }

    /// One failure at `now`. `stable`: the run that just ended lasted long enough to start a new series
    /// (failures in a row go back to 1). `unit` in `[0, 1)` places the backoff's jitter. Gives up when
    /// `max_attempts` (not 0) failures came in a row, or when the intensity is exceeded; otherwise restart
    /// after the backoff's delay (zero without one).
    pub fn failed(&mut self, stable: bool, now: Instant, unit: f64) -> Verdict {
        self.failures = if stable { 1 } else { self.failures.saturating_add(1) };
        if let Some(intensity) = &mut self.intensity
            && !intensity.allow_at(now)
        {
            return Verdict::GiveUp(GiveUp::Intensity { max: intensity.max, period: intensity.period });
        }
        let Some(backoff) = &self.backoff else {
            return Verdict::Restart { attempt: self.failures, delay: Duration::ZERO };
        };
        if backoff.max_attempts != 0 && self.failures >= backoff.max_attempts {
            return Verdict::GiveUp(GiveUp::Attempts(self.failures));
        }
        Verdict::Restart { attempt: self.failures, delay: backoff.jittered(self.failures, unit) }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_max_and_jitter_stays_in_its_band() {
        let r = Restart::default();
        assert_eq!(r.delay(1), Duration::from_secs(1));
        assert_eq!(r.delay(2), Duration::from_secs(2));
        assert_eq!(r.delay(4), Duration::from_secs(8));
        assert_eq!(r.delay(8), Duration::from_secs(90));
        assert_eq!(r.delay(u64::MAX), Duration::from_secs(90), "a huge attempt count is the max, not a panic");
        assert_eq!(r.jittered(1, 0.0), Duration::from_millis(900));
        assert_eq!(r.jittered(1, 1.0), Duration::from_millis(1100));
        assert_eq!(r.jittered(8, 1.0), Duration::from_secs(90), "jitter never passes max_delay");
    }

    #[tokio::test(start_paused = true)]
    async fn intensity_allows_max_restarts_within_the_period_and_forgets_older_ones() {
        let mut i = Intensity::new(3, Duration::from_secs(5)).unwrap();
        assert!(i.allow());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(i.allow());
        assert!(i.allow(), "three restarts within 5s are allowed");
        assert!(!i.allow(), "the fourth within 5s is one too many");
        let mut j = Intensity::new(3, Duration::from_secs(5)).unwrap();
        for _ in 0..3 {
            assert!(j.allow());
            tokio::time::advance(Duration::from_secs(2)).await;
        }
        // The first restart (6s ago) left the window: two remain, this is the third.
        assert!(j.allow(), "a restart older than the period no longer counts");
        assert!(!j.allow(), "but four within the window do");
    }

    #[tokio::test(start_paused = true)]
    async fn intensity_counts_a_restart_exactly_period_old_as_inside() {
        // OTP keeps restarts with `R >= Now - Period`.
        let mut i = Intensity::new(1, Duration::from_secs(5)).unwrap();
        assert!(i.allow());
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(!i.allow(), "the first restart is exactly `period` old: still inside");
        let mut j = Intensity::new(1, Duration::from_secs(5)).unwrap();
        assert!(j.allow());
        tokio::time::advance(Duration::from_millis(5001)).await;
        assert!(j.allow(), "just older than the period: forgotten");
    }

    #[tokio::test(start_paused = true)]
    async fn intensity_zero_allows_no_restart_and_the_window_stays_bounded() {
        let mut zero = Intensity::new(0, Duration::from_secs(1)).unwrap();
        assert!(!zero.allow(), "intensity 0: the first restart is too many (OTP)");
        let mut i = Intensity::new(2, Intensity::MAX_PERIOD).unwrap();
        for _ in 0..10_000 {
            i.allow();
        }
        assert!(i.restarts.len() <= 3, "at most max + 1 instants are kept: {}", i.restarts.len());
        // A period longer than the clock has run: no subtraction below the origin, no panic.
        assert!(!i.allow());
    }

    #[test]
    fn intensity_bounds_are_invalid_naming_the_value() {
        let over = Intensity::new(Intensity::MAX_RESTARTS + 1, Duration::from_secs(1)).unwrap_err();
        assert!(over.to_string().contains("1001"), "{over}");
        assert!(Intensity::new(1, Duration::ZERO).unwrap_err().to_string().contains("restart period 0s"));
        assert!(Intensity::new(1, Intensity::MAX_PERIOD + Duration::from_secs(1)).is_err());
        assert_eq!(Intensity::new(3, Duration::from_secs(5)).unwrap().to_string(), "restart intensity 3 in 5s");
    }

    #[tokio::test(start_paused = true)]
    async fn restarts_with_backoff_behave_as_the_services_did() {
        let restart = Restart { max_attempts: 3, jitter: 0.0, ..Restart::default() };
        let mut r = Restarts::with_backoff(restart);
        let now = Instant::now();
        assert_eq!(r.failed(false, now, 0.5), Verdict::Restart { attempt: 1, delay: Duration::from_secs(1) });
        assert_eq!(r.failed(false, now, 0.5), Verdict::Restart { attempt: 2, delay: Duration::from_secs(2) });
        assert_eq!(r.failed(true, now, 0.5), Verdict::Restart { attempt: 1, delay: Duration::from_secs(1) });
        assert_eq!(r.failed(false, now, 0.5), Verdict::Restart { attempt: 2, delay: Duration::from_secs(2) });
        assert_eq!(r.failed(false, now, 0.5), Verdict::GiveUp(GiveUp::Attempts(3)));
        assert_eq!(r.failures(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn restarts_with_intensity_restart_at_once_until_the_intensity_is_exceeded() {
        let mut r = Restarts::with_intensity(Intensity::new(2, Duration::from_secs(10)).unwrap());
        assert_eq!(r.failed(false, Instant::now(), 0.0), Verdict::Restart { attempt: 1, delay: Duration::ZERO });
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(r.failed(false, Instant::now(), 0.0), Verdict::Restart { attempt: 2, delay: Duration::ZERO });
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(matches!(r.failed(false, Instant::now(), 0.0), Verdict::Restart { .. }), "the first left the window");
        let verdict = r.failed(false, Instant::now(), 0.0);
        assert_eq!(verdict, Verdict::GiveUp(GiveUp::Intensity { max: 2, period: Duration::from_secs(10) }));
        let Verdict::GiveUp(why) = verdict else { unreachable!() };
        assert_eq!(why.to_string(), "restart intensity 2 in 10s exceeded");
    }
}

//! The time-slice ticker: one OS thread per sandbox raises each VM's preemption flag once per time slice of
//! its host. A process that runs without yielding is then paused at its next safepoint (see `interrupt.rs`)
//! and the others on its VM and worker run. A thread per process is never needed, and the ticker keeps
//! ticking while every tokio worker is busy running Lua (a tokio timer could not).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

/// How long the ticker sleeps when it has no VM to watch.
const IDLE: Duration = Duration::from_millis(50);

struct Watched {
    flag: Weak<AtomicBool>,
    slice: Duration,
    next: Instant,
}

/// The VMs the ticker watches. The thread ends once the sandbox drops its [`Ticker`].
pub struct Ticker {
    watched: Arc<Mutex<Vec<Watched>>>,
}

impl Ticker {
    /// Starts the ticker thread. Errors: the OS refused a thread.
    pub fn start() -> std::io::Result<Ticker> {
        let watched = Arc::new(Mutex::new(Vec::new()));
        let weak = Arc::downgrade(&watched);
        std::thread::Builder::new().name("corral-ticker".into()).spawn(move || run(weak))?;
        Ok(Ticker { watched })
    }

    /// Raises `flag` every `slice` for as long as the flag lives.
    pub fn watch(&self, flag: &Arc<AtomicBool>, slice: Duration) {
        let slice = slice.max(Duration::from_micros(100));
        let entry = Watched { flag: Arc::downgrade(flag), slice, next: Instant::now() + slice };
        self.watched.lock().unwrap_or_else(PoisonError::into_inner).push(entry);
    }
}

fn run(watched: Weak<Mutex<Vec<Watched>>>) {
    while let Some(watched) = watched.upgrade() {
        let wait = {
            let mut list = watched.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            list.retain(|w| w.flag.strong_count() > 0);
            for w in list.iter_mut().filter(|w| w.next <= now) {
                if let Some(flag) = w.flag.upgrade() {
                    flag.store(true, Ordering::Relaxed);
                }
                w.next = now + w.slice;
            }
            list.iter().map(|w| w.next.saturating_duration_since(now)).min().unwrap_or(IDLE)
        };
        drop(watched);
        std::thread::sleep(wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_is_raised_every_slice_and_forgotten_when_dropped() {
        let ticker = Ticker::start().unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        ticker.watch(&flag, Duration::from_millis(1));
        let started = Instant::now();
        while !flag.load(Ordering::Relaxed) {
            assert!(started.elapsed() < Duration::from_secs(5), "the ticker never raised the flag");
            std::thread::yield_now();
        }
        drop(flag);
        let started = Instant::now();
        while !ticker.watched.lock().unwrap().is_empty() {
            assert!(started.elapsed() < Duration::from_secs(5), "a dropped flag stays watched");
            std::thread::yield_now();
        }
    }
}

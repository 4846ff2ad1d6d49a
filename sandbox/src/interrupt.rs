//! Per-process metering on a shared VM: compute budget, memory attribution, preemption. The only `unsafe` in
//! the tree lives here, fenced to four raw Luau callbacks and the calls that bind a thread to a meter.
//!
//! How it works (issue "a sandbox that holds against hostile tenants"):
//! - Every VM owns a [`Meters`]: one [`Slot`] per Luau memory category `1..=254` (category 0 is the VM's own
//!   memory: sealed globals, bytecode, glue). A process leases a slot for its life; its main thread runs with
//!   the slot's memory category (`lua_setmemcat`), which Luau gives to every object the thread allocates and
//!   to every coroutine it creates. So a process's bytes are `lua_totalbytes(category)`, even on a shared VM.
//! - The thread's `lua_setthreaddata` pointer is the slot, tagged as "main thread"; coroutines inherit the
//!   untagged pointer through the `userthread` callback, so their work counts against the same slot.
//! - The raw `interrupt` callback runs at every Luau safepoint (loop back edges, calls). While the runner
//!   resumes a process ([`Metering`]) its fast path only spends one unit of a thread-local fuel grant (the
//!   compute unit is one safepoint, see `docs/security.md`). When a grant is spent (at most every
//!   [`CHECK_EVERY`] safepoints, and exactly at the budget) it takes the slow path: charge the slot, check
//!   memory and the VM's preemption flag, then yield the main thread (preemption, or a kill the runner
//!   turns into the exit) or, where a yield is impossible (inside a coroutine, a metamethod called from C, an
//!   `xpcall` handler), raise an error again at every safepoint until the code unwinds to a yieldable point.
//!   `pcall` can catch that error but cannot get past the next safepoint: the kill is sticky.
//! - `onallocate` checks the allocating category against its limit after each new object, so a one-shot
//!   `string.rep` bomb is caught at the very next safepoint.
//!
//! The preemption flag is set by one ticker thread per sandbox (see `ticker.rs`), never a thread per process.
//!
//! Also here, because it is one more raw call: [`hide_addresses`] keys Luau's pointer encoding per VM, so that
//! `tostring({})` shows an identity rather than a heap address.

#![expect(unsafe_code, reason = "raw Luau callbacks for metering; the one fenced exception in the workspace")]

use std::cell::Cell;
use std::ffi::{CStr, c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};

use corral_core::limits::Account;
use mlua::ffi::{self, lua_State};
use mlua::{Lua, Thread};

/// Memory categories a VM can give to processes (Luau has 256; 0 is the VM's, 255 kept free).
pub const SLOTS: usize = 254;

/// The slow path runs at least every this many safepoints (a power of two), to check memory that grew by
/// reallocation (table and stack growth), which `onallocate` does not see.
pub const CHECK_EVERY: u64 = 4096;

/// The tag bit on a thread-data pointer that marks a process's main thread (slots are 8-byte aligned).
const MAIN: usize = 1;

/// Why a slot's process must stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kill {
    /// The compute budget is spent (`limit.compute`).
    Compute,
    /// The process holds more memory than its limit (`limit.memory`).
    Memory,
}

const KILL_NONE: u8 = 0;

impl Kill {
    fn code(self) -> u8 {
        match self {
            Kill::Compute => 1,
            Kill::Memory => 2,
        }
    }

    fn from_code(code: u8) -> Option<Kill> {
        match code {
            1 => Some(Kill::Compute),
            2 => Some(Kill::Memory),
            _ => None,
        }
    }

    fn message(self) -> &'static CStr {
        match self {
            Kill::Compute => c"limit.compute: the process spent its compute budget",
            Kill::Memory => c"limit.memory: the process holds more memory than its limit",
        }
    }
}

/// One process's meter on a VM. Fields are atomics because the runner reads them from outside the VM lock;
/// inside the callbacks they are only touched by the thread holding the VM lock (relaxed is enough).
pub struct Slot {
    category: u8,
    used: AtomicU64,
    compute_limit: AtomicU64,
    baseline: AtomicU64,
    memory_limit: AtomicU64,
    peak: AtomicU64,
    kill: AtomicU8,
    preempt: Arc<AtomicBool>,
    /// The process's memory account (`corral_core::limits::Account`): the host bytes it holds count against
    /// the same limit as its Lua heap, and the slow path tells it the heap's size.
    account: Mutex<Option<Arc<Account>>>,
    /// The account's host bytes as the last slow path saw them (the allocation callback adds these).
    host_seen: AtomicU64,
}

impl Slot {
    /// Compute units (safepoints) used since the lease.
    pub fn used(&self) -> u64 {
        self.used.load(Relaxed)
    }

    /// The highest memory the process held, in bytes.
    pub fn peak(&self) -> u64 {
        self.peak.load(Relaxed)
    }

    /// Why the process must stop, if it must.
    pub fn kill_reason(&self) -> Option<Kill> {
        Kill::from_code(self.kill.load(Relaxed))
    }

    /// Marks the process to stop; the first reason wins. Raises the VM's flag so the next safepoint acts.
    pub fn kill(&self, why: Kill) {
        let _ = self.kill.compare_exchange(KILL_NONE, why.code(), Relaxed, Relaxed);
        self.preempt.store(true, Relaxed);
    }

    /// Refreshes what the host holds for the process and tells its account the Lua heap's size (`bytes` of
    /// the category); called from the slow path, once per fuel grant.
    fn settle_account(&self, bytes: u64) {
        let account = self.account.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(account) = account.as_ref() {
            account.set_lua_bytes(bytes.saturating_sub(self.baseline.load(Relaxed)));
            self.host_seen.store(account.host_bytes(), Relaxed);
        }
    }

    /// Records `bytes` of the category as held now, plus the host bytes of its account; over the limit kills
    /// with [`Kill::Memory`].
    fn observe_memory(&self, bytes: u64) {
        let held = bytes.saturating_sub(self.baseline.load(Relaxed)).saturating_add(self.host_seen.load(Relaxed));
        if held > self.peak.load(Relaxed) {
            self.peak.store(held, Relaxed);
        }
        if held > self.memory_limit.load(Relaxed) {
            self.kill(Kill::Memory);
        }
    }
}

/// The meters of one VM: its preemption flag and its slots.
pub struct Meters {
    preempt: Arc<AtomicBool>,
    slots: Vec<Slot>,
    free: Mutex<Vec<u8>>,
}

impl Meters {
    fn new() -> Meters {
        let preempt = Arc::new(AtomicBool::new(false));
        let slots = (0..=SLOTS)
            .map(|category| Slot {
                category: category as u8,
                used: AtomicU64::new(0),
                compute_limit: AtomicU64::new(u64::MAX),
                baseline: AtomicU64::new(0),
                memory_limit: AtomicU64::new(u64::MAX),
                peak: AtomicU64::new(0),
                kill: AtomicU8::new(KILL_NONE),
                preempt: preempt.clone(),
                account: Mutex::new(None),
                host_seen: AtomicU64::new(0),
            })
            .collect();
        // Popped from the end: category 1 first.
        let free = (1..=SLOTS as u8).rev().collect();
        Meters { preempt, slots, free: Mutex::new(free) }
    }

    /// The VM's preemption flag, for the ticker.
    pub fn preempt_flag(&self) -> Arc<AtomicBool> {
        self.preempt.clone()
    }

    /// Slots free now.
    pub fn free_slots(&self) -> usize {
        self.free.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// A slot leased to one process; returned to the VM when dropped.
pub struct Lease {
    meters: Arc<Meters>,
    category: u8,
}

impl Lease {
    /// The slot.
    pub fn slot(&self) -> &Slot {
        #[allow(clippy::indexing_slicing, reason = "a lease's category is one of the free list's, all below SLOTS + 1")]
        &self.meters.slots[usize::from(self.category)]
    }

    /// Its memory category (1..=254).
    pub fn category(&self) -> u8 {
        self.category
    }

    /// Charges the slot's process's host memory against its limit too (`corral_core::limits::Account`).
    pub fn set_account(&self, account: Arc<Account>) {
        let slot = self.slot();
        slot.host_seen.store(account.host_bytes(), Relaxed);
        *slot.account.lock().unwrap_or_else(PoisonError::into_inner) = Some(account);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let slot = self.slot();
        *slot.account.lock().unwrap_or_else(PoisonError::into_inner) = None;
        slot.host_seen.store(0, Relaxed);
        self.meters.free.lock().unwrap_or_else(PoisonError::into_inner).push(self.category);
    }
}

/// Installs the callbacks on `lua` and returns its meters (kept in the VM's app data as well, so they live
/// as long as any thread that points at them). Called once, by `create_vm`.
pub fn install(lua: &Lua) -> mlua::Result<Arc<Meters>> {
    let meters = Arc::new(Meters::new());
    // SAFETY: `exec_raw` runs the closure with the VM locked and a valid state of this VM; the callbacks
    // struct is Luau's global one for the VM. mlua uses only `userdata` and (for features we do not use)
    // `interrupt` and `userthread`, so setting these does not displace mlua's own.
    unsafe {
        lua.exec_raw::<()>((), |state| {
            let callbacks = ffi::lua_callbacks(state);
            (*callbacks).interrupt = Some(interrupt);
            (*callbacks).userthread = Some(userthread);
            (*callbacks).onallocate = Some(on_allocate);
        })?;
    }
    lua.set_app_data(meters.clone());
    Ok(meters)
}

/// Keys the VM's pointer encoding with fresh random bits, so `tostring` of a table, function, thread, userdata or
/// buffer (and `print`, which uses it) shows `table: 0x<16 hex digits>` that identifies the object for the VM's
/// life but is not its heap address (`docs/security.md`, "Addresses"). Luau's encoding is the identity until
/// a key is set; its keyed form is a four-round Feistel permutation over SipHash (flag `LuauNewPointerEncode`,
/// switched on once per OS process before the first key is set). The key comes from std's `RandomState`
/// (OS randomness, SipHash-mixed), different for every VM. Called once, by `create_vm`.
pub fn hide_addresses(lua: &Lua) -> mlua::Result<()> {
    static NEW_ENCODING: std::sync::Once = std::sync::Once::new();
    NEW_ENCODING.call_once(|| {
        // If a later Luau drops the flag, its older keyed encoding (a keyed linear mix) still hides addresses.
        let _ = Lua::set_fflag("LuauNewPointerEncode", true);
    });
    let random = |i: u64| std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), i);
    let (a, b, c, d) = (random(0), random(1), random(2), random(3));
    // SAFETY: run with the VM locked on a valid state; the call writes only the VM's own key fields.
    unsafe { lua.exec_raw::<()>((), |state| ffi::lua_setpointerencodekey(state, a, b, c, d)) }
}

/// Leases a free slot of `meters` with the given limits, or `None` when all 254 are taken. Takes no VM lock
/// (it runs inside a spawning process's call, which holds its own VM's lock); [`bind`] sets the baseline.
pub fn lease(meters: &Arc<Meters>, memory_limit: u64, compute_limit: u64) -> Option<Lease> {
    let category = meters.free.lock().unwrap_or_else(PoisonError::into_inner).pop()?;
    let lease = Lease { meters: meters.clone(), category };
    let slot = lease.slot();
    slot.used.store(0, Relaxed);
    slot.compute_limit.store(compute_limit, Relaxed);
    slot.baseline.store(0, Relaxed);
    slot.memory_limit.store(memory_limit, Relaxed);
    slot.peak.store(0, Relaxed);
    slot.kill.store(KILL_NONE, Relaxed);
    Some(lease)
}

/// Sets the slot's memory baseline to what its category still holds from an earlier process (garbage not
/// yet collected), collecting first when that is more than a little.
fn set_baseline(lua: &Lua, lease: &Lease) {
    let mut leftover = category_bytes(lua, lease.category);
    if leftover > 64 << 10 {
        // A dead process left garbage in this category: collect it rather than let the next one start with
        // an allowance it cannot use (or one it would never see freed).
        let _ = lua.gc_collect();
        leftover = category_bytes(lua, lease.category);
    }
    lease.slot().baseline.store(leftover, Relaxed);
}

/// Bytes held in `category` now.
pub fn category_bytes(lua: &Lua, category: u8) -> u64 {
    let mut bytes = 0u64;
    // SAFETY: run with the VM locked on a valid state; `lua_totalbytes` only reads the category counter.
    let done = unsafe {
        lua.exec_raw::<()>((), |state| {
            bytes = ffi::lua_totalbytes(state, c_int::from(category)) as u64;
        })
    };
    if done.is_err() {
        return 0;
    }
    bytes
}

/// Bytes the process running `thread` (its main thread or one of its coroutines) holds now, net of what its
/// slot held when leased; `None` for a thread no process owns. What `collectgarbage("count")` reports, so
/// that a script learns its own memory, not its neighbours' on the same VM.
pub fn held_by(lua: &Lua, thread: &Thread) -> Option<u64> {
    let mut held = None;
    // SAFETY: as in `bind`: with the VM locked, the pushed thread is a live `lua_State` of this VM, and its
    // thread data is null or a slot pointer set by `bind` or `userthread`; `lua_totalbytes` only reads.
    let done = unsafe {
        lua.exec_raw::<()>(thread, |state| {
            let thread_state = ffi::lua_tothread(state, -1);
            if thread_state.is_null() {
                return;
            }
            if let Some((slot, _)) = slot_of(thread_state) {
                let bytes = ffi::lua_totalbytes(state, c_int::from(slot.category)) as u64;
                held = Some(bytes.saturating_sub(slot.baseline.load(Relaxed)));
            }
        })
    };
    done.ok().and(held)
}

/// Makes `thread` a process's main thread metered by `lease`: its allocations go to the lease's category and
/// its safepoints count against the slot. Call before the thread first runs, from no other VM's callback.
pub fn bind(lua: &Lua, thread: &Thread, lease: &Lease) -> mlua::Result<()> {
    if lease.slot().used() == 0 {
        set_baseline(lua, lease);
    }
    let slot = lease.slot() as *const Slot as usize;
    // SAFETY: with the VM locked, `thread.to_pointer()` is the `lua_State` of a live thread of this VM (a
    // `Thread` value keeps it alive). The slot pointer stays valid while the VM lives: slots sit in a `Vec`
    // that never reallocates, inside meters kept in the VM's app data.
    unsafe {
        lua.exec_raw::<()>(thread, |state| {
            let thread_state = ffi::lua_tothread(state, -1);
            if !thread_state.is_null() {
                ffi::lua_setmemcat(thread_state, c_int::from(lease.category));
                ffi::lua_setthreaddata(thread_state, (slot | MAIN) as *mut c_void);
            }
        })
    }
}

/// Undoes [`bind`] (the thread may be recycled by mlua for another use).
pub fn unbind(lua: &Lua, thread: &Thread) {
    // SAFETY: as in `bind`; clearing the thread data and category touches only this thread's fields.
    let _ = unsafe {
        lua.exec_raw::<()>(thread, |state| {
            let thread_state = ffi::lua_tothread(state, -1);
            if !thread_state.is_null() {
                ffi::lua_setthreaddata(thread_state, std::ptr::null_mut());
                ffi::lua_setmemcat(thread_state, 0);
            }
        })
    };
}

/// The slot a thread is metered by, and whether it is the process's main thread.
///
/// # Safety
/// `state` must be a live thread of a VM whose meters are alive.
unsafe fn slot_of<'a>(state: *mut lua_State) -> Option<(&'a Slot, bool)> {
    // SAFETY: the caller passes a live state; thread data is either null or a pointer `bind` or `userthread`
    // stored, which points into meters that outlive the VM's threads.
    let data = unsafe { ffi::lua_getthreaddata(state) } as usize;
    if data == 0 {
        return None;
    }
    // SAFETY: see above: a non-null thread data is a valid, aligned `Slot` pointer with the tag bit.
    let slot = unsafe { &*((data & !MAIN) as *const Slot) };
    Some((slot, data & MAIN != 0))
}

/// Luau's interrupt: `gc` is -1 at safepoints, the GC state during collection steps (ignored).
unsafe extern "C-unwind" fn interrupt(state: *mut lua_State, gc: c_int) {
    if gc >= 0 {
        return;
    }
    // The fast path: one unit of the running process's fuel (see [`Metering`]).
    let fuel = FUEL.get();
    if fuel > 1 {
        FUEL.set(fuel - 1);
        return;
    }
    // SAFETY: passed on from Luau's call.
    unsafe { spent_grant(state, fuel) }
}

/// The interrupt when a grant is spent (or there is none): kept out of line so the fast path above needs no
/// stack frame.
///
/// # Safety
/// Only from the interrupt, with `state` the running thread.
#[cold]
#[inline(never)]
unsafe fn spent_grant(state: *mut lua_State, fuel: u64) {
    // SAFETY: Luau calls the interrupt with the running, live thread of this VM.
    let Some((slot, main)) = (unsafe { slot_of(state) }) else { return };
    // Charge the grant spent up to and including this safepoint (one unit when there was no grant).
    let grant = GRANT.replace(0);
    FUEL.set(0);
    let spent = if grant > 0 { grant.saturating_sub(fuel.saturating_sub(1)) } else { 1 };
    slot.used.store(slot.used.load(Relaxed).saturating_add(spent), Relaxed);
    // SAFETY: same state, still running inside the interrupt.
    unsafe { slow_path(state, slot, main) };
    // Not stopping: the next grant (a raise never gets here; after a preemption yield the grant is simply
    // unspent when the runner's `Metering` ends).
    if METERING.get() && slot.kill_reason().is_none() {
        refuel(slot);
    }
}

thread_local! {
    /// Safepoints the running process may pass before the interrupt takes its slow path; 0 outside a
    /// [`Metering`], so that code running unmetered by the runner (e.g. a dropped thread unwinding) takes the
    /// slow path at every safepoint.
    static FUEL: Cell<u64> = const { Cell::new(0) };
    /// The size of the current grant of fuel (0: none).
    static GRANT: Cell<u64> = const { Cell::new(0) };
    /// Whether a [`Metering`] is active on this OS thread.
    static METERING: Cell<bool> = const { Cell::new(false) };
}

/// Grants `slot`'s process fuel: at most [`CHECK_EVERY`] safepoints, and never past its compute limit.
fn refuel(slot: &Slot) {
    let left = slot.compute_limit.load(Relaxed).saturating_sub(slot.used.load(Relaxed));
    let grant = left.min(CHECK_EVERY);
    GRANT.set(grant);
    FUEL.set(grant);
}

/// Makes the running process's next safepoint take the slow path (its memory and limits are checked there):
/// for module code that just charged its account past the limit, so the kill comes at once rather than up to
/// a fuel grant later. Safe to call from any callback of a metered thread, and a no-op elsewhere.
pub fn check_now() {
    check_soon();
}

/// Makes the next safepoint take the slow path, charging only the fuel already spent.
fn check_soon() {
    let fuel = FUEL.get();
    if fuel > 1 {
        GRANT.set(GRANT.get() - (fuel - 1));
        FUEL.set(1);
    }
}

/// While alive, the calling OS thread runs `slot`'s process: its safepoints spend fuel from a grant of at
/// most [`CHECK_EVERY`] (a thread-local counter, the interrupt's whole fast path), and the slow path (charge
/// the slot, check memory, budget, kill and preemption) runs when a grant is spent. Create it around each
/// resume of the process's thread; dropping it charges the slot what was spent. So the compute count is exact
/// and the budget is never overrun, while preemption and a kill from another thread are seen within
/// [`CHECK_EVERY`] safepoints.
#[must_use = "metering lasts while the value lives"]
pub struct Metering<'a> {
    slot: &'a Slot,
}

impl Metering<'_> {
    /// Starts metering `slot`'s process on this OS thread.
    pub fn start(slot: &Slot) -> Metering<'_> {
        METERING.set(true);
        refuel(slot);
        Metering { slot }
    }
}

impl Drop for Metering<'_> {
    fn drop(&mut self) {
        METERING.set(false);
        let (grant, fuel) = (GRANT.replace(0), FUEL.replace(0));
        let spent = grant.saturating_sub(fuel);
        self.slot.used.store(self.slot.used.load(Relaxed).saturating_add(spent), Relaxed);
    }
}

/// Checks memory and budget, then yields (preemption or kill) or raises (kill where no yield is possible).
///
/// # Safety
/// Only from the interrupt, with `state` the running thread.
unsafe fn slow_path(state: *mut lua_State, slot: &Slot, main: bool) {
    // SAFETY: `state` is the running thread; reading a category counter has no side effect.
    let bytes = unsafe { ffi::lua_totalbytes(state, c_int::from(slot.category)) } as u64;
    slot.settle_account(bytes);
    slot.observe_memory(bytes);
    if slot.used.load(Relaxed) >= slot.compute_limit.load(Relaxed) {
        slot.kill(Kill::Compute);
    }
    // SAFETY: `lua_isyieldable` reads the running thread's call depth.
    let yieldable = main && unsafe { ffi::lua_isyieldable(state) } != 0;
    if let Some(why) = slot.kill_reason() {
        if yieldable {
            // SAFETY: yielding from an interrupt is supported by Luau when the thread is yieldable: the VM
            // re-runs the interrupted instruction on resume. The runner never resumes a killed thread.
            unsafe { ffi::lua_yield(state, 0) };
            return;
        }
        // SAFETY: raising from the interrupt is supported by Luau (the VM protects the call); no Rust value
        // with a destructor lives in this frame or its callers up to Luau.
        unsafe {
            ffi::lua_pushstring(state, why.message().as_ptr());
            ffi::lua_error(state);
        }
    }
    if yieldable && slot.preempt.load(Relaxed) {
        slot.preempt.store(false, Relaxed);
        // SAFETY: as above; the runner resumes the thread after other tasks had their turn.
        unsafe { ffi::lua_yield(state, 0) };
    }
}

/// Luau's thread creation callback: a coroutine created by a metered thread is metered by the same slot
/// (never as a main thread, so it is never yielded by preemption).
unsafe extern "C-unwind" fn userthread(parent: *mut lua_State, child: *mut lua_State) {
    if parent.is_null() {
        return; // a thread being destroyed
    }
    // SAFETY: Luau passes the live parent and the new child.
    unsafe {
        let data = ffi::lua_getthreaddata(parent) as usize;
        if data != 0 {
            ffi::lua_setthreaddata(child, (data & !MAIN) as *mut c_void);
        }
    }
}

/// Luau's allocation callback: after each new object or array, checks the allocating category.
unsafe extern "C-unwind" fn on_allocate(
    state: *mut lua_State,
    _block: *mut c_void,
    _osize: usize,
    _nsize: usize,
    category: u8,
    _tt: c_int,
    _tag: c_int,
) {
    if category == 0 {
        return;
    }
    // SAFETY: Luau calls this with the allocating, live thread.
    let Some((slot, _)) = (unsafe { slot_of(state) }) else { return };
    if slot.category != category {
        return;
    }
    // SAFETY: reading a category counter of the live VM.
    slot.observe_memory(unsafe { ffi::lua_totalbytes(state, c_int::from(category)) } as u64);
    if slot.kill_reason().is_some() {
        check_soon();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm() -> (Lua, Arc<Meters>) {
        let lua = Lua::new();
        let meters = install(&lua).unwrap();
        (lua, meters)
    }

    fn run(lua: &Lua, meters: &Arc<Meters>, code: &str, memory: u64, compute: u64) -> (mlua::Result<()>, Lease) {
        run_with(lua, meters, code, memory, compute, true)
    }

    /// As the runner does: each resume under a [`Metering`] (or, `metered` false, every safepoint slow).
    fn run_with(
        lua: &Lua,
        meters: &Arc<Meters>,
        code: &str,
        memory: u64,
        compute: u64,
        metered: bool,
    ) -> (mlua::Result<()>, Lease) {
        let lease = lease(meters, memory, compute).unwrap();
        let f = lua.load(code).into_function().unwrap();
        let thread = lua.create_thread(f).unwrap();
        bind(lua, &thread, &lease).unwrap();
        let mut result = Ok(());
        // Resume until it finishes or is killed (a yield from the interrupt returns to us).
        for _ in 0..10_000 {
            let metering = metered.then(|| Metering::start(lease.slot()));
            let resumed = thread.resume::<()>(());
            drop(metering);
            match resumed {
                Ok(()) if thread.is_resumable() => {
                    if lease.slot().kill_reason().is_some() {
                        break;
                    }
                }
                Ok(()) => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        unbind(lua, &thread);
        (result, lease)
    }

    #[test]
    fn an_endless_loop_spends_its_budget_and_is_killed() {
        let (lua, meters) = vm();
        let (_, lease) = run(&lua, &meters, "while true do end", u64::MAX, 100_000);
        assert_eq!(lease.slot().kill_reason(), Some(Kill::Compute));
        assert!(lease.slot().used() >= 100_000);
    }

    #[test]
    fn fuel_grants_count_exactly_what_every_safepoint_counts() {
        let (lua, meters) = vm();
        let code = "local n = 0 for i = 1, 50000 do n = n + i end";
        let (metered, a) = run_with(&lua, &meters, code, u64::MAX, u64::MAX, true);
        let (unmetered, b) = run_with(&lua, &meters, code, u64::MAX, u64::MAX, false);
        assert!(metered.is_ok() && unmetered.is_ok());
        assert!(a.slot().used() > 50_000, "{}", a.slot().used());
        assert_eq!(a.slot().used(), b.slot().used());
    }

    #[test]
    fn a_budget_is_spent_exactly_never_overrun() {
        let (lua, meters) = vm();
        for compute in [1, 4095, 4096, 4097, 100_003] {
            let (_, lease) = run(&lua, &meters, "while true do end", u64::MAX, compute);
            assert_eq!(lease.slot().kill_reason(), Some(Kill::Compute));
            assert_eq!(lease.slot().used(), compute, "budget {compute}");
        }
    }

    #[test]
    fn pcall_cannot_hide_a_kill() {
        let (lua, meters) = vm();
        let code = "while true do pcall(function() while true do end end) end";
        let (_, lease) = run(&lua, &meters, code, u64::MAX, 50_000);
        assert_eq!(lease.slot().kill_reason(), Some(Kill::Compute));
    }

    #[test]
    fn a_loop_inside_a_coroutine_counts_and_is_raised_out() {
        let (lua, meters) = vm();
        let code =
            "local co = coroutine.wrap(function() while true do pcall(function() while true do end end) end end) co()";
        let (result, lease) = run(&lua, &meters, code, u64::MAX, 50_000);
        assert_eq!(lease.slot().kill_reason(), Some(Kill::Compute));
        let err = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("limit.compute"), "{err}");
    }

    #[test]
    fn memory_is_attributed_to_the_category_and_limited() {
        let (lua, meters) = vm();
        let code = "local s = string.rep('x', 4 * 1024 * 1024) while true do end";
        let (_, lease) = run(&lua, &meters, code, 1 << 20, u64::MAX);
        assert_eq!(lease.slot().kill_reason(), Some(Kill::Memory));
        assert!(lease.slot().peak() >= 4 << 20);
    }

    #[test]
    fn a_process_within_its_limits_finishes() {
        let (lua, meters) = vm();
        let code = "local t = {} for i = 1, 1000 do t[i] = i end";
        let (result, lease) = run(&lua, &meters, code, 1 << 20, 1_000_000);
        assert!(result.is_ok());
        assert_eq!(lease.slot().kill_reason(), None);
        assert!(lease.slot().used() >= 1000);
        assert!(lease.slot().peak() > 0);
    }

    #[test]
    fn the_preemption_flag_yields_the_main_thread_once() {
        let (lua, meters) = vm();
        let lease = lease(&meters, u64::MAX, u64::MAX).unwrap();
        let f = lua.load("local n = 0 for i = 1, 100 do n = n + i end return n").into_function().unwrap();
        let thread = lua.create_thread(f).unwrap();
        bind(&lua, &thread, &lease).unwrap();
        meters.preempt_flag().store(true, Relaxed);
        let first: Option<f64> = thread.resume(()).unwrap();
        assert_eq!(first, None, "the flag made it yield before finishing");
        assert!(thread.is_resumable());
        let second: f64 = thread.resume(()).unwrap();
        assert_eq!(second, 5050.0);
        unbind(&lua, &thread);
    }

    #[test]
    fn slots_run_out_at_254_and_come_back() {
        let (_lua, meters) = vm();
        let leases: Vec<Lease> = (0..SLOTS).map(|_| lease(&meters, 1, 1).unwrap()).collect();
        assert!(lease(&meters, 1, 1).is_none());
        drop(leases);
        assert_eq!(meters.free_slots(), SLOTS);
    }
}

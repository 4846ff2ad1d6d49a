//! The cost of per-process limits: a tight Luau loop with metering and preemption on (a metered process
//! thread on a VM with the callbacks and a ticking preemption flag) versus off (a plain mlua VM), the added
//! cost of a spawn (leasing a slot and binding a thread to it), and the per-process cost of memory
//! attribution (a VM per at most 254 processes). Prints figures; run with `cargo bench --bench limits`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use corral_sandbox::interrupt;
use corral_sandbox::vm::create_vm;
use mlua::{Function, Lua};

const LOOP: &str = "local n = 0 for i = 1, 30000000 do n = n + i % 7 end return n";

fn time_thread(lua: &Lua, f: Function, bind: Option<&interrupt::Lease>) -> Duration {
    let thread = lua.create_thread(f).expect("thread");
    if let Some(lease) = bind {
        interrupt::bind(lua, &thread, lease).expect("bind");
    }
    let started = Instant::now();
    // Preemption yields return here; resume until the loop is done, like the runner does.
    while thread.is_resumable() {
        let _metering = bind.map(|lease| interrupt::Metering::start(lease.slot()));
        let _: Option<f64> = thread.resume(()).expect("resume");
    }
    let took = started.elapsed();
    if bind.is_some() {
        interrupt::unbind(lua, &thread);
    }
    took
}

fn best_of(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..n).map(|_| f()).min().unwrap_or_default()
}

fn main() {
    let plain = Lua::new();
    let plain_f = plain.load(LOOP).into_function().expect("compile");
    let off = best_of(5, || time_thread(&plain, plain_f.clone(), None));

    let vm = create_vm(false).expect("vm");
    let on_f = vm.lua.load(LOOP).into_function().expect("compile");
    // A ticker raising the flag every 5 ms, as the sandbox's does.
    let flag = vm.meters.preempt_flag();
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (flag, stop) = (flag.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(5));
                flag.store(true, Ordering::Relaxed);
            }
        })
    };
    let on = best_of(5, || {
        let lease = interrupt::lease(&vm.meters, u64::MAX, u64::MAX).expect("slot");
        time_thread(&vm.lua, on_f.clone(), Some(&lease))
    });
    stop.store(true, Ordering::Relaxed);
    let _ = ticker.join();
    println!("tight loop (30M iterations), limits off: {:.1} ms", off.as_secs_f64() * 1e3);
    println!("tight loop (30M iterations), limits on:  {:.1} ms", on.as_secs_f64() * 1e3);
    println!(
        "slowdown with compute accounting and preemption: {:+.1} %",
        (on.as_secs_f64() / off.as_secs_f64() - 1.0) * 100.0
    );

    // Spawn cost added by limits: lease a slot, bind a new thread, unbind, return the slot.
    let n = 20_000;
    let noop = vm.lua.load("return 1").into_function().expect("compile");
    let threads: Vec<_> = (0..n).map(|_| vm.lua.create_thread(noop.clone()).expect("thread")).collect();
    let started = Instant::now();
    for thread in &threads {
        let lease = interrupt::lease(&vm.meters, 16 << 20, 1_000_000_000).expect("slot");
        interrupt::bind(&vm.lua, thread, &lease).expect("bind");
        interrupt::unbind(&vm.lua, thread);
    }
    let per_spawn = started.elapsed() / n as u32;
    println!("limits per spawn (lease + bind + unbind): {:.2} us", per_spawn.as_secs_f64() * 1e6);

    // Memory attribution: 254 processes per VM, so each costs 1/254 of a VM beyond its own memory.
    let before = Lua::new();
    let vm_bytes = before.used_memory();
    let full = create_vm(false).expect("vm");
    println!(
        "a VM's own Lua memory: {} KiB ({} KiB with corral's modules); per process at 254 per VM: {:.0} bytes",
        vm_bytes >> 10,
        full.lua.used_memory() >> 10,
        full.lua.used_memory() as f64 / interrupt::SLOTS as f64
    );
}

//! Corral's Luau sandbox: the VM pools and the Lua modules scripts see.
//!
//! [`Sandbox`] implements [`corral_core::Launcher`]: the runtime hands it a process, and it runs the
//! process's entry as a Luau thread on one of its host's VMs. The modules (`process`, `channel`, `time`,
//! `errors`, `security`, `ctx`) convert values and call the runtime; every decision is the runtime's gate.
//!
//! Isolation model: processes of one host share a small pool of VMs (one per worker, about one per core),
//! each process with its own globals over the VM's sealed, read-only libraries. Processes of different
//! hosts never share a VM; a host with `isolation: process` gives each process its own VM.
//!
//! ```
//! // Luau text is compiled by the host, never loaded as bytes from a script.
//! assert!(corral_sandbox::vm::check_syntax("local x: number = 1", "ok.lua").is_ok());
//! assert!(corral_sandbox::vm::check_syntax("local = 1", "bad.lua").is_err());
//! ```

// No panic from a tenant's value: these are denied outside tests (`docs/security.md`, "Boundary classes").
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unchecked_time_subtraction
    )
)]

pub mod block;
pub mod convert;
mod driver;
// `interrupt.rs` is another engineer's; its one index (`slots[category]`, a category is always below
// `SLOTS`) is allowed here until it is rewritten with `get`.
pub mod interrupt;
pub mod modules;
pub mod procs;
mod runner;
mod ticker;
pub mod vm;

use hashbrown::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use corral_core::app::{Isolation, Placement};
use corral_core::process::Host;
use corral_core::runtime::{Executor, Launcher};
use corral_core::value::Value;
use corral_core::{Exit, ExitReason, Process, Runtime};
use futures_util::future::BoxFuture;

use crate::interrupt::Lease;
use crate::ticker::Ticker;
use crate::vm::{Code, Vm, create_vm_with};

/// Lets module code reach the VM it runs on (kept in the VM's app data).
pub(crate) struct VmRef(pub Weak<Vm>);

/// The VMs of one host. It starts with `workers` VMs and grows by one whenever every VM has all its 254
/// memory categories leased (see `interrupt.rs`).
struct Pool {
    vms: Mutex<Vec<Arc<Vm>>>,
    next: AtomicUsize,
}

/// Runs processes' Luau code.
pub struct Sandbox {
    wippy: bool,
    /// Our own Luau sources' and entries' bytecode, compiled once for all the sandbox's VMs.
    code: Arc<Code>,
    pools: Mutex<HashMap<String, Arc<Pool>>>,
    ticker: Option<Ticker>,
}

impl Sandbox {
    /// A sandbox; `wippy` turns on the reference system's dialect for every VM (`[compat] wippy = true`).
    /// Starts the time-slice ticker thread (without it, when the OS refuses a thread, processes still run and
    /// are still bounded by their compute budget, but are not preempted).
    pub fn new(wippy: bool) -> Sandbox {
        let ticker = Ticker::start().map_err(|e| tracing::error!("no time-slice ticker: {e}")).ok();
        Sandbox { wippy, code: Arc::default(), pools: Mutex::new(HashMap::new()), ticker }
    }

    /// A new VM for `host`; the ticker raises its preemption flag every `time_slice`.
    ///
    /// The VM has no memory limit of its own: each process's limit holds through its memory category
    /// (`interrupt.rs`), so what a VM holds is bounded by the limits of the processes on it. Without a limit of
    /// the state, mlua makes strings, tables and userdata from Rust without a protected call into Luau (about
    /// 2,300 instructions each), and even Luau's largest single allocation (a 1 GiB string or buffer)
    /// succeeds, is attributed to its process and kills it, rather than failing with an ordinary `not enough
    /// memory` error a `pcall` could catch.
    fn new_vm(&self, host: &Host) -> mlua::Result<Arc<Vm>> {
        let vm = Arc::new(create_vm_with(self.wippy, self.code.clone())?);
        vm.lua.set_app_data(VmRef(Arc::downgrade(&vm)));
        if let Some(ticker) = &self.ticker {
            ticker.watch(&vm.meters.preempt_flag(), host.spec.time_slice);
        }
        Ok(vm)
    }

    /// The VM a new process of `host` runs on, with the slot that meters it: with `placement: parent` (the
    /// default), its parent's VM when the parent runs on the same host and that VM has a free slot (a parent
    /// and its children talk most: on one VM they wake each other on one worker, `driver.rs`); otherwise round
    /// robin over the host's pool, trying the newest VM next and then the rest (skipping full VMs, adding one
    /// when all are full); a VM of its own for `isolation: process`.
    fn vm_for(&self, process: &Process) -> mlua::Result<(Arc<Vm>, Lease)> {
        let host = process.host();
        let limits = process.limits();
        let lease = |vm: &Arc<Vm>| interrupt::lease(&vm.meters, limits.memory, limits.compute);
        if host.spec.isolation == Isolation::Process {
            let vm = self.new_vm(host)?;
            let slot = lease(&vm).ok_or_else(|| mlua::Error::runtime("a new vm has no free slot"))?;
            return Ok((vm, slot));
        }
        // The spawning process is the one running on this OS thread (the spawn is its Lua call).
        if host.spec.placement == Placement::Parent
            && let Some(parent) = procs::running()
            && parent.process.host().spec.id == host.spec.id
            && let Some(vm) = parent.vm.upgrade()
            && let Some(slot) = lease(&vm)
        {
            return Ok((vm, slot));
        }
        let pool = self.pool(host)?;
        let mut vms = pool.vms.lock().unwrap_or_else(PoisonError::into_inner);
        // The VM whose turn it is, then the newest (while the pool grows, the only one with room), then every
        // VM: a pool of full VMs is not walked on every spawn (that was O(VMs) per spawn at 100k processes).
        let start = pool.next.fetch_add(1, Ordering::Relaxed);
        let len = vms.len();
        let turn = start.checked_rem(len).unwrap_or(0);
        let order = [turn, len.saturating_sub(1)].into_iter().chain((1..len).map(|i| turn.wrapping_add(i) % len));
        for index in order {
            let Some(vm) = vms.get(index) else { continue };
            if let Some(slot) = lease(vm) {
                return Ok((vm.clone(), slot));
            }
        }
        let vm = self.new_vm(host)?;
        vms.push(vm.clone());
        let slot = lease(&vm).ok_or_else(|| mlua::Error::runtime("a new vm has no free slot"))?;
        Ok((vm, slot))
    }

    fn pool(&self, host: &Host) -> mlua::Result<Arc<Pool>> {
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(pool) = pools.get(&host.spec.id) {
            return Ok(pool.clone());
        }
        let vms = (0..host.spec.workers.max(1)).map(|_| self.new_vm(host)).collect::<mlua::Result<Vec<_>>>()?;
        let pool = Arc::new(Pool { vms: Mutex::new(vms), next: AtomicUsize::new(0) });
        pools.insert(host.spec.id.clone(), pool.clone());
        Ok(pool)
    }
}

impl Launcher for Sandbox {
    fn launch(&self, runtime: &Runtime, process: Arc<Process>, args: Vec<Value>) -> BoxFuture<'static, Exit> {
        self.launch_on(runtime, process, args).0
    }

    /// The process's code, to run on its VM's driver (`driver.rs`); a process that got no VM runs as a tokio
    /// task of its own (it ends at once).
    fn launch_on(
        &self,
        runtime: &Runtime,
        process: Arc<Process>,
        args: Vec<Value>,
    ) -> (BoxFuture<'static, Exit>, Option<Arc<dyn Executor>>) {
        let vm = self.vm_for(&process);
        let executor = vm.as_ref().ok().map(|(vm, _)| vm.driver() as Arc<dyn Executor>);
        // The runner's future is the task's whole state (nothing else is kept beside it while it waits).
        let code: BoxFuture<'static, Exit> = match vm {
            Ok((vm, lease)) => {
                lease.set_account(process.account().clone());
                Box::pin(runner::run(vm, lease, runtime.clone(), process, args, self.wippy))
            }
            Err(e) => {
                let exit = Exit::abnormal(ExitReason::Error, format!("cannot create a vm: {e}"));
                Box::pin(std::future::ready(exit))
            }
        };
        (code, executor)
    }
}

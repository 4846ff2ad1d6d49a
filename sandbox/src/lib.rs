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

pub mod convert;
pub mod interrupt;
pub mod modules;
pub mod procs;
mod runner;
pub mod vm;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use corral_core::app::Isolation;
use corral_core::process::Host;
use corral_core::runtime::Launcher;
use corral_core::value::Value;
use corral_core::{Exit, ExitReason, Process, Runtime};
use futures_util::future::BoxFuture;

use crate::vm::{Vm, create_vm};

/// Lets module code reach the VM it runs on (kept in the VM's app data).
pub(crate) struct VmRef(pub Weak<Vm>);

/// The VMs of one host.
struct Pool {
    vms: Vec<Arc<Vm>>,
    next: AtomicUsize,
}

/// Runs processes' Luau code.
pub struct Sandbox {
    wippy: bool,
    pools: Mutex<HashMap<String, Arc<Pool>>>,
}

impl Sandbox {
    /// A sandbox; `wippy` turns on the reference system's dialect for every VM (`[compat] wippy = true`).
    pub fn new(wippy: bool) -> Sandbox {
        Sandbox { wippy, pools: Mutex::new(HashMap::new()) }
    }

    fn new_vm(&self) -> mlua::Result<Arc<Vm>> {
        let vm = Arc::new(create_vm(self.wippy)?);
        vm.lua.set_app_data(VmRef(Arc::downgrade(&vm)));
        Ok(vm)
    }

    /// The VM a new process of `host` runs on: round robin over the host's pool, or a VM of its own.
    fn vm_for(&self, host: &Host) -> mlua::Result<Arc<Vm>> {
        if host.spec.isolation == Isolation::Process {
            return self.new_vm();
        }
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        let pool = match pools.get(&host.spec.id) {
            Some(pool) => pool.clone(),
            None => {
                let vms = (0..host.spec.workers.max(1)).map(|_| self.new_vm()).collect::<mlua::Result<Vec<_>>>()?;
                let pool = Arc::new(Pool { vms, next: AtomicUsize::new(0) });
                pools.insert(host.spec.id.clone(), pool.clone());
                pool
            }
        };
        let i = pool.next.fetch_add(1, Ordering::Relaxed) % pool.vms.len();
        Ok(pool.vms[i].clone())
    }
}

impl Launcher for Sandbox {
    fn launch(&self, runtime: &Runtime, process: Arc<Process>, args: Vec<Value>) -> BoxFuture<'static, Exit> {
        let vm = self.vm_for(process.host());
        let runtime = runtime.clone();
        let wippy = self.wippy;
        Box::pin(async move {
            match vm {
                Ok(vm) => runner::run(vm, runtime, process, args, wippy).await,
                Err(e) => Exit::abnormal(ExitReason::Error, format!("cannot create a vm: {e}")),
            }
        })
    }
}

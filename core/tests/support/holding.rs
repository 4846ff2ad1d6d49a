//! A launcher for core's tests that run processes without Lua: each process's code waits until the test ends
//! it. Shared by `call.rs` and `events_funcs.rs` (through `#[path]`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use corral_core::process::{Exit, ExitReason, Process};
use corral_core::runtime::Launcher;
use corral_core::{Runtime, Value};
use futures_util::future::BoxFuture;
use tokio::sync::oneshot;

/// Keeps each process it starts, by entry name, and ends it with the exit the test sends.
#[derive(Default)]
pub struct Holding {
    procs: Mutex<HashMap<String, Arc<Process>>>,
    ends: Mutex<HashMap<String, oneshot::Sender<Exit>>>,
}

impl Launcher for Holding {
    fn launch(&self, _: &Runtime, process: Arc<Process>, _: Vec<Value>) -> BoxFuture<'static, Exit> {
        let name = process.entry().id.clone();
        let (tx, rx) = oneshot::channel();
        self.procs.lock().unwrap().insert(name.clone(), process);
        self.ends.lock().unwrap().insert(name, tx);
        Box::pin(async move { rx.await.unwrap_or_else(|_| Exit::abnormal(ExitReason::Error, "dropped")) })
    }
}

impl Holding {
    pub fn process(&self, entry: &str) -> Arc<Process> {
        self.procs.lock().unwrap().get(entry).cloned().expect("started")
    }

    pub fn end(&self, entry: &str, exit: Exit) {
        let tx = self.ends.lock().unwrap().remove(entry).expect("running");
        tx.send(exit).unwrap();
    }
}

//! Spawn and exit cost, and the resident memory of an idle process, with every spawn decided and audited.
//! Prints figures; run with `cargo bench --bench spawn` (N defaults to 10000, or set `CORRAL_BENCH_N`).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use corral_core::app::App;
use corral_core::audit::JsonlAudit;
use corral_core::gate::Gate;
use corral_core::runtime::{Config, RootSpec};
use corral_core::{Runtime, Value};
use corral_policy::{Actor, PolicySet};
use corral_sandbox::Sandbox;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

async fn root(node: &Runtime, entry: &str, n: usize) -> Result<(), String> {
    let spec = RootSpec {
        entry: entry.into(),
        host: "bench:processes".into(),
        args: vec![Value::Num(n as f64)],
        actor: Some(Arc::new(Actor::new("user:bench"))),
        scopes: vec![],
    };
    let (_, exit) = node.start_root(spec).map_err(|e| e.to_string())?;
    let exit = exit.await.map_err(|e| e.to_string())?;
    exit.result.map(|_| ()).map_err(|e| e.to_string())
}

fn main() -> Result<(), String> {
    let n: usize = std::env::var("CORRAL_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/apps/spawn");
    let app = Arc::new(App::load(&dir).map_err(|e| e.to_string())?);
    let policies = PolicySet::load_dir(&dir.join("policies")).map_err(|e| e.to_string())?;
    let audit = Arc::new(JsonlAudit::create(Path::new("/dev/null")).map_err(|e| e.to_string())?);
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    tokio.block_on(async {
        let node = Runtime::new(Config {
            node: "bench".into(),
            app,
            gate: Gate::new(policies, audit),
            launcher: Arc::new(Sandbox::new(false)),
        });
        // Warm the VM pool and the bytecode cache.
        root(&node, "bench:spawn_exit", 100).await?;
        let started = Instant::now();
        root(&node, "bench:spawn_exit", n).await?;
        let elapsed = started.elapsed();
        println!(
            "spawn+exit: {n} processes in {:.1} ms = {:.1} us per process (2 audited decisions each)",
            elapsed.as_secs_f64() * 1e3,
            elapsed.as_secs_f64() * 1e6 / n as f64
        );
        let before = rss_bytes();
        root(&node, "bench:spawn_idle", n).await?;
        let after = rss_bytes();
        println!(
            "idle memory: {n} idle processes add {:.1} MiB RSS = {:.0} bytes per process (live: {})",
            (after.saturating_sub(before)) as f64 / 1048576.0,
            after.saturating_sub(before) as f64 / n as f64,
            node.live()
        );
        node.shutdown().await;
        Ok(())
    })
}

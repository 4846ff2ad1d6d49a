//! The audit log's cost: records per second through the batching, fsyncing writer, and a policy-checked
//! ping-pong between two processes with a null sink against the real log. Prints figures; run with
//! `cargo bench --bench audit`. `CORRAL_BENCH_N` sets the records (default 200000; the ping-pong does a
//! tenth of it as round trips), `CORRAL_BENCH_DIR` where the log goes (default `target/bench-audit`, on disk:
//! a tmpfs would make fsync free).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corral_core::app::App;
use corral_core::audit::{AuditOptions, AuditSink, JsonlAudit, NullAudit};
use corral_core::gate::Gate;
use corral_core::runtime::{Config, RootSpec};
use corral_core::{Runtime, Value};
use corral_policy::{Actor, PolicySet};
use corral_sandbox::Sandbox;
use serde_json::{Map, Value as Json, json};

/// An `authz.decision`-shaped record (about 450 bytes once written).
fn decision_fields(i: usize) -> Map<String, Json> {
    let record = json!({
        "node": "local", "incarnation": 1795268171442u64, "op": i, "principal": "user:bench",
        "action": "process.send", "resource": format!("Process::\"{{local@1a1fe5256b2|bench:processes|{i}}}\""),
        "decision": "allow", "basis": "permit", "policies": ["bench.send"], "errors": [],
        "revision": "e21de6c1030e7ebba8b289d52efaee927cda93d5abea8969adf1b84b30d2751f",
        "pid": "{local@1a1fe5256b2|bench:processes|1}", "entry": "bench:pinger", "scopes": [], "eval_us": 3.2,
        "level": "metadata",
    });
    match record {
        Json::Object(map) => map,
        _ => Map::new(),
    }
}

fn fresh(dir: &Path, name: &str) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    for item in std::fs::read_dir(dir).map_err(|e| e.to_string())?.flatten() {
        if item.file_name().to_string_lossy().starts_with(name) {
            std::fs::remove_file(item.path()).map_err(|e| e.to_string())?;
        }
    }
    Ok(dir.join(format!("{name}.jsonl")))
}

/// `n` records from `threads` threads, timed until the last is synced.
fn throughput(dir: &Path, n: usize, threads: usize) -> Result<(), String> {
    let path = fresh(dir, &format!("throughput-{threads}"))?;
    let sink = Arc::new(JsonlAudit::open(&path, AuditOptions::default()).map_err(|e| e.to_string())?);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let sink = sink.clone();
            std::thread::spawn(move || {
                for i in (t..n).step_by(threads) {
                    sink.record("authz.decision", decision_fields(i)).map_err(|e| e.to_string())?;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for worker in workers {
        worker.join().map_err(|_| "a writer thread panicked".to_string())??;
    }
    sink.sync().map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "records/s: {n} records from {threads} thread(s), written and fsynced in {:.1} ms = {:.0} records/s \
         ({:.1} MB/s, sync_interval 2 ms)",
        elapsed.as_secs_f64() * 1e3,
        n as f64 / elapsed.as_secs_f64(),
        bytes as f64 / 1e6 / elapsed.as_secs_f64()
    );
    Ok(())
}

/// One ping-pong of `n` round trips; the time it took.
async fn ping_pong(app: &Arc<App>, policies: &Path, sink: Arc<dyn AuditSink>, n: usize) -> Result<Duration, String> {
    let policies = PolicySet::load_dir(policies).map_err(|e| e.to_string())?;
    let node = Runtime::new(Config {
        node: "bench".into(),
        app: app.clone(),
        gate: Gate::new(policies, sink),
        launcher: Arc::new(Sandbox::new(false)),
    });
    let spec = RootSpec {
        entry: "bench:pinger".into(),
        host: "bench:processes".into(),
        args: vec![Value::Num(n as f64)],
        actor: Some(Arc::new(Actor::new("user:bench"))),
        scopes: vec![],
    };
    let started = Instant::now();
    let (_, exit) = node.start_root(spec).map_err(|e| e.to_string())?;
    let exit = exit.await.map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    exit.result.map_err(|e| format!("the pinger failed: {e}"))?;
    node.shutdown().await;
    Ok(elapsed)
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn main() -> Result<(), String> {
    let n: usize = std::env::var("CORRAL_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var("CORRAL_BENCH_DIR").map(PathBuf::from).unwrap_or_else(|_| root.join("target/bench-audit"));
    println!("log folder: {}", dir.display());
    throughput(&dir, n, 1)?;
    throughput(&dir, n, 4)?;

    let app_dir = root.join("benches/apps/pingpong");
    let app = Arc::new(App::load(&app_dir).map_err(|e| e.to_string())?);
    let policies = app_dir.join("policies");
    let trips = (n / 10).max(100);
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    tokio.block_on(async {
        // Warm the VM pool and the bytecode cache.
        ping_pong(&app, &policies, Arc::new(NullAudit), 100).await?;
        let (mut null, mut real) = (Vec::new(), Vec::new());
        for round in 0..5 {
            null.push(ping_pong(&app, &policies, Arc::new(NullAudit), trips).await?);
            let path = fresh(&dir, &format!("pingpong-{round}"))?;
            let sink = Arc::new(JsonlAudit::open(&path, AuditOptions::default()).map_err(|e| e.to_string())?);
            real.push(ping_pong(&app, &policies, sink, trips).await?);
        }
        let (null, real) = (median(null), median(real));
        let per_trip = |d: Duration| d.as_secs_f64() * 1e6 / trips as f64;
        println!(
            "ping-pong: {trips} round trips (2 policy-checked sends each), median of 5: null sink {:.2} us/trip, \
             audit log {:.2} us/trip, overhead {:+.1}%",
            per_trip(null),
            per_trip(real),
            (real.as_secs_f64() / null.as_secs_f64() - 1.0) * 100.0
        );
        Ok(())
    })
}

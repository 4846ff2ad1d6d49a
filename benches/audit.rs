//! The audit log's cost: records per second through the batching, fsyncing writer (a record built as a
//! `serde_json::Map` and a typed record serialised straight into the batch), and a policy-checked ping-pong
//! between two processes with a null sink against the real log, with cached allows summarised
//! (`allows = "summary"`, the default) and written one by one (`"each"`). Prints figures; run with
//! `cargo bench --bench audit`. `CORRAL_BENCH_N` sets the records (default 200000; the ping-pong does a
//! tenth of it as round trips), `CORRAL_BENCH_DIR` where the log goes (default `target/bench-audit`, on disk:
//! a tmpfs would make fsync free).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corral_core::app::App;
use corral_core::audit::{Allows, AuditOptions, AuditSink, JsonlAudit, NullAudit};
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

/// The same record as a struct, for the fast path (`AuditSink::record_fields`).
#[derive(serde::Serialize)]
struct DecisionFields<'a> {
    node: &'a str,
    incarnation: u64,
    op: usize,
    principal: &'a str,
    action: &'a str,
    resource: String,
    decision: &'a str,
    basis: &'a str,
    policies: &'a [&'a str],
    errors: &'a [&'a str],
    revision: &'a str,
    pid: &'a str,
    entry: &'a str,
    scopes: &'a [&'a str],
    eval_us: f64,
    level: &'a str,
}

fn decision_struct(i: usize) -> DecisionFields<'static> {
    DecisionFields {
        node: "local",
        incarnation: 1795268171442,
        op: i,
        principal: "user:bench",
        action: "process.send",
        resource: format!("Process::\"{{local@1a1fe5256b2|bench:processes|{i}}}\""),
        decision: "allow",
        basis: "permit",
        policies: &["bench.send"],
        errors: &[],
        revision: "e21de6c1030e7ebba8b289d52efaee927cda93d5abea8969adf1b84b30d2751f",
        pid: "{local@1a1fe5256b2|bench:processes|1}",
        entry: "bench:pinger",
        scopes: &[],
        eval_us: 3.2,
        level: "metadata",
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

/// `n` records from `threads` threads, timed until the last is synced; `typed` writes them through
/// `record_fields`, else as maps through `record`.
fn throughput(dir: &Path, n: usize, threads: usize, typed: bool) -> Result<(), String> {
    let path = fresh(dir, &format!("throughput-{threads}-{typed}"))?;
    let sink = Arc::new(JsonlAudit::open(&path, AuditOptions::default()).map_err(|e| e.to_string())?);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let sink = sink.clone();
            std::thread::spawn(move || {
                for i in (t..n).step_by(threads) {
                    if typed {
                        sink.record_fields("authz.decision", &decision_struct(i)).map_err(|e| e.to_string())?;
                    } else {
                        sink.record("authz.decision", decision_fields(i)).map_err(|e| e.to_string())?;
                    }
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
        "records/s: {n} {} records from {threads} thread(s), written and fsynced in {:.1} ms = {:.0} records/s \
         ({:.1} MB/s, sync_interval 2 ms)",
        if typed { "typed" } else { "map" },
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
    for typed in [false, true] {
        throughput(&dir, n, 1, typed)?;
        throughput(&dir, n, 4, typed)?;
    }

    let app_dir = root.join("benches/apps/workloads");
    let app = Arc::new(App::load(&app_dir).map_err(|e| e.to_string())?);
    let policies = app_dir.join("policies");
    let trips = (n / 10).max(100);
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    tokio.block_on(async {
        // Warm the VM pool and the bytecode cache.
        ping_pong(&app, &policies, Arc::new(NullAudit), 100).await?;
        let (mut null, mut summary, mut each) = (Vec::new(), Vec::new(), Vec::new());
        let mut sizes = (0, 0);
        for round in 0..5 {
            null.push(ping_pong(&app, &policies, Arc::new(NullAudit), trips).await?);
            for (allows, runs, size) in
                [(Allows::Summary, &mut summary, &mut sizes.0), (Allows::Each, &mut each, &mut sizes.1)]
            {
                let path = fresh(&dir, &format!("pingpong-{allows:?}-{round}"))?;
                let options = AuditOptions { allows, ..AuditOptions::default() };
                let sink = Arc::new(JsonlAudit::open(&path, options).map_err(|e| e.to_string())?);
                runs.push(ping_pong(&app, &policies, sink, trips).await?);
                *size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            }
        }
        let (null, summary, each) = (median(null), median(summary), median(each));
        let per_trip = |d: Duration| d.as_secs_f64() * 1e6 / trips as f64;
        let overhead = |d: Duration| (d.as_secs_f64() / null.as_secs_f64() - 1.0) * 100.0;
        println!(
            "ping-pong: {trips} round trips (2 policy-checked sends each), median of 5: null sink {:.2} us/trip; \
             audit log, allows = summary: {:.2} us/trip ({:+.1}%, log {} bytes); allows = each: {:.2} us/trip \
             ({:+.1}%, log {} bytes)",
            per_trip(null),
            per_trip(summary),
            overhead(summary),
            sizes.0,
            per_trip(each),
            overhead(each),
            sizes.1
        );
        Ok(())
    })
}

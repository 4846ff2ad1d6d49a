//! The workloads issue 10 compares with Erlang, each measured in a fresh process with policy and audit on
//! (default audit settings, a log file in the temp folder). Prints one line per workload.
//!
//! `cargo bench --bench workloads` runs them all, each in its own process; `cargo bench --bench workloads --
//! <workload> [n] [laps]` runs one: `pingpong [trips]`, `call [trips]` (the round trip as `process.call`), `ring [processes] [laps]`, `fanout [workers]`,
//! `idle [processes]`. `CORRAL_ALLOWS=each` records every decision (`[audit] allows = "each"`) instead of
//! summarising repeated cached allows. `benches/compare` runs these beside `benches/erlang/workloads.escript` and prints the
//! ratios.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corral_core::app::App;
use corral_core::audit::{AuditOptions, JsonlAudit};
use corral_core::gate::Gate;
use corral_core::runtime::{Config, RootSpec};
use corral_core::{Runtime, Value};
use corral_policy::{Actor, PolicySet};
use corral_sandbox::Sandbox;

/// Kilobytes of a `/proc/self/status` field (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix(field)?.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

/// Removes the log and its rotated siblings (`<stem>.<seq>.jsonl`).
fn remove_logs(log: &Path) {
    let (Some(dir), Some(stem)) = (log.parent(), log.file_stem().and_then(|s| s.to_str())) else { return };
    let Ok(items) = std::fs::read_dir(dir) else { return };
    for item in items.flatten() {
        if item.file_name().to_str().is_some_and(|n| n.starts_with(stem)) {
            let _ = std::fs::remove_file(item.path());
        }
    }
}

fn app_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/apps/workloads")
}

fn node(log: &Path) -> Result<Runtime, String> {
    let dir = app_dir();
    let app = Arc::new(App::load(&dir).map_err(|e| e.to_string())?);
    let policies = PolicySet::load_dir(&dir.join("policies")).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(log);
    // `CORRAL_ALLOWS=each` writes one record per decision (`[audit] allows = "each"`); the default summarises
    // repeated cached allows.
    let allows = match std::env::var("CORRAL_ALLOWS").as_deref() {
        Ok("each") => corral_core::audit::Allows::Each,
        _ => corral_core::audit::Allows::Summary,
    };
    let options = AuditOptions { allows, ..AuditOptions::default() };
    let audit = Arc::new(JsonlAudit::open(log, options).map_err(|e| e.to_string())?);
    Ok(Runtime::new(Config {
        node: "bench".into(),
        app,
        gate: Gate::new(policies, audit).with_levels(Default::default()),
        launcher: Arc::new(Sandbox::new(false)),
    }))
}

/// `entry` as a root process of the bench's actor on its host, with number arguments.
fn root(entry: &str, args: &[f64]) -> RootSpec {
    RootSpec {
        entry: entry.into(),
        host: "bench:processes".into(),
        args: args.iter().map(|&a| Value::Num(a)).collect(),
        actor: Some(Arc::new(Actor::new("user:bench"))),
        scopes: vec![],
    }
}

/// Runs `entry` as a root with `args` and returns its value.
async fn run(node: &Runtime, entry: &str, args: &[f64]) -> Result<Value, String> {
    let (_, exit) = node.start_root(root(entry, args)).map_err(|e| e.to_string())?;
    exit.await.map_err(|e| e.to_string())?.result
}

fn numbers(value: &Value) -> Vec<f64> {
    match value {
        Value::Table(t) => t.array.iter().filter_map(|v| if let Value::Num(n) = v { Some(*n) } else { None }).collect(),
        _ => Vec::new(),
    }
}

async fn workload(name: &str, n: Option<usize>, laps: Option<usize>) -> Result<String, String> {
    let log = std::env::temp_dir().join(format!("corral-workload-{name}-{}.jsonl", std::process::id()));
    let node = node(&log)?;
    // Warm the VM pool, the bytecode cache and the decision cache's first entries.
    run(&node, "bench:pinger", &[100.0]).await?;
    let line = match name {
        "pingpong" => {
            let trips = n.unwrap_or(20_000);
            let started = Instant::now();
            run(&node, "bench:pinger", &[trips as f64]).await?;
            let us = started.elapsed().as_secs_f64() * 1e6 / trips as f64;
            format!("pingpong trips={trips} us_per_trip={us:.2}")
        }
        "call" => {
            // The same round trip as `pingpong`, as process.call and msg:reply instead of a send and a listen.
            let trips = n.unwrap_or(20_000);
            run(&node, "bench:caller", &[100.0]).await?;
            let started = Instant::now();
            run(&node, "bench:caller", &[trips as f64]).await?;
            let us = started.elapsed().as_secs_f64() * 1e6 / trips as f64;
            format!("call trips={trips} us_per_trip={us:.2}")
        }
        "ring" => {
            let (procs, laps) = (n.unwrap_or(10_000), laps.unwrap_or(10));
            let out = numbers(&run(&node, "bench:ring", &[procs as f64, laps as f64]).await?);
            let (setup, lap_ns) = out.split_first().ok_or("the ring returned nothing")?;
            let per_msg: Vec<f64> = lap_ns.iter().map(|ns| ns / procs as f64).collect();
            let later =
                if per_msg.len() > 1 { per_msg[1..].iter().sum::<f64>() / (per_msg.len() - 1) as f64 } else { 0.0 };
            let all = per_msg.iter().sum::<f64>() / per_msg.len().max(1) as f64;
            format!(
                "ring procs={procs} laps={laps} setup_us_per_proc={:.2} ns_per_msg={all:.0} lap1_ns_per_msg={:.0} \
                 later_ns_per_msg={later:.0}",
                setup / 1e3 / procs as f64,
                per_msg.first().copied().unwrap_or(0.0)
            )
        }
        "fanout" => {
            let workers = n.unwrap_or(20_000);
            let started = Instant::now();
            run(&node, "bench:fanout", &[workers as f64]).await?;
            let us = started.elapsed().as_secs_f64() * 1e6 / workers as f64;
            format!("fanout workers={workers} us_per_worker={us:.2}")
        }
        "idle" => {
            let procs = n.unwrap_or(100_000);
            let before = status_kib("VmRSS:");
            let (_, mut exit) =
                node.start_root(root("bench:idle_parent", &[procs as f64])).map_err(|e| e.to_string())?;
            while node.live() < procs + 1 {
                if let Ok(exit) = exit.try_recv() {
                    return Err(format!("the idle parent ended early: {:?}", exit.result));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            let steady = status_kib("VmRSS:").saturating_sub(before);
            node.shutdown().await;
            let peak = status_kib("VmHWM:").saturating_sub(before);
            format!(
                "idle procs={procs} steady_bytes_per_proc={:.0} peak_bytes_per_proc={:.0}",
                steady as f64 * 1024.0 / procs as f64,
                peak as f64 * 1024.0 / procs as f64
            )
        }
        other => return Err(format!("unknown workload `{other}` (pingpong, call, ring, fanout, idle)")),
    };
    node.shutdown().await;
    remove_logs(&log);
    Ok(line)
}

fn main() -> Result<(), String> {
    // `cargo bench` passes `--bench`; anything else names a workload.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let Some(name) = args.first() else {
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        for one in [
            vec!["pingpong"],
            vec!["call"],
            vec!["ring", "1000", "10"],
            vec!["ring", "10000", "10"],
            vec!["ring", "100000", "3"],
            vec!["fanout"],
            vec!["idle"],
        ] {
            let out = std::process::Command::new(&me).args(&one).output().map_err(|e| e.to_string())?;
            print!("{}", String::from_utf8_lossy(&out.stdout));
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
        }
        return Ok(());
    };
    let n = args.get(1).and_then(|v| v.parse().ok());
    let laps = args.get(2).and_then(|v| v.parse().ok());
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let line = tokio.block_on(workload(name, n, laps))?;
    println!("{line}");
    Ok(())
}

//! Services (`spec/node.md`, "Services"): `process.service` entries with their `lifecycle:` block, started in
//! `requires` order, restarted with backoff, given up after `max_attempts`, stopped with `stop_timeout`, and
//! restarted by a redeploy only when they changed. Time is tokio's paused clock, so the backoff delays are
//! exact and nothing sleeps for real.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use corral_core::app::App;
use corral_core::audit::MemoryAudit;
use corral_core::gate::Gate;
use corral_core::process::{Exit, ExitReason, Process};
use corral_core::runtime::{Config, Launcher};
use corral_core::service::{Services, State};
use corral_core::{Runtime, Value};
use corral_policy::{Actor, PolicySet};
use futures_util::future::BoxFuture;
use serde_json::{Map, Value as Json};

/// Runs entries by name: `crash` fails at once, `steady` runs until killed, `flaky` runs 10 s then fails,
/// `done` returns normally. Counts launches per entry.
#[derive(Default)]
struct Scripted {
    launches: AtomicUsize,
}

impl Launcher for Scripted {
    fn launch(&self, _: &Runtime, process: Arc<Process>, _: Vec<Value>) -> BoxFuture<'static, Exit> {
        self.launches.fetch_add(1, Ordering::SeqCst);
        let name = process.entry().id.rsplit(':').next().unwrap_or("").to_string();
        match name.as_str() {
            "crash" | "crash2" => Box::pin(async { Exit::abnormal(ExitReason::Error, "boom") }),
            "flaky" => Box::pin(async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                Exit::abnormal(ExitReason::Error, "tired")
            }),
            "done" => Box::pin(async { Exit::normal(Value::Num(1.0)) }),
            _ => Box::pin(std::future::pending()),
        }
    }
}

struct Node {
    runtime: Runtime,
    audit: Arc<MemoryAudit>,
    launcher: Arc<Scripted>,
    dir: PathBuf,
}

/// An app in a fresh folder: one process.lua entry per name of `processes`, `services` appended as YAML
/// entries, and a policy that permits everything except actor `user:nobody`.
fn app_dir(tag: &str, processes: &[&str], services: &str) -> PathBuf {
    let dir =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("corral-services-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    write_app(&dir, processes, services, "1");
    let policy = "@id(\"all\") permit (principal, action, resource);\n\
                  @id(\"not-nobody\") forbid (principal == Actor::\"user:nobody\", action, resource);\n";
    std::fs::write(dir.join("policies/all.cedar"), policy).unwrap();
    dir
}

fn write_app(dir: &Path, processes: &[&str], services: &str, version: &str) {
    let mut manifest =
        String::from("version: \"1.0\"\nnamespace: app\nentries:\n  - name: procs\n    kind: process.host\n");
    for name in processes {
        std::fs::write(dir.join(format!("{name}.lua")), format!("-- {version}\nreturn {{ main = function() end }}\n"))
            .unwrap();
        manifest.push_str(&format!("  - name: {name}\n    kind: process.lua\n    source: file://{name}.lua\n"));
    }
    manifest.push_str(services);
    std::fs::write(dir.join("_index.yaml"), manifest).unwrap();
}

fn node(dir: PathBuf) -> Node {
    let audit = Arc::new(MemoryAudit::new());
    let launcher = Arc::new(Scripted::default());
    let runtime = Runtime::new(Config {
        node: "app".into(),
        app: Arc::new(App::load(&dir).unwrap()),
        gate: Gate::new(PolicySet::load_dir(&dir.join("policies")).unwrap(), audit.clone()),
        launcher: launcher.clone(),
    });
    Node { runtime, audit, launcher, dir }
}

fn deployer() -> Option<Arc<Actor>> {
    Some(Arc::new(Actor::new("user:deployer")))
}

/// The service records, in order, as `(kind, record)`.
fn service_records(audit: &MemoryAudit) -> Vec<(String, Map<String, Json>)> {
    audit
        .records()
        .into_iter()
        .filter_map(|r| {
            let kind = r["kind"].as_str()?.to_string();
            kind.starts_with("service.").then_some((kind, r))
        })
        .collect()
}

fn kinds(audit: &MemoryAudit) -> Vec<String> {
    service_records(audit).into_iter().map(|(k, _)| k).collect()
}

/// Lets the supervisors run until `done` holds, advancing the paused clock as they sleep; at most 1000 turns.
async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the condition never held at {:?}", tokio::time::Instant::now());
}

fn state(services: &Services, id: &str) -> State {
    services.status().into_iter().find(|s| s.id == id).map(|s| s.state).unwrap()
}

const CRASH: &str = "  - name: crasher
    kind: process.service
    process: app:crash
    lifecycle:
      auto_start: true
      restart: { initial_delay: 1s, backoff_factor: 2.0, jitter: 0, max_attempts: 4 }
";

#[tokio::test(start_paused = true)]
async fn a_crashing_service_is_restarted_with_doubling_delays_then_given_up() {
    let node = node(app_dir("crash", &["crash"], CRASH));
    let began = tokio::time::Instant::now();
    let services = Services::start(&node.runtime, deployer());
    until(|| state(&services, "app:crasher") == State::Failed).await;
    let records = service_records(&node.audit);
    let delays: Vec<u64> =
        records.iter().filter(|(k, _)| k == "service.restart").map(|(_, r)| r["delay_ms"].as_u64().unwrap()).collect();
    assert_eq!(delays, [1000, 2000, 4000], "three restarts, each twice the last");
    assert_eq!(records.iter().filter(|(k, _)| k == "service.start").count(), 4);
    assert_eq!(records.last().unwrap().0, "service.give_up");
    assert_eq!(records.last().unwrap().1["failures"], 4);
    assert!(began.elapsed() >= Duration::from_secs(7), "the delays were waited: {:?}", began.elapsed());
    assert_eq!(node.launcher.launches.load(Ordering::SeqCst), 4);
    let status = services.status();
    assert_eq!((status[0].restarts, status[0].failures), (3, 4));
    // Each exit is recorded with its reason, after the start it ends.
    let exits: Vec<_> = records.iter().filter(|(k, _)| k == "service.exit").map(|(_, r)| r["reason"].clone()).collect();
    assert_eq!(exits, vec![Json::from("error"); 4]);
}

#[tokio::test(start_paused = true)]
async fn a_run_past_the_stable_threshold_resets_the_backoff() {
    let services_yaml = "  - name: flaky_service
    kind: process.service
    process: app:flaky
    lifecycle:
      auto_start: true
      stable_threshold: 5s
      restart: { initial_delay: 1s, jitter: 0, max_attempts: 3 }
";
    let node = node(app_dir("stable", &["flaky"], services_yaml));
    let services = Services::start(&node.runtime, deployer());
    until(|| kinds(&node.audit).iter().filter(|k| *k == "service.restart").count() >= 4).await;
    let delays: Vec<u64> = service_records(&node.audit)
        .iter()
        .filter(|(k, _)| k == "service.restart")
        .map(|(_, r)| r["delay_ms"].as_u64().unwrap())
        .collect();
    assert!(delays.iter().all(|d| *d == 1000), "every 10 s run was stable: {delays:?}");
    assert_ne!(state(&services, "app:flaky_service"), State::Failed, "stable runs never add up to max_attempts");
    services.stop().await;
}

#[tokio::test(start_paused = true)]
async fn services_start_after_what_they_require_and_a_normal_exit_is_not_restarted() {
    let yaml = "  - name: web
    kind: process.service
    process: app:steady
    lifecycle: { auto_start: true, requires: [ app:db ] }
  - name: db
    kind: process.service
    process: app:steady
  - name: once
    kind: process.service
    process: app:done
    lifecycle: { auto_start: true }
  - name: idle
    kind: process.service
    process: app:steady
";
    let node = node(app_dir("order", &["steady", "done"], yaml));
    let services = Services::start(&node.runtime, deployer());
    until(|| state(&services, "app:web") == State::Running && state(&services, "app:once") == State::Exited).await;
    let starts: Vec<String> = service_records(&node.audit)
        .into_iter()
        .filter(|(k, _)| k == "service.start")
        .map(|(_, r)| r["service"].as_str().unwrap().to_string())
        .collect();
    let at = |id: &str| starts.iter().position(|s| s == id).unwrap();
    assert!(at("app:db") < at("app:web"), "db (required, not auto-start) starts first: {starts:?}");
    assert!(!starts.contains(&"app:idle".to_string()), "a service nobody wants does not start");
    assert!(!kinds(&node.audit).contains(&"service.restart".to_string()), "a normal exit is not restarted");
    // Both steady services run as the deployer, decided by the app's policies.
    let spawns: Vec<_> = node.audit.records().into_iter().filter(|r| r["kind"] == "proc.spawn").collect();
    assert!(spawns.iter().all(|r| r["actor"] == "user:deployer"), "{spawns:?}");
    services.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_stop_cancels_then_terminates_after_stop_timeout_and_nothing_restarts() {
    let yaml = "  - name: stubborn
    kind: process.service
    process: app:steady
    lifecycle: { auto_start: true, stop_timeout: 3s }
";
    let node = node(app_dir("stop", &["steady"], yaml));
    let services = Services::start(&node.runtime, deployer());
    until(|| state(&services, "app:stubborn") == State::Running).await;
    let began = tokio::time::Instant::now();
    services.stop().await;
    assert!(began.elapsed() >= Duration::from_secs(3), "it had its stop_timeout: {:?}", began.elapsed());
    assert_eq!(state(&services, "app:stubborn"), State::Stopped);
    assert_eq!(node.runtime.live(), 0);
    let records = node.audit.records();
    let signal = records.iter().find(|r| r["kind"] == "proc.signal").expect("the CANCEL is recorded");
    assert_eq!(signal["signal"], "stop");
    let exit = records.iter().find(|r| r["kind"] == "service.exit").unwrap();
    assert_eq!(exit["reason"], "cancelled", "terminated when the stop timeout passed");
    assert!(!kinds(&node.audit).contains(&"service.restart".to_string()));
}

#[tokio::test(start_paused = true)]
async fn a_denied_start_is_a_failure_and_is_given_up() {
    let yaml = "  - name: nobody
    kind: process.service
    process: app:steady
    lifecycle:
      auto_start: true
      security: { actor: \"user:nobody\" }
      restart: { initial_delay: 10ms, jitter: 0, max_attempts: 2 }
";
    let node = node(app_dir("denied", &["steady"], yaml));
    let services = Services::start(&node.runtime, deployer());
    until(|| state(&services, "app:nobody") == State::Failed).await;
    assert_eq!(kinds(&node.audit), ["service.fail", "service.restart", "service.fail", "service.give_up"]);
    let fail = &service_records(&node.audit)[0].1;
    assert!(fail["error"].as_str().unwrap().contains("process.spawn"), "{fail:?}");
    assert_eq!(node.launcher.launches.load(Ordering::SeqCst), 0, "nothing ran without its decision");
}

#[tokio::test(start_paused = true)]
async fn a_redeploy_restarts_only_the_services_that_changed() {
    let yaml = "  - name: a
    kind: process.service
    process: app:steady
    lifecycle: { auto_start: true, stop_timeout: 1s }
  - name: b
    kind: process.service
    process: app:other
    lifecycle: { auto_start: true, stop_timeout: 1s }
";
    let node = node(app_dir("redeploy", &["steady", "other"], yaml));
    let services = Services::start(&node.runtime, deployer());
    until(|| state(&services, "app:a") == State::Running && state(&services, "app:b") == State::Running).await;
    let pid = |id: &str| services.status().into_iter().find(|s| s.id == id).and_then(|s| s.pid);
    let (a_before, b_before) = (pid("app:a"), pid("app:b"));
    // A new revision changes the source of `other` only, and adds a service.
    let added = "  - name: c
    kind: process.service
    process: app:steady
    lifecycle: { auto_start: true }
";
    write_app(&node.dir, &["steady"], "", "1");
    let other = "-- 2\nreturn { main = function() end }\n";
    std::fs::write(node.dir.join("other.lua"), other).unwrap();
    let manifest = std::fs::read_to_string(node.dir.join("_index.yaml")).unwrap()
        + "  - name: other\n    kind: process.lua\n    source: file://other.lua\n"
        + yaml
        + added;
    std::fs::write(node.dir.join("_index.yaml"), manifest).unwrap();
    let app = Arc::new(App::load(&node.dir).unwrap());
    let policies = PolicySet::load_dir(&node.dir.join("policies")).unwrap();
    node.runtime.replace_app(app, policies, &node.dir.join("policies"), "rev2").unwrap();
    let restarted = services.redeploy().await;
    assert_eq!(restarted, ["app:b", "app:c"]);
    until(|| state(&services, "app:b") == State::Running && state(&services, "app:c") == State::Running).await;
    assert_eq!(pid("app:a"), a_before, "an unchanged service keeps running");
    assert_ne!(pid("app:b"), b_before, "a changed one was restarted");
    assert!(node.audit.records().iter().any(|r| r["kind"] == "app.replace" && r["revision"] == "rev2"));
    services.stop().await;
    assert_eq!(node.runtime.live(), 0);
}

#[test]
fn bad_services_are_problems_naming_file_and_line() {
    let yaml = "  - name: s1
    kind: process.service
    process: app:missing
  - name: s2
    kind: process.service
    process: app:steady
    lifecycle:
      restart: { jitter: 2, backoff_factor: 0.5 }
      stop_timeout: 100000h
      requires: [ app:s3 ]
  - name: s3
    kind: process.service
    process: app:steady
    lifecycle: { requires: [ app:s2 ], bogus: 1 }
";
    let dir = app_dir("bad", &["steady"], yaml);
    let err = App::load(&dir).unwrap_err().to_string();
    for expected in [
        "_index.yaml:11: `process` of service `app:s1` names `app:missing`, which is not an entry of the app",
        "`lifecycle.restart.jitter` of service `app:s2` must be a number from 0 to 1",
        "`lifecycle.restart.backoff_factor` of service `app:s2` must be a number from 1 to 100",
        "`lifecycle.stop_timeout` of service `app:s2` is over the bound of 7 days",
        "unknown key `bogus` in `lifecycle` of service `app:s3`",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }
    // With the typos fixed the cycle remains, and is named.
    let cyclic = "  - name: s2
    kind: process.service
    process: app:steady
    lifecycle: { requires: [ app:s3 ] }
  - name: s3
    kind: process.service
    process: app:steady
    lifecycle: { requires: [ app:s2 ] }
";
    write_app(&dir, &["steady"], cyclic, "1");
    let err = App::load(&dir).unwrap_err().to_string();
    assert!(err.contains("services require each other in a cycle: app:s2 -> app:s3 -> app:s2"), "{err}");
}

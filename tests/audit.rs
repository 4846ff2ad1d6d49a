//! The audit log as a user and an auditor meet it: the log of a scenario (snapshot, PIDs and times redacted),
//! `corral audit verify` naming each kind of tampering, `corral audit show` filters, rotation, a runtime
//! killed mid-run, and a process whose audit record cannot be written being denied.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corral_core::Runtime;
use corral_core::app::App;
use corral_core::audit::{AuditError, AuditSink, MemoryAudit};
use corral_core::gate::Gate;
use corral_core::runtime::{Config, RootSpec};
use corral_policy::{Actor, PolicySet};
use corral_sandbox::Sandbox;
use serde_json::{Map, Value as Json};
use support::{copy_app, corral, root, temp, text};

const APP: &str = "tests/apps/audit";

/// Runs `entry` of the audit test app, logging to `audit`; its stdout.
fn run(app: &Path, audit: &Path, entry: &str) -> String {
    let out = corral(&["run", "--app", app.to_str().unwrap(), "--audit", audit.to_str().unwrap(), entry]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    text(&out.stdout)
}

fn verify(files: &[&Path], extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["audit", "verify"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    args.extend(extra);
    let out = corral(&args);
    (out.status.code(), text(&out.stdout) + &text(&out.stderr))
}

/// The scenario's log with what changes from run to run replaced: times, hashes, the incarnation (also inside
/// PIDs), the revision and measured durations.
fn redacted(log: &str) -> Vec<Json> {
    let incarnation = regex_free_incarnation(log);
    log.lines()
        .map(|line| {
            let line = line.replace(&format!("local@{incarnation}|"), "local@[inc]|");
            let mut record: Json = serde_json::from_str(&line).unwrap();
            for key in ["ts", "prev", "incarnation", "revision", "eval_us"] {
                if record.get(key).is_some() {
                    record[key] = Json::from(format!("[{key}]"));
                }
            }
            if record.get("source").is_some() {
                record["source"] = Json::from("[source]");
            }
            if let Some(counters) = record.get_mut("counters") {
                counters["wall_us"] = Json::from("[wall_us]");
                // Measured by the sandbox; the allocator's bytes vary with the VM a process lands on.
                let measured = counters["peak_memory_bytes"].as_u64().is_some_and(|b| b > 0);
                counters["peak_memory_bytes"] = Json::from(if measured { "[bytes > 0]" } else { "[none]" });
                // Safepoints: a receive that finds its message queued runs fewer than one that parks first,
                // and which one happens depends on the scheduling of the two processes.
                let counted = counters["instructions"].as_u64().is_some_and(|n| n > 0);
                counters["instructions"] = Json::from(if counted { "[n > 0]" } else { "[none]" });
            }
            record
        })
        .collect()
}

/// The hex incarnation inside the log's PIDs.
fn regex_free_incarnation(log: &str) -> String {
    let at = log.find("{local@").expect("a pid in the log") + "{local@".len();
    log[at..].chars().take_while(char::is_ascii_hexdigit).collect()
}

#[test]
fn the_log_of_a_scenario_records_every_decision_and_lifecycle_event() {
    let dir = temp("audit-snapshot");
    let audit = dir.join("audit.jsonl");
    let out = run(&root().join(APP), &audit, "app:main");
    assert!(out.contains(r#""reply":"pong""#), "{out}");
    let log = std::fs::read_to_string(&audit).unwrap();
    insta::assert_json_snapshot!("scenario_log", redacted(&log));
    assert_eq!(verify(&[&audit], &[]).0, Some(0));
}

#[test]
fn verify_names_the_first_bad_line_of_each_kind_of_tampering() {
    let dir = temp("audit-tamper");
    let audit = dir.join("audit.jsonl");
    run(&root().join(APP), &audit, "app:main");
    let log = std::fs::read_to_string(&audit).unwrap();
    let edited_line = log.lines().nth(5).unwrap().replace("\"decision\":\"allow\"", "\"decision\":\"deny\"");
    let forged = log.lines().nth(4).unwrap().to_string();
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() > 10);
    let join = |lines: &[&str]| lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    let mut edited = lines.clone();
    edited[5] = &edited_line;
    let mut deleted = lines.clone();
    deleted.remove(5);
    let mut inserted = lines.clone();
    inserted.insert(5, &forged);
    let mut reordered = lines.clone();
    reordered.swap(5, 6);
    let cases: Vec<(&str, String, &str, &str)> = vec![
        ("edited", join(&edited), "audit.jsonl:6:", "edited"),
        ("deleted", join(&deleted), "audit.jsonl:6:", "1 record(s) missing"),
        ("inserted", join(&inserted), "audit.jsonl:6:", "inserted"),
        ("reordered", join(&reordered), "audit.jsonl:6:", "reordered"),
        ("truncated", log[..log.len() - 20].to_string(), "", "truncated"),
    ];
    for (name, content, at, what) in cases {
        std::fs::write(&audit, content).unwrap();
        let (code, out) = verify(&[&audit], &[]);
        assert_eq!(code, Some(1), "{name}: {out}");
        let first = out.lines().next().unwrap_or("");
        let at = if name == "truncated" { format!("audit.jsonl:{}:", lines.len()) } else { at.to_string() };
        assert!(first.starts_with("broken: ") && first.contains(&at) && first.contains(what), "{name}: {out}");
    }
}

#[test]
fn a_deleted_tail_is_caught_against_a_checkpoint_only() {
    let dir = temp("audit-tail");
    let audit = dir.join("audit.jsonl");
    run(&root().join(APP), &audit, "app:main");
    let (code, out) = verify(&[&audit], &[]);
    assert_eq!(code, Some(0), "{out}");
    let summary = out.lines().next().unwrap();
    let hash = summary.rsplit(' ').next().unwrap();
    let seq = summary.split("..").nth(1).unwrap().split(',').next().unwrap();
    let checkpoint = format!("{seq}:{hash}");
    let log = std::fs::read_to_string(&audit).unwrap();
    let kept: String = log.lines().take(log.lines().count() - 2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&audit, kept).unwrap();
    let (code, out) = verify(&[&audit], &[]);
    assert_eq!(code, Some(0), "without a checkpoint a cut at a line end is not detectable: {out}");
    assert!(out.contains("does not end with `runtime.stop`"), "{out}");
    let (code, out) = verify(&[&audit], &["--checkpoint", &checkpoint]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("tail was deleted"), "{out}");
}

#[test]
fn show_filters_by_kind_decision_actor_and_pid() {
    let dir = temp("audit-show");
    let audit = dir.join("audit.jsonl");
    run(&root().join(APP), &audit, "app:main");
    let a = audit.to_str().unwrap();
    let show = |args: &[&str]| {
        let mut all = vec!["audit", "show", a];
        all.extend(args);
        let out = corral(&all);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout).lines().map(|l| serde_json::from_str::<Json>(l).unwrap()).collect::<Vec<_>>()
    };
    let denies = show(&["--decision", "deny"]);
    let basis: Vec<&str> = denies.iter().map(|r| r["basis"].as_str().unwrap()).collect();
    assert_eq!(basis, ["forbid", "default_deny"]);
    assert_eq!(denies[0]["policies"], serde_json::json!(["nobody.terminates"]));
    let exits = show(&["--kind", "proc.exit", "--actor", "user:alice"]);
    assert_eq!(exits.len(), 2);
    let worker = exits[0]["pid"].as_str().unwrap();
    let about_worker = show(&["--pid", worker, "--kind", "proc.*"]);
    let kinds: Vec<&str> = about_worker.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["proc.spawn", "proc.exit"]);
    let table = corral(&["audit", "show", a, "--format", "table", "--kind", "authz.decision", "--decision", "deny"]);
    let table = text(&table.stdout);
    assert_eq!(table.lines().count(), 3, "header and two rows: {table}");
    assert!(table.contains("deny process.terminate") && table.contains("by [nobody.terminates]"), "{table}");
}

#[test]
fn a_rotated_log_verifies_across_its_files_and_a_restart_continues_the_chain() {
    let app = copy_app(APP, "audit-rotate");
    let toml = std::fs::read_to_string(app.join("corral.toml")).unwrap();
    std::fs::write(app.join("corral.toml"), toml.replace("sync_interval = \"1ms\"", "rotate_size = \"2KiB\"")).unwrap();
    let audit = app.join("audit.jsonl");
    run(&app, &audit, "app:main");
    run(&app, &audit, "app:main");
    let mut files: Vec<_> = std::fs::read_dir(&app)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("audit."))
        .collect();
    files.sort();
    assert!(files.len() > 3, "{files:?}");
    assert_eq!(files.last(), Some(&audit), "the current file sorts last: {files:?}");
    let all: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let (code, out) = verify(&all, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("intact: ") && out.contains("seq 1.."), "{out}");
    let (code, out) = verify(&all[1..], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("chains to an earlier file"), "{out}");
    let (code, out) = verify(&[all[0], all[2]], &[]);
    assert_eq!(code, Some(1), "a file left out is a gap: {out}");
}

#[test]
fn a_runtime_killed_mid_run_leaves_a_log_that_verifies_and_the_next_run_continues_it() {
    let dir = temp("audit-crash");
    let audit = dir.join("audit.jsonl");
    let app = root().join(APP);
    let mut child = Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["run", "--app", app.to_str().unwrap(), "--audit", audit.to_str().unwrap(), "app:forever"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the runtime is well into its loop: a few hundred records synced to the file.
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&audit).map(|l| l.lines().count()).unwrap_or(0) < 300 {
        assert!(Instant::now() < deadline, "the runtime wrote too little");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let after_kill = std::fs::read_to_string(&audit).unwrap();
    let lines = after_kill.lines().count();
    let (code, out) = verify(&[&audit], &[]);
    if after_kill.ends_with('\n') {
        assert_eq!(code, Some(0), "{out}");
        assert!(out.contains(&format!("intact: {lines} records")), "{out}");
        assert!(out.contains("does not end with `runtime.stop`"), "{out}");
    } else {
        // Killed in the middle of a write: every whole line verifies, the cut one is named.
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains(&format!("audit.jsonl:{lines}: truncated")), "{out}");
        assert!(out.contains(&format!("the {} record(s) before it are intact", lines - 1)), "{out}");
    }
    let synced = after_kill.matches('\n').count();
    // A crash during a write leaves half a line; the next run cuts it and goes on from the last whole line.
    let mut log = std::fs::read(&audit).unwrap();
    log.extend_from_slice(br#"{"v":1,"seq":"#);
    std::fs::write(&audit, &log).unwrap();
    let (code, out) = verify(&[&audit], &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(&format!("audit.jsonl:{}: truncated", synced + 1)), "{out}");
    run(&app, &audit, "app:main");
    let (code, out) = verify(&[&audit], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("note: the log does not end"), "{out}");
}

#[test]
fn bad_audit_settings_name_the_file_and_line() {
    let app = copy_app(APP, "audit-settings");
    let toml = std::fs::read_to_string(app.join("corral.toml")).unwrap();
    std::fs::write(app.join("corral.toml"), toml.replace("\"1ms\"", "\"soon\"")).unwrap();
    let out = corral(&["run", "--app", app.to_str().unwrap(), "app:main"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("corral.toml:5: bad `[audit] sync_interval` `soon`"), "{}", text(&out.stderr));
}

/// A sink that refuses `process.send` decisions and keeps everything else.
struct RefusesSends(MemoryAudit);

impl AuditSink for RefusesSends {
    fn record(&self, kind: &str, fields: Map<String, Json>) -> Result<(), AuditError> {
        if fields.get("action").and_then(Json::as_str) == Some("process.send") {
            return Err(AuditError("the disk is full".into()));
        }
        self.0.record(kind, fields)
    }
}

#[test]
fn a_process_whose_audit_record_cannot_be_written_is_denied() {
    let dir = root().join(APP);
    let app = Arc::new(App::load(&dir).unwrap());
    let policies = PolicySet::load_dir(&dir.join("policies")).unwrap();
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let result = tokio.block_on(async {
        let node = Runtime::new(Config {
            node: "test".into(),
            app,
            gate: Gate::new(policies, Arc::new(RefusesSends(MemoryAudit::new()))),
            launcher: Arc::new(Sandbox::new(false)),
        });
        let spec = RootSpec {
            entry: "app:send_self".into(),
            host: "app:processes".into(),
            args: vec![],
            actor: Some(Arc::new(Actor::new("user:alice"))),
            scopes: vec![],
        };
        let (_, exit) = node.start_root(spec).unwrap();
        let exit = exit.await.unwrap();
        node.shutdown().await;
        exit.result.unwrap()
    });
    let result = result.to_json();
    assert_eq!(result["kind"], "PERMISSION_DENIED", "{result}");
    let message = result["message"].as_str().unwrap_or("");
    assert!(
        message.contains("process.send") && message.contains("audit log unavailable: the disk is full"),
        "{message}"
    );
}

#[test]
fn every_example_leaves_a_log_that_verifies_and_names_the_policy_of_each_denial() {
    let dir = temp("audit-examples");
    let mut denials = 0;
    for example in std::fs::read_dir(root().join("examples")).unwrap().flatten() {
        let name = example.file_name().to_string_lossy().into_owned();
        let entry = std::fs::read_to_string(example.path().join("entry")).unwrap_or_else(|_| "app:main".into());
        let audit = dir.join(format!("{name}.jsonl"));
        run(&example.path(), &audit, entry.trim());
        let (code, out) = verify(&[&audit], &[]);
        assert_eq!(code, Some(0), "{name}: {out}");
        for line in std::fs::read_to_string(&audit).unwrap().lines() {
            let record: Json = serde_json::from_str(line).unwrap();
            if record["decision"] == "deny" {
                denials += 1;
                let policies = record["policies"].as_array().map(Vec::len).unwrap_or(0);
                assert!(policies > 0 && record["basis"] == "forbid", "{name}: a denial without its policy: {line}");
            }
        }
    }
    assert!(denials > 0, "the examples deny something");
}

/// The lines of `log` from index `from` on given the `prev` of the line before each (after an edit), so only
/// the summary checks can catch what was changed.
fn rechain(lines: &mut [String], from: usize) {
    use sha2::{Digest, Sha256};
    for i in from.max(1)..lines.len() {
        let prev = hex::encode(Sha256::digest(lines[i - 1].as_bytes()));
        let line = &lines[i];
        assert!(line.ends_with("\"}") && line.len() > 66, "{line}");
        lines[i] = format!("{}{prev}\"}}", &line[..line.len() - 66]);
    }
}

/// The audit app with an entry that sends `n` messages to itself on `tick` (receiving each), sends at level
/// `metadata`, and `allows` as given.
fn burst_app(name: &str, allows: &str) -> std::path::PathBuf {
    let app = copy_app(APP, name);
    let index = std::fs::read_to_string(app.join("_index.yaml")).unwrap();
    let index = index + "  - name: burst\n    kind: process.lua\n    source: file://burst.lua\n";
    std::fs::write(app.join("_index.yaml"), index).unwrap();
    std::fs::write(
        app.join("burst.lua"),
        "local function main()\n    local inbox = process.inbox()\n    for i = 1, 1000 do\n        \
         process.send(process.pid(), \"tick\", i)\n        inbox:receive()\n    end\n    return \"done\"\nend\n\n\
         return { main = main }\n",
    )
    .unwrap();
    let toml = format!("[root]\nactor = \"user:alice\"\n\n[audit]\nsync_interval = \"1ms\"\nallows = \"{allows}\"\n");
    std::fs::write(app.join("corral.toml"), toml).unwrap();
    app
}

fn records(log: &str) -> Vec<Json> {
    log.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn cached_allows_are_counted_in_summaries_that_add_up_and_verify() {
    let app = burst_app("audit-summary", "summary");
    let audit = app.join("audit.jsonl");
    let out = run(&app, &audit, "app:burst");
    assert!(out.contains("done"), "{out}");
    let log = std::fs::read_to_string(&audit).unwrap();
    let all = records(&log);
    let sends: Vec<&Json> =
        all.iter().filter(|r| r["kind"] == "authz.decision" && r["action"] == "process.send").collect();
    assert_eq!(sends.len(), 2, "the first allow alone, and the first cached one: {sends:?}");
    assert_eq!(sends[0]["cached"], false);
    assert_eq!(sends[1]["cached"], true);
    let summaries: Vec<&Json> = all.iter().filter(|r| r["kind"] == "authz.summary").collect();
    assert!(!summaries.is_empty());
    let counted: u64 = summaries.iter().map(|s| s["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, 998, "every later cached allow is counted once");
    for summary in &summaries {
        assert_eq!(summary["action"], "process.send");
        assert_eq!(summary["topic"], "tick");
        assert_eq!(summary["pid"], sends[0]["pid"]);
        assert_eq!(summary["principal"], "user:alice");
        assert_eq!(summary["revision"], sends[0]["revision"]);
        assert_eq!(summary["policies"], serde_json::json!(["alice.send"]));
    }
    // Written before the exit of the process they count (flushed when it exits, at the latest).
    let exit_seq =
        all.iter().find(|r| r["kind"] == "proc.exit" && r["pid"] == sends[0]["pid"]).unwrap()["seq"].as_u64().unwrap();
    assert!(summaries.iter().all(|s| s["seq"].as_u64().unwrap() < exit_seq));
    let (code, out) = verify(&[&audit], &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("count 998 cached allow(s)"), "{out}");

    // One record per decision with `allows = "each"`.
    let each = burst_app("audit-summary-each", "each");
    let each_log = each.join("audit.jsonl");
    run(&each, &each_log, "app:burst");
    let all = records(&std::fs::read_to_string(&each_log).unwrap());
    let sends = all.iter().filter(|r| r["kind"] == "authz.decision" && r["action"] == "process.send").count();
    assert_eq!(sends, 1000);
    assert!(all.iter().all(|r| r["kind"] != "authz.summary"));
}

#[test]
fn verify_catches_a_summary_whose_count_or_ops_do_not_add_up() {
    let app = burst_app("audit-summary-tamper", "summary");
    let audit = app.join("audit.jsonl");
    run(&app, &audit, "app:burst");
    let log = std::fs::read_to_string(&audit).unwrap();
    let lines: Vec<String> = log.lines().map(str::to_string).collect();
    let at = lines.iter().position(|l| l.contains(r#""kind":"authz.summary""#)).unwrap();
    let summary: Json = serde_json::from_str(&lines[at]).unwrap();
    let count = summary["count"].as_u64().unwrap();
    let first_op = summary["first_op"].as_u64().unwrap();
    let decision = lines
        .iter()
        .position(|l| l.contains(r#""kind":"authz.decision""#) && l.contains(r#""action":"process.send""#))
        .unwrap();
    let op = serde_json::from_str::<Json>(&lines[decision]).unwrap()["op"].as_u64().unwrap();
    let write = |lines: &[String]| {
        std::fs::write(&audit, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
        verify(&[&audit], &[])
    };
    // A count that is not the number of its ops, the chain rewritten after it.
    let mut tampered = lines.clone();
    tampered[at] = tampered[at].replace(&format!(r#""count":{count},"#), &format!(r#""count":{},"#, count + 1));
    rechain(&mut tampered, at + 1);
    let (code, out) = write(&tampered);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("audit.jsonl:{}:", at + 1)) && out.contains(&format!("count {}", count + 1)),
        "{out}"
    );
    // An op counted twice: the individual decision edited to claim the summary's first op.
    let mut tampered = lines.clone();
    tampered[decision] = tampered[decision].replace(&format!(r#""op":{op},"#), &format!(r#""op":{first_op},"#));
    rechain(&mut tampered, decision + 1);
    let (code, out) = write(&tampered);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains(&format!("audit.jsonl:{}:", at + 1)) && out.contains(&format!("op {first_op} ")), "{out}");
    // A summary repeated under a new seq: every op in it twice.
    let mut tampered = lines.clone();
    let copy = tampered[at].replace(&format!(r#""seq":{},"#, summary["seq"]), r#""seq":0,"#);
    tampered.insert(at + 1, copy);
    for (i, line) in tampered.iter_mut().enumerate().skip(at + 1) {
        let record: Json = serde_json::from_str(line).unwrap();
        let old = format!(r#""seq":{},"#, record["seq"]);
        *line = line.replacen(&old, &format!(r#""seq":{},"#, i + 1), 1);
    }
    rechain(&mut tampered, at + 1);
    let (code, out) = write(&tampered);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("audit.jsonl:{}:", at + 2)) && out.contains("counted here and by an earlier"),
        "{out}"
    );
}

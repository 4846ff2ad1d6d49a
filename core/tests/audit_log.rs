//! The audit sink and the gate's records: the chain, reopening, a failing writer refusing records (and the gate
//! denying), and levels per action.

use std::path::PathBuf;
use std::sync::Arc;

use corral_core::audit::{AuditOptions, AuditSink, JsonlAudit, Level, Levels, MemoryAudit, Rule};
use corral_core::gate::{Caller, Gate, Operation, Target};
use corral_core::{Error, Pid};
use corral_policy::{Actor, PolicySet};
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn temp(name: &str) -> Result<PathBuf, std::io::Error> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("audit-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir.join("audit.jsonl"))
}

fn fields(n: u64) -> Map<String, Json> {
    let mut map = Map::new();
    map.insert("n".into(), n.into());
    map
}

#[test]
fn lines_chain_by_hash_and_a_reopened_log_goes_on() -> TestResult {
    let path = temp("chain")?;
    {
        let sink = JsonlAudit::open(&path, AuditOptions::default())?;
        sink.record("runtime.start", fields(1))?;
        sink.record("runtime.stop", fields(2))?;
        sink.sync()?;
    }
    {
        let sink = JsonlAudit::open(&path, AuditOptions::default())?;
        assert_eq!(sink.last_seq(), 2);
        sink.record("runtime.start", fields(3))?;
    } // Dropping the sink writes what it accepted.
    let text = std::fs::read_to_string(&path)?;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    let mut prev = "0".repeat(64);
    for (i, line) in lines.iter().enumerate() {
        let record: Json = serde_json::from_str(line)?;
        assert_eq!(record["seq"], Json::from(i + 1));
        assert_eq!(record["prev"], Json::from(prev.clone()));
        assert_eq!(record["n"], Json::from(i + 1));
        prev = hex::encode(Sha256::digest(line.as_bytes()));
    }
    Ok(())
}

#[test]
fn fields_named_like_the_sinks_own_are_dropped() -> TestResult {
    let path = temp("reserved")?;
    let sink = JsonlAudit::open(&path, AuditOptions::default())?;
    let mut forged = fields(1);
    forged.insert("seq".into(), 99.into());
    forged.insert("prev".into(), "x".into());
    sink.record("proc.exit", forged)?;
    sink.sync()?;
    let record: Json = serde_json::from_str(std::fs::read_to_string(&path)?.trim())?;
    assert_eq!(record["seq"], Json::from(1));
    assert_eq!(record["prev"], Json::from("0".repeat(64)));
    Ok(())
}

fn policies() -> Result<PolicySet, Box<dyn std::error::Error>> {
    let text = r#"
        @id("alice.send") permit (principal == Actor::"user:alice", action == Action::"process.send", resource);
        @id("no.link") forbid (principal, action == Action::"process.link", resource);
    "#;
    Ok(PolicySet::from_files(&[("p.cedar".into(), text.into())])?)
}

fn alice() -> Caller {
    let pid = Pid::new("test".into(), 1, "app:h".into(), 1);
    Caller {
        pid: Some(pid),
        entry: Some("app:main".into()),
        actor: Some(Arc::new(Actor::new("user:alice"))),
        scopes: Arc::from(Vec::new()),
    }
}

fn target() -> Target {
    Target { pid: Pid::new("test".into(), 1, "app:h".into(), 2), entry: "app:w".into(), actor: "user:alice".into() }
}

#[test]
fn a_writer_that_failed_refuses_records_and_the_gate_denies() -> TestResult {
    let sink = Arc::new(JsonlAudit::open(std::path::Path::new("/dev/full"), AuditOptions::default())?);
    // The first record is accepted; writing it fails in the writer, which sync reports...
    sink.record("runtime.start", fields(1))?;
    assert!(sink.sync().is_err());
    // ...and from then on every record is refused at once.
    assert!(sink.record("proc.exit", fields(2)).is_err());
    let gate = Gate::new(policies()?, sink);
    let target = target();
    let denied = gate.check(&alice(), Operation::Send { target: &target, topic: "t", bytes: 3 });
    match denied {
        Err(Error::Denied { action, reason: Some(reason), .. }) => {
            assert_eq!(action, "process.send");
            assert!(reason.starts_with("audit log unavailable: cannot write `/dev/full`"), "{reason}");
        }
        other => panic!("expected a deny, got {other:?}"),
    }
    Ok(())
}

#[test]
fn levels_drop_allows_add_context_and_never_drop_a_deny() -> TestResult {
    let audit = Arc::new(MemoryAudit::new());
    let levels = Levels::new(vec![
        Rule { actions: vec!["process.send".into()], level: Level::Request },
        Rule { actions: vec!["process.*".into()], level: Level::None },
    ]);
    let gate = Gate::new(policies()?, audit.clone()).with_levels(levels);
    let target = target();
    assert!(gate.check(&alice(), Operation::Send { target: &target, topic: "t", bytes: 42 }).is_ok());
    assert!(gate.check(&alice(), Operation::Link(&target)).is_err());
    assert!(gate.check(&alice(), Operation::Monitor(&target)).is_err());
    let records = audit.records();
    assert_eq!(records.len(), 3, "{records:?}");
    let send = &records[0];
    assert_eq!(send["level"], "request");
    assert_eq!(send["context"]["topic"], "t");
    assert_eq!(send["context"]["payload_bytes"], 42);
    let link = &records[1];
    assert_eq!(
        (&link["decision"], &link["level"], &link["basis"]),
        (&"deny".into(), &"metadata".into(), &"forbid".into())
    );
    assert_eq!(link["policies"], serde_json::json!(["no.link"]));
    assert!(link.get("context").is_none());
    let monitor = &records[2];
    assert_eq!((&monitor["basis"], &monitor["policies"]), (&"default_deny".into(), &serde_json::json!([])));
    Ok(())
}

#[test]
fn audit_fails_closed_a_second_sink_on_one_file_is_refused_until_the_first_is_gone() -> TestResult {
    let path = temp("lock")?;
    let first = JsonlAudit::open(&path, AuditOptions::default())?;
    let second = JsonlAudit::open(&path, AuditOptions::default());
    let message = second.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains(&format!("audit log `{}` is in use by another node", path.display())), "{message}");
    drop(first);
    JsonlAudit::open(&path, AuditOptions::default())?;
    Ok(())
}

/// Space for the records is allocated before they are accepted (beyond the file's end, which stays where
/// the records end), and given back when the sink closes.
#[cfg(target_os = "linux")]
#[test]
fn audit_fails_closed_space_is_reserved_ahead_and_given_back() -> TestResult {
    use std::os::unix::fs::MetadataExt;
    let path = temp("reserve")?;
    let sink = JsonlAudit::open(&path, AuditOptions::default())?;
    sink.record("runtime.start", fields(1))?;
    sink.sync()?;
    let meta = std::fs::metadata(&path)?;
    assert!(meta.len() < 1024, "the size is the records': {}", meta.len());
    assert!(meta.blocks() * 512 >= corral_core::audit::RESERVE_CHUNK, "reserved: {} blocks", meta.blocks());
    drop(sink);
    let meta = std::fs::metadata(&path)?;
    assert!(meta.blocks() * 512 < corral_core::audit::RESERVE_CHUNK, "given back: {} blocks", meta.blocks());
    Ok(())
}

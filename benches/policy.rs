//! The cost of a policy decision, cached and uncached, with 20 and with 200 policies (issue 3's targets:
//! cached <= 100 ns; uncached <= 10 us with 200 policies of which about 10 apply).
//! Prints figures; run with `cargo bench --bench policy`.
//!
//! The generated folder is a realistic multi-tenant set: four unscoped base rules (capabilities, own
//! processes, a forbid on secrets, admins' exec) and tenant rules under one `@scope` per tenant, ten per
//! tenant, mostly `process.send` by topic with some monitor, terminate and spawn rules. The measured request
//! is a send by a tenant's actor to one of its processes, in the tenant's scope.
//! - cached: the same request again (a cache hit).
//! - caller: a new caller PID each time (no policy reads `context.pid`).
//! - target: a new target process each time, of the same entry, host and actor (no policy names a PID).
//! - topic: a new topic each time: a context value the policies read, so the decision is not cached; the
//!   request's entities can be.
//! - uncached: `decide_uncached` on the same request: evaluation alone, the built Cedar sets and entities
//!   reused.
//! - entry: a target in a new entry each time: the request's entities are built anew, nothing is reused.
//! - unscoped: entry, against the same rules without `@scope` (only action pre-selection applies), to show
//!   what scope pre-selection saves.
//!
//! `CORRAL_BENCH_CACHED_ONLY=1` measures the cached column alone (for a profiler).

use std::hint::black_box;
use std::time::Instant;

use corral_policy::{Actor, AttrValue, PolicySet, Request, Resource};

const SCHEMA: &str = include_str!("../policies/schema.cedarschema");

/// Median nanoseconds per call over `rounds` rounds of `per_round` calls.
fn median_ns(rounds: usize, per_round: usize, mut f: impl FnMut(usize)) -> f64 {
    let mut samples = Vec::with_capacity(rounds);
    let mut i = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        for _ in 0..per_round {
            f(i);
            i += 1;
        }
        samples.push(started.elapsed().as_nanos() as f64 / per_round as f64);
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn policies(n: usize, scoped: bool) -> String {
    let mut text = String::from(
        r#"@id("capabilities")
permit (principal, action in [Action::"process.context", Action::"process.security"], resource is Capability);
@id("own-processes")
permit (principal, action in [Action::"process.send", Action::"process.monitor"], resource is Process)
when { resource.actor == principal };
@id("no-secrets")
forbid (principal, action == Action::"process.send", resource in Namespace::"secrets");
@id("admins-exec")
permit (principal, action == Action::"process.exec", resource) when { principal has role && principal.role == "admin" };
"#,
    );
    for i in 0..n.saturating_sub(4) {
        let tenant = i / 10;
        let scope = if scoped { format!("@scope(\"tenant{tenant}\")\n") } else { String::new() };
        let rule = match i % 10 {
            0..=6 => format!(
                "permit (principal in Tenant::\"t{tenant}\", action == Action::\"process.send\", \
                 resource in Namespace::\"t{tenant}\") when {{ context has topic && context.topic == \"topic{i}\" }};"
            ),
            7 => format!(
                "permit (principal in Tenant::\"t{tenant}\", action == Action::\"process.monitor\", \
                 resource in Namespace::\"t{tenant}\");"
            ),
            8 => format!(
                "permit (principal in Tenant::\"t{tenant}\", action == Action::\"process.terminate\", \
                 resource is Process in Namespace::\"t{tenant}\") when {{ resource.actor == principal }};"
            ),
            _ => format!(
                "permit (principal in Tenant::\"t{tenant}\", action == Action::\"process.spawn\", \
                 resource in Namespace::\"t{tenant}\");"
            ),
        };
        text.push_str(&format!("@id(\"rule{i}\")\n{scope}{rule}\n"));
    }
    text
}

fn entities(tenants: usize) -> String {
    let mut list = Vec::new();
    for t in 0..tenants.max(1) {
        list.push(format!(r#"{{"uid": {{"type": "Tenant", "id": "t{t}"}}, "attrs": {{}}, "parents": []}}"#));
        for a in 0..5 {
            list.push(format!(
                r#"{{"uid": {{"type": "Actor", "id": "t{t}:user{a}"}}, "attrs": {{}},
                    "parents": [{{"type": "Tenant", "id": "t{t}"}}]}}"#
            ));
        }
    }
    format!("[{}]", list.join(",\n"))
}

fn load(n: usize, scoped: bool) -> PolicySet {
    let files = [
        ("schema.cedarschema".to_owned(), SCHEMA.to_owned()),
        ("bench.cedar".to_owned(), policies(n, scoped)),
        ("entities.json".to_owned(), entities(n / 10)),
    ];
    match PolicySet::from_files(&files) {
        Ok(set) => set,
        Err(e) => panic!("the generated policies do not load: {e}"),
    }
}

fn main() {
    println!("policy decisions: median ns per decision, release build");
    println!("  cached: a repeated request; caller: a new caller PID each time; target: a new target process;");
    println!("  topic: a new topic (a context value the policies read); uncached: decide_uncached, same request;");
    println!("  entry: a target in a new entry (its entities built anew); unscoped: entry, rules without @scope");
    println!(
        "{:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8} {:>9} {:>10}",
        "policies", "applicable", "cached", "caller", "target", "topic", "uncached", "entry", "unscoped", "(applic.)"
    );
    for n in [20, 200] {
        let set = load(n, true);
        let unscoped = load(n, false);
        let actor = Actor::new("t0:user1");
        let target = |i: usize| Resource::Process {
            pid: format!("{{local@1|t0:processes|{i}}}").into(),
            entry: "t0.workers:handler".into(),
            host: "t0:processes".into(),
            actor: "t0:user1".into(),
        };
        let targets: Vec<Resource> = (0..100_000).map(target).collect();
        let scopes = vec!["tenant0".to_owned()];
        let context = [
            ("pid".to_owned(), AttrValue::from("{local@1|t0:processes|1}")),
            ("topic".to_owned(), AttrValue::from("topic3")),
        ];
        let request = Request {
            principal: Some(&actor),
            action: "process.send",
            resource: &targets[0],
            context: &context,
            scopes: &scopes,
        };
        let first = set.decide(&request);
        assert!(first.allowed, "the measured request must be allowed: {first:?}");
        assert_eq!(unscoped.decide(&request).allowed, first.allowed);
        let applicable = set.applicable("process.send", &scopes).len();
        let applicable_unscoped = unscoped.applicable("process.send", &[]).len();

        let cached = median_ns(101, 20_000, |_| {
            black_box(set.decide(black_box(&request)));
        });
        if std::env::var_os("CORRAL_BENCH_CACHED_ONLY").is_some() {
            // For profiling the hit path alone.
            println!("{n:>9} {applicable:>10} {cached:>8.0}");
            continue;
        }
        let pids: Vec<[(String, AttrValue); 2]> = (0..100_000)
            .map(|i| [("pid".to_owned(), AttrValue::from(format!("{{local@1|t0:processes|{i}}}"))), context[1].clone()])
            .collect();
        let topics: Vec<[(String, AttrValue); 2]> = (0..100_000)
            .map(|i| [context[0].clone(), ("topic".to_owned(), AttrValue::from(format!("t{i}")))])
            .collect();
        let entries: Vec<Resource> = (0..100_000)
            .map(|i| Resource::Process {
                pid: "{local@1|t0:processes|1}".into(),
                entry: format!("t0.workers:handler{i}").into(),
                host: "t0:processes".into(),
                actor: "t0:user1".into(),
            })
            .collect();
        let caller = median_ns(41, 1_000, |i| {
            let request = Request { context: &pids[(i + 1) % pids.len()], ..request };
            black_box(set.decide(black_box(&request)));
        });
        let target = median_ns(41, 1_000, |i| {
            let request = Request { resource: &targets[(i + 1) % targets.len()], ..request };
            black_box(set.decide(black_box(&request)));
        });
        let topic = median_ns(41, 1_000, |i| {
            let request = Request { context: &topics[(i + 1) % topics.len()], ..request };
            black_box(set.decide(black_box(&request)));
        });
        let uncached = median_ns(41, 1_000, |_| {
            black_box(set.decide_uncached(black_box(&request)));
        });
        let entry = median_ns(21, 500, |i| {
            let request = Request { resource: &entries[(i + 1) % entries.len()], ..request };
            black_box(set.decide(black_box(&request)));
        });
        let entry_unscoped = median_ns(21, 200, |i| {
            let request = Request { resource: &entries[(i + 50_001) % entries.len()], scopes: &[], ..request };
            black_box(unscoped.decide(black_box(&request)));
        });
        println!(
            "{n:>9} {applicable:>10} {cached:>8.0} {caller:>8.0} {target:>8.0} {topic:>8.0} {uncached:>9.0} {entry:>8.0} \
             {entry_unscoped:>9.0} {applicable_unscoped:>10}"
        );
    }
}

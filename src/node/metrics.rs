//! `GET /metrics`: the node's counters in the Prometheus text format, through `metrics-exporter-prometheus`.
//!
//! The recorder is the node's own value, never installed as the process-wide global (no global state): the
//! node registers each metric on it and renders its handle per scrape. Metrics without labels are registered
//! at boot, so they exist at zero. Label values are closed sets or names the operator chose (app, host,
//! route, service); never tenant payloads.

use corral_core::metrics::Snapshot;
use metrics::{Counter, Key, Label, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// The names `spec/node.md` lists, without labels, each registered at boot (`corral_service_restarts_total`
/// gets `app` and `service` labels once services restart; `corral_audit_sync_seconds` is written by
/// [`Metrics::render_with`]).
pub const UNLABELLED: [(&str, &str); 5] = [
    ("corral_spawns_total", "processes started"),
    ("corral_messages_total", "messages delivered"),
    ("corral_audit_records_total", "audit records written"),
    ("corral_mailbox_overflows_total", "sends refused by a full mailbox"),
    ("corral_service_restarts_total", "services restarted after an abnormal exit"),
];

/// The node's metrics.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

fn meta() -> Metadata<'static> {
    Metadata::new("corral::node", metrics::Level::INFO, Some(module_path!()))
}

impl Metrics {
    /// A recorder with every unlabelled metric at zero.
    pub fn new() -> Metrics {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let metrics = Metrics { recorder, handle };
        for (name, help) in UNLABELLED {
            metrics.recorder.describe_counter(name.into(), None, help.into());
            metrics.counter(name, &[]).absolute(0);
        }
        metrics
    }

    /// The counter `name` with `labels`.
    pub fn counter(&self, name: &'static str, labels: &[(&'static str, String)]) -> Counter {
        let labels: Vec<Label> = labels.iter().map(|(k, v)| Label::new(*k, v.clone())).collect();
        self.recorder.register_counter(&Key::from_parts(name, labels), &meta())
    }

    /// Sets the gauge `name` with `labels` to `value`.
    pub fn gauge(&self, name: &'static str, labels: &[(&'static str, String)], value: f64) {
        let labels: Vec<Label> = labels.iter().map(|(k, v)| Label::new(*k, v.clone())).collect();
        self.recorder.register_gauge(&Key::from_parts(name, labels), &meta()).set(value);
    }

    /// Counts one answered request of `route` (the matched route pattern, not the path) with `status`.
    pub fn request(&self, route: &str, status: u16) {
        self.counter("corral_http_requests_total", &[("route", route.to_string()), ("status", status.to_string())])
            .increment(1);
    }

    /// Copies the core counters (shared by every runtime of the node) and the live processes of each app by
    /// host into the recorder.
    pub fn update(&self, snap: &Snapshot, by_app: &[(String, Vec<(String, usize)>)]) {
        self.counter("corral_spawns_total", &[]).absolute(snap.spawns);
        self.counter("corral_messages_total", &[]).absolute(snap.messages);
        self.counter("corral_audit_records_total", &[]).absolute(snap.audit_records);
        self.counter("corral_mailbox_overflows_total", &[]).absolute(snap.mailbox_overflows);
        for (reason, n) in &snap.exits {
            self.counter("corral_exits_total", &[("reason", (*reason).to_string())]).absolute(*n);
        }
        for (limit, n) in &snap.limit_exits {
            self.counter("corral_limit_exits_total", &[("limit", (*limit).to_string())]).absolute(*n);
        }
        for d in &snap.decisions {
            let labels = [
                ("action", d.action.to_string()),
                ("decision", d.decision.to_string()),
                ("cached", d.cached.to_string()),
            ];
            self.counter("corral_decisions_total", &labels).absolute(d.count);
        }
        for (app, hosts) in by_app {
            for (host, live) in hosts {
                self.gauge("corral_processes", &[("app", app.clone()), ("host", host.clone())], *live as f64);
            }
        }
    }

    /// The Prometheus text of everything recorded, then `corral_decision_seconds`: core keeps that histogram
    /// in fixed buckets (the exporter's histograms are fed one observation at a time), so its series are
    /// written here in the same text format; then `corral_audit_sync_seconds`, a summary (`_count` syncs of
    /// the audit log, `_sum` seconds they took) from `syncs`.
    pub fn render_with(&self, snap: &Snapshot, syncs: (u64, std::time::Duration)) -> String {
        let mut text = self.handle.render();
        text.push_str("# HELP corral_audit_sync_seconds time spent syncing the audit log (fdatasync)\n");
        text.push_str("# TYPE corral_audit_sync_seconds summary\n");
        text.push_str(&format!("corral_audit_sync_seconds_sum {}\n", syncs.1.as_secs_f64()));
        text.push_str(&format!("corral_audit_sync_seconds_count {}\n", syncs.0));
        let h = &snap.decision_seconds;
        text.push_str("# HELP corral_decision_seconds time to decide one request\n");
        text.push_str("# TYPE corral_decision_seconds histogram\n");
        for (bound, n) in &h.buckets {
            text.push_str(&format!("corral_decision_seconds_bucket{{le=\"{bound}\"}} {n}\n"));
        }
        text.push_str(&format!("corral_decision_seconds_bucket{{le=\"+Inf\"}} {}\n", h.count));
        text.push_str(&format!("corral_decision_seconds_sum {}\n", h.sum_seconds));
        text.push_str(&format!("corral_decision_seconds_count {}\n", h.count));
        text
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

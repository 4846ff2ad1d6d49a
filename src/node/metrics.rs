//! `GET /metrics`: the node's counters in the Prometheus text format, through `metrics-exporter-prometheus`.
//!
//! The recorder is the node's own value, never installed as the process-wide global (no global state): the
//! node registers each metric on it and renders its handle per scrape. Metrics without labels are registered
//! at boot, so they exist at zero. Label values are closed sets or names the operator chose (app, host,
//! route, service); never tenant payloads.

use metrics::{Counter, Key, Label, Metadata, Recorder};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// The names `spec/node.md` lists, without labels, each registered at boot.
pub const UNLABELLED: [(&str, &str); 6] = [
    ("corral_spawns_total", "processes started"),
    ("corral_messages_total", "messages delivered"),
    ("corral_audit_records_total", "audit records written"),
    ("corral_mailbox_overflows_total", "sends refused by a full mailbox"),
    ("corral_audit_sync_seconds", "time spent syncing the audit log"),
    ("corral_service_restarts_total", "services restarted after an abnormal exit"),
];

/// Decision latency buckets, in seconds.
const DECISION_BUCKETS: [f64; 8] = [1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 1e-2];

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
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full("corral_decision_seconds".into()), &DECISION_BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
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

    /// The Prometheus text of everything recorded.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

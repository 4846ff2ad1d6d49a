//! `corral check`: every problem of manifests, scripts and policies, with file and line.

use crate::AppArgs;
use crate::boot;

/// Prints every problem (the scripts' findings among them), then the warnings; 0 when there is no problem, 1
/// otherwise.
pub fn run(args: &AppArgs) -> u8 {
    let boot::Checked { loaded, mut problems, findings, warnings } = boot::check(args);
    problems.extend(findings);
    for p in &problems {
        crate::boot::out(format_args!("{p}"));
    }
    for w in &warnings {
        crate::boot::out(format_args!("warning: {w}"));
    }
    match loaded.filter(|_| problems.is_empty()) {
        Some(loaded) => {
            crate::boot::out(format_args!(
                "ok: {} entries, {} hosts, {} policies (revision {})",
                loaded.app.entries.len(),
                loaded.app.hosts.len(),
                loaded.policies.policy_ids().len(),
                &loaded.policies.revision()[..12.min(loaded.policies.revision().len())]
            ));
            0
        }
        None => {
            crate::boot::out(format_args!("{} problem(s)", problems.len()));
            1
        }
    }
}

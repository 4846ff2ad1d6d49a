//! `corral check`: every problem of manifests, scripts and policies, with file and line.

use crate::AppArgs;
use crate::boot;

/// Prints every problem; 0 when clean, 1 otherwise.
pub fn run(args: &AppArgs) -> u8 {
    let boot::Checked { loaded, problems, warnings } = boot::check(args);
    for p in &problems {
        crate::boot::out(format_args!("{p}"));
    }
    for w in &warnings {
        crate::boot::out(format_args!("warning: {w}"));
    }
    match loaded {
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

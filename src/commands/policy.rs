//! `corral policy test`: runs a policy folder's tests (`<policies>/tests/*.yaml`) against it.

use clap::{Args, Subcommand};
use corral_policy::PolicySet;
use corral_policy::testing::{Outcome, load_tests};

use crate::AppArgs;
use crate::boot::{self, BAD_INPUT};

/// `corral policy ...`.
#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Load the policy folder and run its tests (`tests/*.yaml`): one line per test, then `N passed, M
    /// failed`. Exit 0 when all pass, 1 when one fails, 2 when the folder or a test file does not load.
    Test(PolicyArgs),
}

/// Where the policies are.
#[derive(Args, Debug)]
pub struct PolicyArgs {
    #[command(flatten)]
    app: AppArgs,
    /// Only tests whose name contains this text.
    filter: Option<String>,
}

/// Runs the command; the exit status.
pub fn run(command: PolicyCommand) -> u8 {
    match command {
        PolicyCommand::Test(args) => test(&args),
    }
}

fn test(args: &PolicyArgs) -> u8 {
    let dir = boot::policy_dir(&args.app);
    let set = match PolicySet::load_dir(&dir) {
        Ok(set) => set,
        Err(e) => {
            for problem in &e.problems {
                crate::boot::error(format_args!("{problem}"));
            }
            return BAD_INPUT;
        }
    };
    let outcomes = match run_tests(&set, &dir) {
        Ok(outcomes) => outcomes,
        Err(problems) => {
            for problem in problems {
                crate::boot::error(format_args!("{problem}"));
            }
            return BAD_INPUT;
        }
    };
    let outcomes: Vec<&Outcome> =
        outcomes.iter().filter(|o| args.filter.as_deref().is_none_or(|f| o.test.name.contains(f))).collect();
    for outcome in &outcomes {
        crate::boot::out(format_args!("{outcome}"));
    }
    let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
    crate::boot::out(format_args!("{} passed, {failed} failed", outcomes.len() - failed));
    u8::from(failed > 0)
}

/// Every test of the folder `dir` run against `set`. Errors: the test files' problems, one line each.
pub fn run_tests(set: &PolicySet, dir: &std::path::Path) -> Result<Vec<Outcome>, Vec<String>> {
    let tests = load_tests(dir).map_err(|e| e.problems.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    Ok(tests.iter().map(|t| t.run(set)).collect())
}

//! `corral`: the command line of the Corral runtime (`spec/cli-and-manifest.md`).
//!
//! `corral run` boots a node on an app and runs one root process; `corral test` runs the app's test entries;
//! `corral check` validates manifests, scripts (their requires, spawns and actors too) and policies; `corral
//! serve` runs a long-lived node with an HTTP API, and `corral deploy`, `apps`, `ps`, `spawn`, `send`, `call`,
//! `stop` are its client. Logs go to stderr through `tracing` (`RUST_LOG`).

mod boot;
mod commands;
mod lint;
mod node;
mod policy_lint;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Hosts untrusted Luau scripts as isolated, policy-checked, audited processes.
#[derive(Parser)]
#[command(name = "corral", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Boot the runtime, run ENTRY as the root process, print its return value as JSON.
    Run(commands::run::RunArgs),
    /// Run every entry with `meta.type: test`, one line each, then `N passed, M failed`.
    Test(commands::test::TestArgs),
    /// Load and validate manifests, scripts (parsed, then read for requires, spawns and actors) and policies;
    /// list every problem, then warnings.
    Check(AppArgs),
    /// Test policy folders.
    #[command(subcommand)]
    Policy(commands::policy::PolicyCommand),
    /// Read and verify audit logs.
    #[command(subcommand)]
    Audit(commands::audit::AuditCommand),
    /// Run a node: many apps, their services, and the HTTP API, until SIGTERM or SIGINT.
    Serve(commands::serve::ServeArgs),
    /// Deploy an app folder to a node (a new app or a new revision).
    Deploy(commands::client::DeployArgs),
    /// List a node's apps.
    Apps(commands::client::AppsArgs),
    /// List a node's live processes.
    Ps(commands::client::PsArgs),
    /// Spawn a process on a node.
    Spawn(commands::client::SpawnArgs),
    /// Send a message to a process on a node.
    Send(commands::client::SendArgs),
    /// Send a call to a process on a node and print its reply.
    Call(commands::client::CallArgs),
    /// Terminate a process on a node.
    Stop(commands::client::StopArgs),
}

/// Where the app and its policies are.
#[derive(Args, Clone, Debug)]
pub struct AppArgs {
    /// The app folder.
    #[arg(long, default_value = ".")]
    pub app: PathBuf,
    /// The policy folder (default: `<app>/policies`).
    #[arg(long)]
    pub policies: Option<PathBuf>,
}

/// Who the root process acts as.
#[derive(Args, Clone, Debug, Default)]
pub struct RootArgs {
    /// The root actor id (default: `[root] actor` of `corral.toml`).
    #[arg(long)]
    pub actor: Option<String>,
    /// A root scope name; repeat for several (default: `[root] scopes` of `corral.toml`).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// The host the root runs on (default: `[root] host`, else the app's only host, else `corral:default`).
    #[arg(long)]
    pub host: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (default, json) = match &cli.command {
        Command::Serve(args) => ("warn,corral=info,corral::script=info", args.log_json()),
        _ => ("warn,corral::script=info", false),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Logs go through a lossy, non-blocking writer: a full or closed stderr drops lines, never blocks or
    // panics a process. The guard flushes what is queued when it is dropped, at exit.
    let (stderr, flush) =
        tracing_appender::non_blocking::NonBlockingBuilder::default().lossy(true).finish(std::io::stderr());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(stderr);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
    let code = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Test(args) => commands::test::run(args),
        Command::Check(args) => commands::check::run(&args),
        Command::Audit(command) => commands::audit::run(command),
        Command::Policy(command) => commands::policy::run(command),
        Command::Serve(args) => commands::serve::run(args),
        Command::Deploy(args) => commands::client::deploy(args),
        Command::Apps(args) => commands::client::apps(args),
        Command::Ps(args) => commands::client::ps(args),
        Command::Spawn(args) => commands::client::spawn(args),
        Command::Send(args) => commands::client::send(args),
        Command::Call(args) => commands::client::call(args),
        Command::Stop(args) => commands::client::stop(args),
    };
    drop(flush);
    ExitCode::from(code)
}

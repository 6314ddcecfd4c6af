//! `completions` subcommand: a shell completion script on stdout (clap_complete).

use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

/// Arguments of `dora-evidence completions`.
#[derive(Debug, Args)]
pub(super) struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell (or elvish).
    #[arg(value_enum)]
    shell: Shell,
}

/// Runs `completions`: writes the script for `shell` to stdout.
pub(super) fn run(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = super::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "dora-evidence", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

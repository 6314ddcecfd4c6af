//! `dora-evidence` binary: parse the command line, run, map the outcome to an exit code.

fn main() -> std::process::ExitCode {
    dora_evidence::cli::main()
}

//! `dora-evidence` binary: parse the command line, run, map the outcome to an exit code.
#![forbid(unsafe_code)]

// Parsing makes and drops many small strings; mimalloc handles that faster than glibc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    dora_evidence::cli::main()
}

use clap::Parser;
use git_opencode::error;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = git_opencode::cli::Cli::parse();
    // Removes gix lock files on Ctrl-C, so an interrupted run never blocks the next one.
    let _interrupt = git_opencode::git::remove_lock_files_on_interrupt();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match git_opencode::run(cli, &mut out).and_then(|()| Ok(out.flush()?)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) if err.downcast_ref::<error::NeedsAttention>().is_some() => ExitCode::from(1),
        Err(err) => {
            eprintln!("error: {}", error::message(&err));
            for hint in error::hints(&err) {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

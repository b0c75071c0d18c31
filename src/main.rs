use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = git_opencode::cli::Cli::parse();
    // Removes gix lock files on Ctrl-C, so an interrupted run never blocks the next one.
    let _interrupt = gix::interrupt::init_handler_default(0);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match git_opencode::run(cli, &mut out).and_then(|()| Ok(out.flush()?)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let text = format!("{err:#}");
            // Hints travel inside the message after a newline; everything else is one line.
            let (message, hints) = match text.split_once("\nhint: ") {
                Some((m, h)) => (m.replace('\n', " "), Some(h.to_owned())),
                None => (text.replace('\n', " "), None),
            };
            eprintln!("error: {message}");
            if let Some(h) = hints {
                eprintln!("hint: {h}");
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

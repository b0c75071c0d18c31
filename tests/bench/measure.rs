//! Running commands for measurement: wall time, peak RSS, medians, and the result table.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A command with a complete environment (nothing inherited), so a wrapper can rebuild it.
#[derive(Clone, Debug)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: PathBuf,
    stdout: Option<PathBuf>,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>, cwd: &Path, env: &[(OsString, OsString)]) -> Cmd {
        Cmd {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: env.to_vec(),
            cwd: cwd.to_owned(),
            stdout: None,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Cmd {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sends standard output to `path` (as `> path` would).
    pub fn stdout_to(mut self, path: &Path) -> Cmd {
        self.stdout = Some(path.to_owned());
        self
    }

    fn command(&self, wrapper: Option<&Path>) -> Command {
        let mut cmd = match wrapper {
            Some(rss_file) => {
                let mut c = Command::new(TIME);
                c.args(["-f", "%M", "-o"]).arg(rss_file).arg(&self.program);
                c
            }
            None => Command::new(&self.program),
        };
        cmd.args(&self.args)
            .current_dir(&self.cwd)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stderr(Stdio::piped());
        match &self.stdout {
            Some(path) => cmd.stdout(fs::File::create(path).unwrap()),
            None => cmd.stdout(Stdio::piped()),
        };
        cmd
    }

    fn describe(&self) -> String {
        let mut s = self.program.to_string_lossy().into_owned();
        for a in &self.args {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        s
    }
}

/// GNU time, for the exact peak RSS of a child (`wait4`'s `ru_maxrss`).
const TIME: &str = "/usr/bin/time";

/// One run of a command.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub wall: Duration,
    /// Peak resident set size in KiB, when measured.
    pub rss_kib: Option<u64>,
}

/// Runs `cmd` to completion and panics with its output unless it exits 0. With `rss`, the
/// peak RSS is taken from `/usr/bin/time` (exact) or, without it, by polling
/// `/proc/<pid>/status` `VmHWM` (a lower bound).
pub fn run(cmd: &Cmd, rss: bool) -> (Sample, Vec<u8>) {
    let tmp = tempfile::NamedTempFile::new().unwrap();
    let use_time = rss && Path::new(TIME).is_file();
    let mut command = cmd.command(use_time.then(|| tmp.path()));
    let start = Instant::now();
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", cmd.describe()));
    let mut polled = 0u64;
    let output = if rss && !use_time {
        let pid = child.id();
        let waiter = std::thread::spawn(move || child.wait_with_output());
        while !waiter.is_finished() {
            if let Some(kib) = vm_hwm(pid) {
                polled = polled.max(kib);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        waiter.join().unwrap()
    } else {
        child.wait_with_output()
    }
    .unwrap();
    let wall = start.elapsed();
    assert!(
        output.status.success(),
        "{} failed: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        cmd.describe(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let rss_kib = match (rss, use_time) {
        (false, _) => None,
        (true, true) => fs::read_to_string(tmp.path())
            .ok()
            .and_then(|t| t.lines().last()?.trim().parse().ok()),
        (true, false) => Some(polled),
    };
    (Sample { wall, rss_kib }, output.stdout)
}

fn vm_hwm(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// How peak RSS is measured on this machine, for the table's footnote.
pub fn rss_method() -> &'static str {
    if Path::new(TIME).is_file() {
        "peak RSS from /usr/bin/time -f %M (wait4 ru_maxrss)"
    } else {
        "peak RSS from polling /proc/<pid>/status VmHWM every 2 ms (a lower bound)"
    }
}

/// `reps` timed runs (without a wrapper) plus, with `rss`, one more wrapped run for the
/// peak RSS. Returns the median wall time and the peak RSS.
pub fn measure(cmd: &Cmd, reps: usize, rss: bool) -> Sample {
    let mut walls: Vec<Duration> = (0..reps).map(|_| run(cmd, false).0.wall).collect();
    let rss_kib = if rss { run(cmd, true).0.rss_kib } else { None };
    Sample {
        wall: median(&mut walls),
        rss_kib,
    }
}

/// The median (the lower middle of an even count).
pub fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[(values.len() - 1) / 2]
}

pub fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 10.0 {
        format!("{s:.1} s")
    } else if s >= 1.0 {
        format!("{s:.2} s")
    } else {
        format!("{:.1} ms", s * 1000.0)
    }
}

pub fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

pub fn bytes(n: u64) -> String {
    if n >= 10 * 1024 * 1024 {
        format!("{:.0} MiB", n as f64 / 1048576.0)
    } else if n >= 1024 * 1024 {
        format!("{:.1} MiB", n as f64 / 1048576.0)
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}

/// One line of the result table.
pub struct Row {
    pub what: String,
    pub sessions: String,
    pub ours: String,
    pub baseline: String,
    pub ratio: String,
    pub target: String,
    pub ok: Option<bool>,
}

#[derive(Default)]
pub struct Table {
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
}

impl Table {
    /// Adds a row and logs it at once (the table is printed at the end).
    #[allow(clippy::too_many_arguments)]
    pub fn row(
        &mut self,
        what: &str,
        sessions: &str,
        ours: String,
        baseline: String,
        ratio: String,
        target: &str,
        ok: Option<bool>,
    ) {
        let row = Row {
            what: what.to_owned(),
            sessions: sessions.to_owned(),
            ours,
            baseline,
            ratio,
            target: target.to_owned(),
            ok,
        };
        eprintln!(
            "perf: {} [{}]: {} | {} | {}",
            row.what, row.sessions, row.ours, row.baseline, row.ratio
        );
        self.rows.push(row);
    }

    /// A Markdown table (it reads fine in a terminal too).
    pub fn render(&self) -> String {
        let header = [
            "measurement",
            "sessions",
            "git-opencode",
            "compared with",
            "ratio",
            "target",
            "holds",
        ];
        let cells: Vec<[String; 7]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.what.clone(),
                    r.sessions.clone(),
                    r.ours.clone(),
                    r.baseline.clone(),
                    r.ratio.clone(),
                    r.target.clone(),
                    match r.ok {
                        Some(true) => "yes".into(),
                        Some(false) => "**no**".into(),
                        None => String::new(),
                    },
                ]
            })
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cols: &[String]| {
            let mut s = String::from("|");
            for (c, w) in cols.iter().zip(widths) {
                s.push_str(&format!(" {c}{} |", " ".repeat(w - c.chars().count())));
            }
            s.push('\n');
            s
        };
        let mut out = line(&header.map(String::from));
        out.push_str(&line(&widths.map(|w| "-".repeat(w))));
        for row in &cells {
            out.push_str(&line(row));
        }
        for note in &self.notes {
            out.push_str(&format!("\n{note}"));
        }
        out.push('\n');
        out
    }
}

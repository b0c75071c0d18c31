//! A running `opencode serve`, and plain HTTP/1.1 requests to it.
//!
//! Some things OpenCode only does through its server API, not through `opencode run`: for
//! example compacting a session (`POST /session/:id/summarize`), or writing while another
//! process reads the store.

use super::opencode::OpencodeHome;
use super::process::stop_group;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::thread;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long the server may take to start answering (its first start in a home is slow on a
/// loaded machine: it migrates the store and loads the providers).
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// `opencode serve` of one home, in its own process group; dropping it stops the group.
pub struct Server {
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    child: Child,
    /// Holds the server's stdout and stderr.
    logs: TempDir,
}

impl Server {
    /// Starts `opencode serve --port 0` in `dir` with the hermetic env of `home`, reads the
    /// port it picked from its stdout (no race for a free port), and waits until it answers
    /// `GET /session`: the port opens before the server is ready, and a request sent too
    /// early may hang.
    pub fn start(home: &OpencodeHome, dir: &Path) -> Server {
        let logs = tempfile::Builder::new()
            .prefix("oc-serve-")
            .tempdir()
            .unwrap();
        let mut cmd = home.command(dir);
        cmd.args(["serve", "--hostname", "127.0.0.1", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(fs::File::create(logs.path().join("stdout")).unwrap())
            .stderr(fs::File::create(logs.path().join("stderr")).unwrap())
            .process_group(0);
        let child = cmd.spawn().expect("spawn opencode serve");
        let mut server = Server {
            port: 0,
            child,
            logs,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        server.port = server.wait_for(deadline, "print its port", |s| s.printed_port());
        server.wait_for(deadline, "answer GET /session", |s| {
            let response = s.request("GET", "/session", "", Duration::from_secs(3));
            response.is_ok_and(|r| r.is_ok()).then_some(())
        });
        server
    }

    /// Polls `ready` until it gives a value; panics with the server's output if the server
    /// exits or `deadline` passes first.
    fn wait_for<T>(
        &mut self,
        deadline: Instant,
        what: &str,
        ready: impl Fn(&Server) -> Option<T>,
    ) -> T {
        loop {
            if let Some(value) = ready(self) {
                return value;
            }
            let exited = self.child.try_wait().unwrap();
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "opencode serve did not {what} ({}):\n{}",
                match exited {
                    Some(status) => format!("exited: {status}"),
                    None => format!("still waiting after {READY_TIMEOUT:?}"),
                },
                self.output()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The port of the `opencode server listening on http://127.0.0.1:<port>` line.
    fn printed_port(&self) -> Option<u16> {
        let stdout = fs::read_to_string(self.log("stdout")).unwrap_or_default();
        stdout.lines().find_map(|line| {
            let url = line.split("listening on ").nth(1)?;
            url.trim().rsplit(':').next()?.parse().ok()
        })
    }

    fn log(&self, name: &str) -> PathBuf {
        self.logs.path().join(name)
    }

    /// Stdout and stderr so far, for failure messages.
    pub fn output(&self) -> String {
        let read = |name| fs::read_to_string(self.log(name)).unwrap_or_default();
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            read("stdout"),
            read("stderr")
        )
    }

    /// One request on a fresh connection (see [`http`]).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: &str,
        timeout: Duration,
    ) -> io::Result<Response> {
        http(self.port, method, path, body, timeout)
    }

    /// `POST <path>` with a JSON `body`, allowing 20 s.
    pub fn post(&self, path: &str, body: &str) -> io::Result<Response> {
        self.request("POST", path, body, Duration::from_secs(20))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        stop_group(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP response: its status and its body (chunks joined).
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

impl Response {
    /// Whether the status is 200.
    pub fn is_ok(&self) -> bool {
        self.status == 200
    }
}

/// One HTTP/1.1 request with `Connection: close` on a fresh connection; its response.
///
/// The body is read by its `Content-Length` (or chunks), not to the end of the stream: the
/// 1.18.34 server (Bun) keeps some connections open despite `Connection: close` (`POST
/// /api/session` held one for the whole read timeout).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
    timeout: Duration,
) -> io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((header, ""));
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse::<usize>().ok(),
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = line.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size, 16)
                .map_err(|_| io::Error::other(format!("bad chunk size {line:?}")))?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = length {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
    }
    let body = String::from_utf8(body).map_err(io::Error::other)?;
    Ok(Response { status, body })
}

//! A running `opencode serve`, and plain HTTP/1.1 requests to it.
//!
//! Some things OpenCode only does through its server API, not through `opencode run`: for
//! example compacting a session (`POST /session/:id/summarize`), or writing while another
//! process reads the store.

use super::opencode::OpencodeHome;
use super::process::stop_group;
use std::fs;
use std::io::{Read, Write};
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
            (status(&response) == Some(200)).then_some(())
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

    /// One request on a fresh connection; the whole response as text ("" when there is none
    /// within `timeout`).
    pub fn request(&self, method: &str, path: &str, body: &str, timeout: Duration) -> String {
        http(self.port, method, path, body, timeout)
    }

    /// `POST <path>` with a JSON `body`, allowing 20 s.
    pub fn post(&self, path: &str, body: &str) -> String {
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

/// A minimal HTTP/1.1 request with `Connection: close`; the whole response as text ("" when
/// there is none).
pub fn http(port: u16, method: &str, path: &str, body: &str, timeout: Duration) -> String {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    let mut response = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    // Bun's server keeps the connection open despite `Connection: close`: stop reading once
    // the response is complete rather than wait for the end of the stream.
    while !is_complete(&response) {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&response).into_owned()
}

/// Whether the raw `response` holds its whole body, by `Content-Length` or the last chunk
/// (without either, the body ends with the stream).
fn is_complete(response: &[u8]) -> bool {
    let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
    let body = &response[end + 4..];
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':').map(str::trim))
    };
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        return body.len() >= len;
    }
    header("transfer-encoding").is_some_and(|v| v.contains("chunked"))
        && (body == b"0\r\n\r\n" || body.ends_with(b"\r\n0\r\n\r\n"))
}

/// The status code of a raw HTTP/1.1 `response`.
pub fn status(response: &str) -> Option<u16> {
    response
        .strip_prefix("HTTP/1.1 ")?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

//! A one-line progress counter on stderr, shown only when stderr is a terminal.

use std::io::{IsTerminal, Write};

pub struct Progress {
    label: &'static str,
    total: usize,
    done: usize,
    enabled: bool,
}

impl Progress {
    pub fn new(label: &'static str, total: usize, wanted: bool) -> Progress {
        Progress {
            label,
            total,
            done: 0,
            enabled: wanted && std::io::stderr().is_terminal(),
        }
    }

    pub fn tick(&mut self) {
        self.done += 1;
        if self.enabled {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{}: {}/{}", self.label, self.done, self.total);
            let _ = err.flush();
        }
    }

    pub fn finish(&mut self) {
        if self.enabled {
            eprintln!(", done.");
            self.enabled = false;
        }
    }
}

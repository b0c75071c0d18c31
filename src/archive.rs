//! The pack zip (format version 1): deterministic bytes for the same input.
//!
//! Entries are added in the caller's (sorted) order with one fixed timestamp, fixed
//! permissions and the Unix "made by" system, so nothing depends on the clock or the host.
//! Each entry's size and SHA-256 are recorded for the manifest.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::io::{Seek, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

/// One written entry, as the manifest lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EntryRecord {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

pub struct PackWriter<W: Write + Seek> {
    zip: ZipWriter<W>,
    options: SimpleFileOptions,
    entries: Vec<EntryRecord>,
}

impl<W: Write + Seek> PackWriter<W> {
    /// `modified` is stamped on every entry (DOS time: 1980–2107, two-second steps).
    pub fn new(out: W, modified: time::OffsetDateTime) -> Result<Self> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(1))
            .last_modified_time(dos_time(modified))
            .unix_permissions(0o644)
            .system(System::Unix)
            .large_file(false);
        Ok(PackWriter {
            zip: ZipWriter::new(out),
            options,
            entries: Vec::new(),
        })
    }

    /// Adds one entry and records its checksum.
    pub fn add(&mut self, path: &str, data: &[u8]) -> Result<()> {
        let mut options = self.options;
        if data.len() as u64 >= u32::MAX as u64 {
            options = options.large_file(true);
        }
        self.zip
            .start_file(path, options)
            .with_context(|| format!("failed to add {path} to the zip"))?;
        self.zip
            .write_all(data)
            .with_context(|| format!("failed to write {path} into the zip"))?;
        self.entries.push(EntryRecord {
            path: path.to_owned(),
            size: data.len() as u64,
            sha256: sha256_hex(data),
        });
        Ok(())
    }

    pub fn entries(&self) -> &[EntryRecord] {
        &self.entries
    }

    pub fn finish(self) -> Result<W> {
        self.zip.finish().context("failed to finish the zip")
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn dos_time(t: time::OffsetDateTime) -> DateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    let year = t.year().clamp(1980, 2107) as u16;
    DateTime::from_date_and_time(
        year,
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second() & !1,
    )
    .unwrap_or_default()
}

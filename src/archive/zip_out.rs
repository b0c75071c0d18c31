//! The pack's zip layout, written by hand so that entries can be deflated on any thread.
//!
//! The zip crate deflates on the thread that writes the archive; the entries it accepts
//! compressed elsewhere each get a fresh deflate state of ~300 KB, and the churn of those
//! allocations fragmented glibc's heap (330 MiB peak RSS for 1,000 small sessions). Here each
//! worker keeps one [`Deflater`] (see [`crate::deflate`]), and [`ZipOut`] lays the entries out after
//! APPNOTE 6.3.10 exactly as the zip crate (9.8) writes the same entries with
//! `SimpleFileOptions { Deflated, level 1, unix_permissions 0o644, System::Unix }`: a local
//! header with the sizes (no data descriptor), no extra field but ZIP64's, one timestamp,
//! the central directory, then the end record (ZIP64's too past 65,535 entries or 4 GiB).
//! A unit test holds the two byte for byte.

use crate::deflate::Deflater;
use anyhow::{Context, Result};
use std::io::Write;

/// One entry's deflated bytes, with what its headers record about the original.
pub struct Deflated {
    pub crc32: u32,
    pub size: u64,
    pub data: Vec<u8>,
}

impl Deflated {
    /// `data` deflated as a zip entry holds it (raw deflate at level 1, what `zip -1` and
    /// the zip crate write), with its CRC-32.
    pub fn new(deflater: &mut Deflater, data: &[u8]) -> Result<Deflated> {
        Ok(Deflated {
            crc32: crc32fast::hash(data),
            size: data.len() as u64,
            data: deflater.deflate(&[data])?,
        })
    }
}

/// The deflate state for [`Deflated::new`]: one per thread, reused for every entry.
pub fn entry_deflater() -> Deflater {
    Deflater::raw(1)
}

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL: u32 = 0x0605_4b50;
const ZIP64_END_OF_CENTRAL: u32 = 0x0606_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const ZIP64_EXTRA: u16 = 0x0001;
/// Sizes and offsets at or past this go into ZIP64 fields; the 32-bit field holds it as a mark.
const ZIP64_BYTES: u64 = u32::MAX as u64;
/// Past this many entries the end record's counts go into the ZIP64 end record.
const ZIP64_ENTRIES: usize = u16::MAX as usize;
const DEFLATED: u16 = 8;
/// APPNOTE 4.4.3: 2.0 for deflate, 4.5 for ZIP64.
const VERSION_DEFLATE: u16 = 20;
const VERSION_ZIP64: u16 = 45;
/// "Made by" Unix (3), so readers apply the mode in the external attributes.
const MADE_BY_UNIX: u16 = 3 << 8;
/// A regular file, mode 0644, in the high half of the external attributes.
const EXTERNAL_ATTRIBUTES: u32 = 0o100_644 << 16;
/// APPNOTE 4.4.4 bit 11: the name is UTF-8 (set only when it is not plain ASCII).
const UTF8_NAME: u16 = 1 << 11;

/// A zip being written front to back: entries in the order they are added, then the
/// central directory and end records on [`ZipOut::finish`].
pub struct ZipOut<W: Write> {
    out: W,
    /// Bytes written so far: where the next local header starts.
    position: u64,
    /// The DOS time and date stamped on every entry.
    time: u16,
    date: u16,
    central: Vec<u8>,
    entries: usize,
    needs_zip64_version: bool,
}

impl<W: Write> ZipOut<W> {
    /// `(time, date)`: the DOS time and date every entry is stamped with.
    pub fn new(out: W, (time, date): (u16, u16)) -> Self {
        ZipOut {
            out,
            position: 0,
            time,
            date,
            central: Vec::new(),
            entries: 0,
            needs_zip64_version: false,
        }
    }

    /// Appends entry `name` holding `entry`.
    pub fn add(&mut self, name: &str, entry: &Deflated) -> Result<()> {
        let (size, compressed) = (entry.size, entry.data.len() as u64);
        let large = size >= ZIP64_BYTES || compressed >= ZIP64_BYTES;
        let offset = self.position;
        let far = offset >= ZIP64_BYTES;
        let name_bytes = name.as_bytes();
        let name_len = u16::try_from(name_bytes.len())
            .with_context(|| format!("zip entry name too long: {name}"))?;
        let flags = if name.is_ascii() { 0 } else { UTF8_NAME };
        let version = if large {
            VERSION_ZIP64
        } else {
            VERSION_DEFLATE
        };
        let (size32, compressed32) = if large {
            (u32::MAX, u32::MAX)
        } else {
            (size as u32, compressed as u32)
        };

        let mut local = Vec::with_capacity(30 + name_bytes.len() + 20);
        put32(&mut local, LOCAL_HEADER);
        put16(&mut local, version);
        put16(&mut local, flags);
        put16(&mut local, DEFLATED);
        put16(&mut local, self.time);
        put16(&mut local, self.date);
        put32(&mut local, entry.crc32);
        put32(&mut local, compressed32);
        put32(&mut local, size32);
        put16(&mut local, name_len);
        put16(&mut local, if large { 20 } else { 0 });
        local.extend_from_slice(name_bytes);
        if large {
            put16(&mut local, ZIP64_EXTRA);
            put16(&mut local, 16);
            put64(&mut local, size);
            put64(&mut local, compressed);
        }
        self.write(&local, name)?;
        self.write(&entry.data, name)?;
        self.position += local.len() as u64 + compressed;

        // The central record: the ZIP64 field carries exactly the values marked 0xFFFFFFFF.
        let extra_len = if large { 16 } else { 0 } + if far { 8 } else { 0 };
        let central_version = if far { VERSION_ZIP64 } else { version };
        self.needs_zip64_version |= large || far;
        let c = &mut self.central;
        put32(c, CENTRAL_HEADER);
        put16(c, MADE_BY_UNIX | central_version);
        put16(c, central_version);
        put16(c, flags);
        put16(c, DEFLATED);
        put16(c, self.time);
        put16(c, self.date);
        put32(c, entry.crc32);
        put32(c, compressed32);
        put32(c, size32);
        put16(c, name_len);
        put16(c, if extra_len > 0 { extra_len + 4 } else { 0 });
        put16(c, 0); // comment length
        put16(c, 0); // disk number
        put16(c, 0); // internal attributes
        put32(c, EXTERNAL_ATTRIBUTES);
        put32(c, offset.min(ZIP64_BYTES) as u32);
        c.extend_from_slice(name_bytes);
        if extra_len > 0 {
            put16(c, ZIP64_EXTRA);
            put16(c, extra_len);
            if large {
                put64(c, size);
                put64(c, compressed);
            }
            if far {
                put64(c, offset);
            }
        }
        self.entries += 1;
        Ok(())
    }

    /// Writes the central directory and the end records, and hands the sink back.
    pub fn finish(mut self) -> Result<W> {
        let central_start = self.position;
        let central = std::mem::take(&mut self.central);
        self.write(&central, "the central directory")?;
        let central_size = central.len() as u64;
        let zip64 = self.entries > ZIP64_ENTRIES || central_size.max(central_start) > ZIP64_BYTES;
        let mut end = Vec::with_capacity(22 + 56 + 20);
        if zip64 {
            let version = if self.needs_zip64_version {
                VERSION_ZIP64
            } else {
                VERSION_DEFLATE
            };
            put32(&mut end, ZIP64_END_OF_CENTRAL);
            put64(&mut end, 44); // the size of what follows this field
            put16(&mut end, version);
            put16(&mut end, version);
            put32(&mut end, 0); // this disk
            put32(&mut end, 0); // the disk the central directory starts on
            put64(&mut end, self.entries as u64);
            put64(&mut end, self.entries as u64);
            put64(&mut end, central_size);
            put64(&mut end, central_start);
            put32(&mut end, ZIP64_LOCATOR);
            put32(&mut end, 0);
            put64(&mut end, central_start + central_size);
            put32(&mut end, 1); // disks in all
        }
        let entries = self.entries.min(ZIP64_ENTRIES) as u16;
        put32(&mut end, END_OF_CENTRAL);
        put16(&mut end, 0);
        put16(&mut end, 0);
        put16(&mut end, entries);
        put16(&mut end, entries);
        put32(&mut end, if zip64 { u32::MAX } else { central_size as u32 });
        put32(&mut end, central_start.min(ZIP64_BYTES) as u32);
        put16(&mut end, 0); // comment length
        self.write(&end, "the end of the zip")?;
        Ok(self.out)
    }

    fn write(&mut self, bytes: &[u8], what: &str) -> Result<()> {
        self.out
            .write_all(bytes)
            .with_context(|| format!("failed to write {what} into the zip"))
    }
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Read};
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, DateTime, System, ZipWriter};

    fn stamp() -> DateTime {
        DateTime::from_date_and_time(2026, 12, 2, 11, 30, 58).unwrap()
    }

    /// What the zip crate writes for the same entries with the pack's options.
    fn by_the_zip_crate(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(1))
            .last_modified_time(stamp())
            .unix_permissions(0o644)
            .system(System::Unix)
            .large_file(false);
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            zip.start_file(name.as_str(), options).unwrap();
            std::io::Write::write_all(&mut zip, data).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn by_us(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
        let mut deflater = entry_deflater();
        let stamp = stamp();
        let mut zip = ZipOut::new(Vec::new(), (stamp.timepart(), stamp.datepart()));
        for (name, data) in entries {
            zip.add(name, &Deflated::new(&mut deflater, data).unwrap())
                .unwrap();
        }
        zip.finish().unwrap()
    }

    /// Names the first differing byte instead of printing two whole zips.
    fn assert_same(ours: &[u8], theirs: &[u8]) {
        let first = ours.iter().zip(theirs).position(|(a, b)| a != b);
        let at = first.unwrap_or(ours.len().min(theirs.len()));
        let around = |z: &[u8]| z[at.saturating_sub(16)..(at + 16).min(z.len())].to_vec();
        assert!(
            first.is_none() && ours.len() == theirs.len(),
            "zips differ at byte {at} of {} / {}: ours {:?}, zip crate {:?}",
            ours.len(),
            theirs.len(),
            around(ours),
            around(theirs)
        );
    }

    fn sample_entries(count: usize) -> Vec<(String, Vec<u8>)> {
        (0..count)
            .map(|i| {
                let text = format!("{{\n  \"id\": \"ses_{i:06}\",\n  \"n\": {}\n}}\n", i * 7);
                (
                    format!("sessions/ses_{i:06}.json"),
                    text.repeat(1 + i % 5).into(),
                )
            })
            .collect()
    }

    #[test]
    fn the_same_bytes_as_the_zip_crate() {
        let mut entries = sample_entries(40);
        entries.push(("project/global.json".into(), Vec::new()));
        entries.push(("sessions/日本語.json".into(), "漢字 こんにちは".into()));
        // Larger than one deflate buffer, and incompressible enough to grow the output.
        let noise: Vec<u8> = (0..300_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        entries.push(("sessions/noise.json".into(), noise));
        let ours = by_us(&entries);
        assert_same(&ours, &by_the_zip_crate(&entries));

        let mut back = zip::ZipArchive::new(Cursor::new(ours)).unwrap();
        for (name, data) in &entries {
            let mut read = Vec::new();
            back.by_name(name).unwrap().read_to_end(&mut read).unwrap();
            assert_eq!(&read, data, "{name}");
        }
    }

    #[test]
    fn past_65535_entries_the_counts_go_into_zip64_records() {
        let entries: Vec<(String, Vec<u8>)> = (0..66_000)
            .map(|i| (format!("e/{i}"), Vec::new()))
            .collect();
        let ours = by_us(&entries);
        assert_same(&ours, &by_the_zip_crate(&entries));
        let back = zip::ZipArchive::new(Cursor::new(ours)).unwrap();
        assert_eq!(back.len(), 66_000);
    }

    #[test]
    fn an_entry_past_4_gib_records_its_offset_in_zip64() {
        // Writing 4 GiB is too slow for a unit test: start the writer as if it had.
        let mut zip = ZipOut::new(Vec::new(), (0, 0x21));
        zip.position = ZIP64_BYTES + 10;
        let entry = Deflated::new(&mut entry_deflater(), b"{}").unwrap();
        zip.add("far.json", &entry).unwrap();
        let central = zip.central.clone();
        // Offset field marked, ZIP64 extra field with the real offset, version 4.5.
        assert_eq!(&central[42..46], &u32::MAX.to_le_bytes());
        assert_eq!(u16::from_le_bytes([central[6], central[7]]), VERSION_ZIP64);
        let extra = &central[46 + "far.json".len()..];
        assert_eq!(&extra[..4], &[1, 0, 8, 0]);
        assert_eq!(&extra[4..], &(ZIP64_BYTES + 10).to_le_bytes());
        let out = zip.finish().unwrap();
        // The end records: ZIP64 end, its locator, then the classic end with marks.
        let end = &out[out.len() - 22..];
        assert_eq!(&end[..4], &END_OF_CENTRAL.to_le_bytes());
        assert_eq!(&end[12..16], &u32::MAX.to_le_bytes());
        assert_eq!(&end[16..20], &u32::MAX.to_le_bytes());
        let locator = &out[out.len() - 42..out.len() - 22];
        assert_eq!(&locator[..4], &ZIP64_LOCATOR.to_le_bytes());
        let zip64_end = &out[out.len() - 98..out.len() - 42];
        assert_eq!(&zip64_end[..4], &ZIP64_END_OF_CENTRAL.to_le_bytes());
        // The central directory starts where the (pretend) earlier bytes end.
        let start = u64::from_le_bytes(zip64_end[48..56].try_into().unwrap());
        assert_eq!(start, ZIP64_BYTES + 10 + 30 + 8 + entry.data.len() as u64);
    }
}

//! One reusable deflate state per thread, for the zip entries `pack` writes and the loose
//! blobs `push-sessions` writes.
//!
//! A fresh zlib state is ~300 KB. gix and the zip crate make one per object or entry; made
//! and freed thousands of times between the sessions' own buffers, those allocations
//! fragmented glibc's heap (`push-sessions`' first run grew to 600 MiB on 1,000 small
//! sessions). Each worker here keeps one state and resets it between streams.

use anyhow::{Context, Result};
use flate2::{Compress, Compression, FlushCompress, Status};

/// A deflate state: raw (zip entries) or zlib-wrapped (git objects).
pub struct Deflater {
    compress: Compress,
}

impl Deflater {
    /// Raw deflate at `level`, as zip entries hold it.
    pub fn raw(level: u32) -> Self {
        Deflater {
            compress: Compress::new(Compression::new(level), false),
        }
    }

    /// A zlib stream at `level`, as git's loose objects are.
    pub fn zlib(level: u32) -> Self {
        Deflater {
            compress: Compress::new(Compression::new(level), true),
        }
    }

    /// `pieces`, one after the other, as one compressed stream.
    pub fn deflate(&mut self, pieces: &[&[u8]]) -> Result<Vec<u8>> {
        if pieces.is_empty() {
            return self.deflate(&[&[]]);
        }
        self.compress.reset();
        let total: usize = pieces.iter().map(|p| p.len()).sum();
        // Text shrinks to a fifth or less; the buffer grows when it does not.
        let mut out = Vec::with_capacity(total / 4 + 64);
        for (i, piece) in pieces.iter().enumerate() {
            // All the input first, then the finish, as flate2's writers (and so the zip
            // crate) do: finishing with input still pending ends the blocks elsewhere.
            let last = i + 1 == pieces.len();
            let start = self.compress.total_in();
            loop {
                let consumed = (self.compress.total_in() - start) as usize;
                let flush = if last && consumed == piece.len() {
                    FlushCompress::Finish
                } else {
                    FlushCompress::None
                };
                let status = self
                    .compress
                    .compress_vec(&piece[consumed..], &mut out, flush)
                    .context("failed to deflate")?;
                if status == Status::StreamEnd {
                    break;
                }
                let consumed = (self.compress.total_in() - start) as usize;
                if !last && consumed == piece.len() {
                    break;
                }
                if out.len() == out.capacity() {
                    out.reserve(out.capacity().max(4096));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn inflate_zlib(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn pieces_make_one_stream_and_the_state_is_reused() {
        let mut zlib = Deflater::zlib(1);
        let body: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for _ in 0..3 {
            let out = zlib.deflate(&[b"blob 5\0", b"hello"]).unwrap();
            assert_eq!(inflate_zlib(&out), b"blob 5\0hello");
            let out = zlib.deflate(&[b"head", &body, b""]).unwrap();
            assert_eq!(inflate_zlib(&out), [&b"head"[..], &body].concat());
            let out = zlib.deflate(&[b""]).unwrap();
            assert_eq!(inflate_zlib(&out), b"");
        }
    }
}

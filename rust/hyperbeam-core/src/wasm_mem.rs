//! Bounds-checked access to a WebAssembly guest's linear memory (spec runtime §14.4, §14.6).
//!
//! Every function takes the memory as a byte slice plus guest offsets (`u64`, so memory64
//! addresses work) and never panics on guest-controlled input: each offset/length pair is
//! checked with overflow-safe arithmetic and a bad one gives a [`MemError`]. The binding
//! (`hyperbeam-py/src/wasm_mem.rs`) builds the slice from wasmtime's `Memory.data_ptr` /
//! `data_len`; this module itself has no `unsafe`.

use std::fmt;

/// A guest memory access that falls outside the memory (or a malformed iovec list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemError {
    /// `offset + len` is past the end of memory (or overflows `u64`).
    OutOfBounds { offset: u64, len: u64, size: u64 },
    /// No NUL byte between `offset` and the limit (end of memory or `max`).
    Unterminated { offset: u64 },
}

impl fmt::Display for MemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemError::OutOfBounds { offset, len, size } => write!(
                f,
                "guest memory access out of bounds: offset {offset} + length {len} > size {size}"
            ),
            MemError::Unterminated { offset } => {
                write!(f, "no NUL terminator after guest offset {offset}")
            }
        }
    }
}

impl std::error::Error for MemError {}

/// The byte range `offset..offset+len` of a memory of `size` bytes, checked.
pub fn range(size: usize, offset: u64, len: u64) -> Result<std::ops::Range<usize>, MemError> {
    let oob = MemError::OutOfBounds {
        offset,
        len,
        size: size as u64,
    };
    let end = offset.checked_add(len).ok_or_else(|| oob.clone())?;
    if end > size as u64 {
        return Err(oob);
    }
    // Both fit in usize because they are <= size.
    Ok(offset as usize..end as usize)
}

/// `len` bytes at `offset`.
pub fn read(mem: &[u8], offset: u64, len: u64) -> Result<&[u8], MemError> {
    Ok(&mem[range(mem.len(), offset, len)?])
}

/// Copy `data` into memory at `offset`.
pub fn write(mem: &mut [u8], offset: u64, data: &[u8]) -> Result<(), MemError> {
    let r = range(mem.len(), offset, data.len() as u64)?;
    mem[r].copy_from_slice(data);
    Ok(())
}

/// The bytes of the NUL-terminated string at `offset` (without the NUL), looking at most
/// `max` bytes (or to the end of memory).
pub fn cstr(mem: &[u8], offset: u64, max: Option<u64>) -> Result<&[u8], MemError> {
    let size = mem.len() as u64;
    if offset > size {
        return Err(MemError::OutOfBounds {
            offset,
            len: 0,
            size,
        });
    }
    let limit = match max {
        Some(m) => offset.saturating_add(m).min(size),
        None => size,
    };
    let hay = &mem[offset as usize..limit as usize];
    match hay.iter().position(|&b| b == 0) {
        Some(n) => Ok(&hay[..n]),
        None => Err(MemError::Unterminated { offset }),
    }
}

/// Little-endian unsigned integer of `width` (4 or 8) bytes at `offset`.
pub fn read_uint(mem: &[u8], offset: u64, width: u64) -> Result<u64, MemError> {
    let b = read(mem, offset, width)?;
    let mut buf = [0u8; 8];
    buf[..b.len()].copy_from_slice(b);
    Ok(u64::from_le_bytes(buf))
}

/// Write `value` as a little-endian unsigned integer of `width` (4 or 8) bytes.
pub fn write_uint(mem: &mut [u8], offset: u64, value: u64, width: u64) -> Result<(), MemError> {
    let bytes = value.to_le_bytes();
    let w = (width as usize).min(8);
    write(mem, offset, &bytes[..w])
}

/// The `(ptr, len)` pairs of an iovec array: `count` entries at `iovs`, each 16 bytes
/// (u64 ptr, u64 len) when `wide` (memory64 WASI, runtime §14.6) else 8 bytes (u32, u32).
pub fn iovecs(mem: &[u8], iovs: u64, count: u64, wide: bool) -> Result<Vec<(u64, u64)>, MemError> {
    let w: u64 = if wide { 8 } else { 4 };
    let total = count.checked_mul(2 * w).ok_or(MemError::OutOfBounds {
        offset: iovs,
        len: u64::MAX,
        size: mem.len() as u64,
    })?;
    range(mem.len(), iovs, total)?;
    let mut out = Vec::with_capacity(count.min(1024) as usize);
    for i in 0..count {
        let at = iovs + i * 2 * w;
        out.push((read_uint(mem, at, w)?, read_uint(mem, at + w, w)?));
    }
    Ok(out)
}

/// Gather: the concatenated bytes of every iovec buffer (WASI `fd_write`).
pub fn gather(mem: &[u8], iovs: u64, count: u64, wide: bool) -> Result<Vec<u8>, MemError> {
    let vecs = iovecs(mem, iovs, count, wide)?;
    let mut out = Vec::new();
    for (p, l) in vecs {
        out.extend_from_slice(read(mem, p, l)?);
    }
    Ok(out)
}

/// Scatter: fill the iovec buffers in order from `data` (WASI `fd_read`); returns the number
/// of bytes written. All buffers are checked before anything is written.
pub fn scatter(
    mem: &mut [u8],
    iovs: u64,
    count: u64,
    wide: bool,
    data: &[u8],
) -> Result<usize, MemError> {
    let vecs = iovecs(mem, iovs, count, wide)?;
    for &(p, l) in &vecs {
        range(mem.len(), p, l)?;
    }
    let mut done = 0usize;
    for (p, l) in vecs {
        if done >= data.len() {
            break;
        }
        let n = (l as usize).min(data.len() - done);
        write(mem, p, &data[done..done + n])?;
        done += n;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        let mut m = vec![0u8; 16];
        assert!(read(&m, 8, 8).is_ok());
        assert!(read(&m, 9, 8).is_err());
        assert!(read(&m, u64::MAX, 2).is_err());
        assert!(write(&mut m, 15, b"ab").is_err());
        write(&mut m, 2, b"hi\0").unwrap();
        assert_eq!(cstr(&m, 2, None).unwrap(), b"hi");
        assert_eq!(
            cstr(&m, 2, Some(1)),
            Err(MemError::Unterminated { offset: 2 })
        );
        assert!(cstr(&m, 17, None).is_err());
        assert!(cstr(&m, 16, None).is_err());
    }

    #[test]
    fn iov() {
        let mut m = vec![0u8; 64];
        write(&mut m, 40, b"Hello, ").unwrap();
        write(&mut m, 50, b"World").unwrap();
        write_uint(&mut m, 0, 40, 8).unwrap();
        write_uint(&mut m, 8, 7, 8).unwrap();
        write_uint(&mut m, 16, 50, 8).unwrap();
        write_uint(&mut m, 24, 5, 8).unwrap();
        assert_eq!(gather(&m, 0, 2, true).unwrap(), b"Hello, World");
        assert!(gather(&m, 0, u64::MAX, true).is_err());
        let n = scatter(&mut m, 0, 2, true, b"abcdefghij").unwrap();
        assert_eq!(n, 10);
        assert_eq!(read(&m, 50, 3).unwrap(), b"hij");
        write_uint(&mut m, 24, 500, 8).unwrap();
        assert!(scatter(&mut m, 0, 2, true, b"zz").is_err());
        assert_eq!(read(&m, 40, 2).unwrap(), b"ab"); // nothing written on error
    }
}

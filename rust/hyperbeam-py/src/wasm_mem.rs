//! The guest-memory bridge for WASM devices (spec runtime §14.4, §14.6): bounds-checked reads and
//! writes of a wasmtime linear memory, C strings and WASI iovec scatter/gather, without per-byte
//! Python work. Python passes the memory's current base address and length
//! (`Memory.data_ptr(store)` / `Memory.data_len(store)`, re-fetched after every call that may grow
//! memory); all checking is in `hb_core::wasm_mem`, which never panics on guest input.
//!
//! # Safety contract (for every function here)
//!
//! `ptr`/`len` must describe the live linear memory of a wasmtime store as returned by
//! `data_ptr`/`data_len` *for the current size of that memory*, and no WASM code of that store may
//! run during the call (wasmtime-py calls are synchronous and these functions never call back into
//! Python, so a caller that fetched the pair just before the call satisfies this). Memories only
//! move or grow while guest code runs, so the region stays valid for the duration of the call.
//! A `len` of 0 (or a null `ptr`) is treated as an empty memory.

use hb_core::wasm_mem as wm;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

pyo3::import_exception!(hyperbeam_fast.wasm.errors, WasmMemoryError);

fn err(e: wm::MemError) -> PyErr {
    WasmMemoryError::new_err(e.to_string())
}

fn mem<'a>(ptr: usize, len: usize) -> &'a [u8] {
    if ptr == 0 || len == 0 {
        return &[];
    }
    // SAFETY: see the module-level contract: `ptr..ptr+len` is the live linear memory and is
    // neither freed nor resized while this call runs.
    unsafe { std::slice::from_raw_parts(ptr as *const u8, len) }
}

fn mem_mut<'a>(ptr: usize, len: usize) -> &'a mut [u8] {
    if ptr == 0 || len == 0 {
        return &mut [];
    }
    // SAFETY: as in `mem`; in addition no other Rust reference to this memory exists during the
    // call (Python holds only the address), so the exclusive borrow is sound.
    unsafe { std::slice::from_raw_parts_mut(ptr as *mut u8, len) }
}

/// `n` bytes at guest `offset`.
#[pyfunction]
fn wasm_mem_read<'py>(
    py: Python<'py>,
    ptr: usize,
    len: usize,
    offset: u64,
    n: u64,
) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(
        py,
        wm::read(mem(ptr, len), offset, n).map_err(err)?,
    ))
}

/// Write `data` at guest `offset`.
#[pyfunction]
fn wasm_mem_write(ptr: usize, len: usize, offset: u64, data: &[u8]) -> PyResult<()> {
    wm::write(mem_mut(ptr, len), offset, data).map_err(err)
}

/// Write `data` followed by a NUL byte at guest `offset`.
#[pyfunction]
fn wasm_mem_write_cstr(ptr: usize, len: usize, offset: u64, data: &[u8]) -> PyResult<()> {
    let m = mem_mut(ptr, len);
    wm::range(m.len(), offset, data.len() as u64 + 1).map_err(err)?;
    wm::write(m, offset, data).map_err(err)?;
    wm::write(m, offset + data.len() as u64, &[0]).map_err(err)
}

/// The NUL-terminated string at guest `offset` (without the NUL), looking at most `max` bytes.
#[pyfunction]
#[pyo3(signature = (ptr, len, offset, max=None))]
fn wasm_mem_cstr<'py>(
    py: Python<'py>,
    ptr: usize,
    len: usize,
    offset: u64,
    max: Option<u64>,
) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(
        py,
        wm::cstr(mem(ptr, len), offset, max).map_err(err)?,
    ))
}

/// Little-endian unsigned integer of `width` (4 or 8) bytes at guest `offset`.
#[pyfunction]
#[pyo3(signature = (ptr, len, offset, width=8))]
fn wasm_mem_read_uint(ptr: usize, len: usize, offset: u64, width: u64) -> PyResult<u64> {
    wm::read_uint(mem(ptr, len), offset, width.min(8)).map_err(err)
}

/// Write `value` as a little-endian unsigned integer of `width` (4 or 8) bytes.
#[pyfunction]
#[pyo3(signature = (ptr, len, offset, value, width=8))]
fn wasm_mem_write_uint(
    ptr: usize,
    len: usize,
    offset: u64,
    value: u64,
    width: u64,
) -> PyResult<()> {
    wm::write_uint(mem_mut(ptr, len), offset, value, width).map_err(err)
}

/// Concatenated bytes of `count` iovecs at `iovs` (16-byte entries when `wide`, else 8-byte).
#[pyfunction]
#[pyo3(signature = (ptr, len, iovs, count, wide=true))]
fn wasm_mem_gather<'py>(
    py: Python<'py>,
    ptr: usize,
    len: usize,
    iovs: u64,
    count: u64,
    wide: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let out = wm::gather(mem(ptr, len), iovs, count, wide).map_err(err)?;
    Ok(PyBytes::new(py, &out))
}

/// Fill `count` iovec buffers at `iovs` from `data`; returns the number of bytes written.
#[pyfunction]
#[pyo3(signature = (ptr, len, iovs, count, data, wide=true))]
fn wasm_mem_scatter(
    ptr: usize,
    len: usize,
    iovs: u64,
    count: u64,
    data: &[u8],
    wide: bool,
) -> PyResult<usize> {
    wm::scatter(mem_mut(ptr, len), iovs, count, wide, data).map_err(err)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(wasm_mem_read, m)?)?;
    m.add_function(wrap_pyfunction!(wasm_mem_write, m)?)?;
    m.add_function(wrap_pyfunction!(wasm_mem_write_cstr, m)?)?;
    m.add_function(wrap_pyfunction!(wasm_mem_cstr, m)?)?;
    m.add_function(wrap_pyfunction!(wasm_mem_read_uint, m)?)?;
    m.add_function(wrap_pyfunction!(wasm_mem_write_uint, m)?)?;
    m.add_function(wrap_pyfunction!(wasm_mem_gather, m)?)?;
    m.add_function(wrap_pyfunction!(wasm_mem_scatter, m)?)?;
    Ok(())
}

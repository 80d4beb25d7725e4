//! Rust -> Python: parsed structured fields built straight into Python objects (a
//! [`sf::Builder`]), short strings and tokens taken from a per-thread cache of `str` objects.

use std::cell::{Cell, RefCell};

use hb_core::id_fast::key_prefix;
use hb_core::sf::{self, BareRef};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyString};

use super::{date_type, display_type, token_type};
use crate::error::{codec_err, PyHbError};

/// Strings of at most this many bytes are cached.
const CACHE_MAX_LEN: usize = 32;
/// Cache slots (a power of two), in sets of two: a string lives in either slot of its set
/// (the most recently added first).
const CACHE_SLOTS: usize = 512;
const KIND_STR: u8 = 0;
const KIND_TOKEN: u8 = 1;

/// One cache slot: an immutable `str` (or `Token`) object, under its UTF-8 bytes as
/// zero-padded 8-byte words and its tag (length and kind).
struct Slot {
    tag: u64,
    key: [u64; CACHE_WORDS],
    obj: Option<Py<PyAny>>,
}

const CACHE_WORDS: usize = CACHE_MAX_LEN / 8;

thread_local! {
    /// Per-thread, so no locking; entries are immutable objects, shared freely once made.
    static STR_CACHE: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
    /// Objects evicted from the cache while a parse runs: released when the outermost parse
    /// ends, so every object the cache lends stays alive for the whole parse.
    static EVICTED: RefCell<Vec<Py<PyAny>>> = const { RefCell::new(Vec::new()) };
    /// How many parses are running on this thread (a parse can re-enter through Python code).
    static PARSE_DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Marks a parse as running; the outermost one releases the evicted objects when it ends.
pub(super) struct ParseScope;

impl ParseScope {
    pub(super) fn enter() -> Self {
        PARSE_DEPTH.with(|d| d.set(d.get() + 1));
        ParseScope
    }
}

impl Drop for ParseScope {
    fn drop(&mut self) {
        let depth = PARSE_DEPTH.with(|d| {
            let n = d.get().saturating_sub(1);
            d.set(n);
            n
        });
        if depth == 0 {
            // Taken out of the cell first: releasing an object may run Python code.
            let old = EVICTED.with(|e| {
                e.try_borrow_mut()
                    .map(|mut e| std::mem::take(&mut *e))
                    .unwrap_or_default()
            });
            drop(old);
        }
    }
}

/// A reference to a Python object while building a parse result: owned (a new reference,
/// released when dropped) or lent (by the string cache, alive until the parse ends, or an
/// immortal singleton). Lent objects cost no reference counting until they are stored.
pub(super) struct Obj<'py> {
    ptr: *mut ffi::PyObject,
    owned: bool,
    py: Python<'py>,
}

impl<'py> Obj<'py> {
    fn owned(b: Bound<'py, PyAny>) -> Self {
        let py = b.py();
        Obj {
            ptr: b.into_ptr(),
            owned: true,
            py,
        }
    }

    /// A new reference, handed over (the caller now owns it).
    fn into_ptr(self) -> *mut ffi::PyObject {
        let this = std::mem::ManuallyDrop::new(self);
        if !this.owned {
            // SAFETY: a lent object is alive (see the type's comment); this takes a reference.
            unsafe { ffi::Py_IncRef(this.ptr) };
        }
        this.ptr
    }

    pub(super) fn into_bound(self) -> Bound<'py, PyAny> {
        let py = self.py;
        // SAFETY: `into_ptr` gives a new, non-null reference.
        unsafe { Bound::from_owned_ptr(py, self.into_ptr()) }
    }
}

impl Drop for Obj<'_> {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: an owned reference, released once, with the GIL held (`py`).
            unsafe { ffi::Py_DecRef(self.ptr) };
        }
    }
}

/// `(a, b)`: one call, which takes its own references (lent objects need no increment).
#[inline]
pub(super) fn pack2<'py>(a: Obj<'py>, b: Obj<'py>) -> PyResult<Obj<'py>> {
    let py = a.py;
    // SAFETY: both pointers are live objects; PyTuple_Pack returns a new tuple holding new
    // references to them, or NULL with an exception set.
    let t = unsafe { ffi::PyTuple_Pack(2, a.ptr, b.ptr) };
    drop(a);
    drop(b);
    if t.is_null() {
        return Err(PyErr::fetch(py));
    }
    Ok(Obj {
        ptr: t,
        owned: true,
        py,
    })
}

/// A list of exactly these items.
pub(super) fn list_of<'py>(py: Python<'py>, items: Vec<Obj<'py>>) -> PyResult<Obj<'py>> {
    let n = ffi::Py_ssize_t::try_from(items.len())
        .map_err(|_| codec_err("structured field too long"))?;
    // SAFETY: PyList_New returns a new list of `n` NULL slots or NULL (checked); each
    // PyList_SetItem steals a new reference into an index below `n` and cannot fail.
    unsafe {
        let l = ffi::PyList_New(n);
        if l.is_null() {
            return Err(PyErr::fetch(py));
        }
        for (i, it) in items.into_iter().enumerate() {
            ffi::PyList_SetItem(l, i as ffi::Py_ssize_t, it.into_ptr());
        }
        Ok(Obj {
            ptr: l,
            owned: true,
            py,
        })
    }
}

/// The 8-byte words of `b` (at most `CACHE_MAX_LEN` bytes), the last one zero-padded, read
/// straight from the slice (no copy into a padded buffer: a byte-wise copy followed by wide
/// loads stalls store forwarding).
#[inline]
fn words(b: &[u8]) -> impl Iterator<Item = u64> + '_ {
    let chunks = b.chunks_exact(8);
    let rest = chunks.remainder();
    chunks
        .map(|c| {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            u64::from_be_bytes(a)
        })
        .chain((!rest.is_empty()).then(|| key_prefix(rest)))
}

/// The bytes (at most `CACHE_MAX_LEN`) as zero-padded words, and their tag.
#[inline]
fn cache_key(kind: u8, b: &[u8]) -> (u64, [u64; CACHE_WORDS]) {
    let mut key = [0u64; CACHE_WORDS];
    for (d, w) in key.iter_mut().zip(words(b)) {
        *d = w;
    }
    ((b.len() as u64) | (u64::from(kind) << 8), key)
}

#[inline]
fn slot_of(tag: u64, key: &[u64; CACHE_WORDS]) -> usize {
    let x = tag ^ key[0] ^ key[1].rotate_left(17) ^ key[2].rotate_left(31) ^ key[3].rotate_left(47);
    let h = x.wrapping_mul(0x517c_c1b7_2722_0a95);
    let h = (h ^ (h >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    // The first slot of the set.
    ((h >> (64 - CACHE_SLOTS.trailing_zeros())) as usize) & !1
}

/// The cached object for `(kind, b)` (lent), or `make()`'s (owned, and cached). `b` must be
/// the object's exact UTF-8 content. Call only inside a [`ParseScope`].
fn cached<'py>(
    py: Python<'py>,
    kind: u8,
    b: &[u8],
    make: impl FnOnce() -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Obj<'py>> {
    if b.len() > CACHE_MAX_LEN {
        return make().map(Obj::owned);
    }
    let (tag, key) = cache_key(kind, b);
    let i = slot_of(tag, &key);
    let hit = STR_CACHE.with(|c| {
        let c = c.try_borrow().ok()?;
        let set = c.get(i..i + 2)?;
        // Word by word: a wide compare of `key` would reload it across the narrower stores
        // that built it (a store-forwarding stall).
        let same = |s: &&Slot| {
            s.tag == tag
                && ((s.key[0] ^ key[0])
                    | (s.key[1] ^ key[1])
                    | (s.key[2] ^ key[2])
                    | (s.key[3] ^ key[3]))
                    == 0
        };
        set.iter()
            .find(same)
            .and_then(|s| s.obj.as_ref().map(|o| o.as_ptr()))
    });
    if let Some(ptr) = hit {
        // Lent: the cache holds it, and an eviction keeps it alive until the parse ends.
        return Ok(Obj {
            ptr,
            owned: false,
            py,
        });
    }
    let obj = make()?;
    let new = Slot {
        tag,
        key,
        obj: Some(obj.clone().unbind()),
    };
    let old = STR_CACHE.with(|c| {
        let mut c = c.try_borrow_mut().ok()?;
        if c.is_empty() {
            c.resize_with(CACHE_SLOTS, || Slot {
                tag: u64::MAX,
                key: [0; CACHE_WORDS],
                obj: None,
            });
        }
        // The newest first; the older of the two is evicted.
        let set = c.get_mut(i..i + 2)?;
        set.swap(0, 1);
        std::mem::replace(set.first_mut()?, new).obj
    });
    if let Some(old) = old {
        // Possibly lent earlier in this parse: released when it ends.
        let kept = EVICTED.with(|e| match e.try_borrow_mut() {
            Ok(mut e) => {
                e.push(old);
                None
            }
            Err(_) => Some(old),
        });
        // Not reachable (nothing else borrows EVICTED while this runs); leaked, never freed
        // early, if it were.
        std::mem::forget(kept);
    }
    Ok(Obj::owned(obj))
}

/// A `str` of ASCII/UTF-8 text the parser produced (keys, strings), cached when short.
#[inline]
pub(super) fn py_str<'py>(py: Python<'py>, b: &[u8]) -> PyResult<Obj<'py>> {
    cached(py, KIND_STR, b, || {
        Ok(match std::str::from_utf8(b) {
            Ok(s) => PyString::new(py, s).into_any(),
            Err(_) => PyString::new(py, &String::from_utf8_lossy(b)).into_any(),
        })
    })
}

fn bare_to_py<'py>(py: Python<'py>, b: BareRef<'_>) -> PyResult<Obj<'py>> {
    Ok(match b {
        BareRef::String(s) => py_str(py, s)?,
        BareRef::Token(t) => cached(py, KIND_TOKEN, t.as_bytes(), || token_type(py)?.call1((t,)))?,
        BareRef::Boolean(v) => Obj {
            // The bool singletons live as long as the interpreter.
            ptr: PyBool::new(py, v).as_ptr(),
            owned: false,
            py,
        },
        BareRef::Integer(v) => Obj::owned(v.into_pyobject(py)?.into_any()),
        BareRef::Decimal { mantissa, scale } => {
            // Both operands are exact in f64 (|mantissa| < 2^53), so the division is correctly rounded.
            let v = mantissa as f64 / 10f64.powi(scale as i32);
            Obj::owned(PyFloat::new(py, v).into_any())
        }
        BareRef::ByteSeq(v) => Obj::owned(PyBytes::new(py, v).into_any()),
        BareRef::Date(v) => Obj::owned(date_type(py)?.call1((v,))?),
        BareRef::DisplayString(s) => Obj::owned(display_type(py)?.call1((s,))?),
    })
}

fn params_to_py<'py>(py: Python<'py>, params: Vec<(&str, Obj<'py>)>) -> PyResult<Obj<'py>> {
    list_from(py, params.len(), params.into_iter(), |(k, b)| {
        pack2(py_str(py, k.as_bytes())?, b)
    })
}

/// A list of the `n` items that `f` makes of `src` (exactly `n`), filled in place.
pub(super) fn list_from<'py, T>(
    py: Python<'py>,
    n: usize,
    src: impl Iterator<Item = T>,
    mut f: impl FnMut(T) -> PyResult<Obj<'py>>,
) -> PyResult<Obj<'py>> {
    let len = ffi::Py_ssize_t::try_from(n).map_err(|_| codec_err("structured field too long"))?;
    // SAFETY: PyList_New returns a new list of `len` NULL slots or NULL (checked). It is owned
    // by `list` at once (released on error; NULL slots are allowed there), and each
    // PyList_SetItem steals a new reference into an index below `len`.
    let list = unsafe {
        let l = ffi::PyList_New(len);
        if l.is_null() {
            return Err(PyErr::fetch(py));
        }
        Obj {
            ptr: l,
            owned: true,
            py,
        }
    };
    for (i, x) in src.take(n).enumerate() {
        let item = f(x)?;
        // SAFETY: see above; `i < n`.
        unsafe { ffi::PyList_SetItem(list.ptr, i as ffi::Py_ssize_t, item.into_ptr()) };
    }
    Ok(list)
}

/// A parse failure: malformed input (StructuredFieldError) or a Python error.
pub(super) enum ParseErr {
    Sf(hb_core::Error),
    Py(PyErr),
}

impl From<hb_core::Error> for ParseErr {
    fn from(e: hb_core::Error) -> Self {
        ParseErr::Sf(e)
    }
}

impl From<PyErr> for ParseErr {
    fn from(e: PyErr) -> Self {
        ParseErr::Py(e)
    }
}

impl From<ParseErr> for PyErr {
    fn from(e: ParseErr) -> PyErr {
        match e {
            ParseErr::Sf(e) => PyHbError::from(e).into(),
            ParseErr::Py(e) => e,
        }
    }
}

/// Builds the Python shapes while parsing (no intermediate Rust values): item and member =
/// `(bare, params)`, inner list = `([item, ...], params)`.
pub(super) struct PyBuilder<'py>(pub(super) Python<'py>);

impl<'a, 'py> sf::Builder<'a> for PyBuilder<'py> {
    type Bare = Obj<'py>;
    type Item = Obj<'py>;
    type Member = Obj<'py>;
    type Error = ParseErr;

    fn bare(&mut self, b: BareRef<'_>) -> Result<Self::Bare, ParseErr> {
        Ok(bare_to_py(self.0, b)?)
    }
    fn item(
        &mut self,
        bare: Self::Bare,
        params: Vec<(&'a str, Self::Bare)>,
    ) -> Result<Self::Item, ParseErr> {
        Ok(pack2(bare, params_to_py(self.0, params)?)?)
    }
    fn item_member(&mut self, item: Self::Item) -> Result<Self::Member, ParseErr> {
        Ok(item)
    }
    fn inner_list(
        &mut self,
        items: Vec<Self::Item>,
        params: Vec<(&'a str, Self::Bare)>,
    ) -> Result<Self::Member, ParseErr> {
        let py = self.0;
        Ok(pack2(list_of(py, items)?, params_to_py(py, params)?)?)
    }
}

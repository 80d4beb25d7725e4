//! Structured-field bindings (spec core §1.6): `sf_parse(kind, data)` and `sf_serialize(kind, value)`.
//!
//! Python shapes (close to the httpwg test-suite JSON):
//! item = `(bare, params)`; params = `[(key, bare), ...]`; inner list = `([item, ...], params)`;
//! list = `[member, ...]`; dictionary = `[(key, member), ...]`. Bare values: `int`, `float`
//! (decimal), `str` (string), `hyperbeam_fast.sf.Token`, `bytes` (byte sequence), `bool`,
//! `hyperbeam_fast.sf.Date`, `hyperbeam_fast.sf.DisplayString`.

//!
//! Speed (the Python objects, not the parsing, dominate): parsing builds tuples and lists with
//! their final sizes and takes short strings and tokens (keys, `ao-types` values, component
//! names) from a per-thread cache of immutable `str` objects; serialising writes straight from
//! the Python objects into one buffer (no intermediate Rust values), checking the exact
//! `str`/`int` types first.

use std::cell::{Cell, RefCell};

use hb_core::id_fast::key_prefix;
use hb_core::sf::{self, BareRef};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyFloat, PyInt, PyList, PyString, PyTuple, PyType,
};

use crate::error::{codec_err, PyHbError};

const SF_MODULE: &str = "hyperbeam_fast.sf";

static TOKEN: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DISPLAY: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn token_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    TOKEN.import(py, SF_MODULE, "Token")
}
fn date_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    DATE.import(py, SF_MODULE, "Date")
}
fn display_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    DISPLAY.import(py, SF_MODULE, "DisplayString")
}

#[derive(Clone, Copy)]
enum Kind {
    Item,
    List,
    Dict,
}

fn kind_of(kind: &str) -> PyResult<Kind> {
    match kind {
        "item" => Ok(Kind::Item),
        "list" => Ok(Kind::List),
        "dictionary" | "dict" => Ok(Kind::Dict),
        other => Err(codec_err(format!(
            "unknown structured-field kind {other:?} (expected \"item\", \"list\" or \"dictionary\")"
        ))),
    }
}

// ---- Rust -> Python ---------------------------------------------------------------------------

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
struct ParseScope;

impl ParseScope {
    fn enter() -> Self {
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
struct Obj<'py> {
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

    fn into_bound(self) -> Bound<'py, PyAny> {
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
fn pack2<'py>(a: Obj<'py>, b: Obj<'py>) -> PyResult<Obj<'py>> {
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
fn list_of<'py>(py: Python<'py>, items: Vec<Obj<'py>>) -> PyResult<Obj<'py>> {
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
fn py_str<'py>(py: Python<'py>, b: &[u8]) -> PyResult<Obj<'py>> {
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
fn list_from<'py, T>(
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
enum ParseErr {
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
struct PyBuilder<'py>(Python<'py>);

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

// ---- Python -> bytes --------------------------------------------------------------------------

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_string())
}

/// The UTF-8 text of a `str`; one with lone surrogates (not UTF-8) is a codec error.
#[inline]
fn utf8<'a>(s: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
    s.to_str()
        .map_err(|_| codec_err("structured-field text is not valid UTF-8 (lone surrogates)"))
}

#[inline]
fn sf_ok(r: hb_core::Result<()>) -> PyResult<()> {
    r.map_err(|e| PyHbError::from(e).into())
}

/// Appends a bare item. Exact `str` and `int` (the common cases) are checked first; the rest
/// in the order that tells `bool` from `int` and the `str`/`int` subclasses apart.
fn ser_bare_py(py: Python<'_>, out: &mut Vec<u8>, v: &Bound<'_, PyAny>) -> PyResult<()> {
    if v.is_exact_instance_of::<PyString>() {
        let s = utf8(v.cast_exact::<PyString>()?)?;
        return sf_ok(sf::ser_bare_ref(out, BareRef::String(s.as_bytes())));
    }
    if v.is_exact_instance_of::<PyInt>() {
        return sf_ok(sf::ser_bare_ref(out, BareRef::Integer(int_of(v)?)));
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return sf_ok(sf::ser_bare_ref(out, BareRef::Boolean(b.is_true())));
    }
    // The other exact types by pointer comparison before the subclass checks (abi3 calls).
    let ty = v.get_type();
    if ty.is(token_type(py)?) {
        let text = utf8(v.cast::<PyString>()?)?;
        return sf_ok(sf::ser_bare_ref(out, BareRef::Token(text)));
    }
    if let Ok(b) = v.cast_exact::<PyBytes>() {
        return sf_ok(sf::ser_bare_ref(out, BareRef::ByteSeq(b.as_bytes())));
    }
    if let Ok(f) = v.cast_exact::<PyFloat>() {
        let d = sf::decimal_from_f64(f.value()).map_err(PyHbError::from)?;
        return sf_ok(sf::ser_bare(out, &d));
    }
    if v.is_instance(date_type(py)?)? {
        let i: i64 = v
            .extract()
            .map_err(|_| codec_err("structured-field date out of range"))?;
        return sf_ok(sf::ser_bare_ref(out, BareRef::Date(i)));
    }
    if v.is_instance_of::<PyInt>() {
        return sf_ok(sf::ser_bare_ref(out, BareRef::Integer(int_of(v)?)));
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        let d = sf::decimal_from_f64(f.value()).map_err(PyHbError::from)?;
        return sf_ok(sf::ser_bare(out, &d));
    }
    if let Ok(s) = v.cast::<PyString>() {
        let text = utf8(s)?;
        let b = if v.is_instance(token_type(py)?)? {
            BareRef::Token(text)
        } else if v.is_instance(display_type(py)?)? {
            BareRef::DisplayString(text)
        } else {
            BareRef::String(text.as_bytes())
        };
        return sf_ok(sf::ser_bare_ref(out, b));
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return sf_ok(sf::ser_bare_ref(out, BareRef::ByteSeq(b.as_bytes())));
    }
    if let Ok(b) = v.cast::<PyByteArray>() {
        return sf_ok(sf::ser_bare_ref(out, BareRef::ByteSeq(&b.to_vec())));
    }
    Err(codec_err(format!(
        "cannot serialise a {} as a structured-field bare item",
        type_name(v)
    )))
}

fn int_of(v: &Bound<'_, PyAny>) -> PyResult<i64> {
    v.extract().map_err(|_| {
        codec_err(format!(
            "structured-field integer {v} is out of the 64-bit range"
        ))
    })
}

/// An element of a pair: borrowed from a tuple (immutable, and kept alive by the caller's
/// reference to it, so no reference counting), or owned (from a list, which could change).
enum Elem<'a, 'py> {
    Borrowed(Borrowed<'a, 'py, PyAny>),
    Owned(Bound<'py, PyAny>),
}

impl<'py> std::ops::Deref for Elem<'_, 'py> {
    type Target = Bound<'py, PyAny>;
    #[inline]
    fn deref(&self) -> &Bound<'py, PyAny> {
        match self {
            Elem::Borrowed(b) => b,
            Elem::Owned(o) => o,
        }
    }
}

/// Unpacks a 2-sequence (tuple or list).
#[inline]
fn pair<'a, 'py>(v: &'a Bound<'py, PyAny>, what: &str) -> PyResult<(Elem<'a, 'py>, Elem<'a, 'py>)> {
    // Exact types first: a pointer comparison, where the subclass checks are abi3 calls.
    if let Ok(t) = v.cast_exact::<PyTuple>().or_else(|_| v.cast::<PyTuple>()) {
        if t.len() == 2 {
            return Ok((
                Elem::Borrowed(t.get_borrowed_item(0)?),
                Elem::Borrowed(t.get_borrowed_item(1)?),
            ));
        }
    } else if let Ok(l) = v.cast::<PyList>() {
        if l.len() == 2 {
            return Ok((Elem::Owned(l.get_item(0)?), Elem::Owned(l.get_item(1)?)));
        }
    }
    Err(codec_err(format!(
        "structured-field {what} must be a 2-tuple, got {}",
        type_name(v)
    )))
}

/// Calls `f` on each element of a list or tuple (directly) or any other iterable; `not_iter` is
/// the error for a non-iterable.
fn each<'py>(
    v: &Bound<'py, PyAny>,
    not_iter: &str,
    mut f: impl FnMut(usize, &Bound<'py, PyAny>) -> PyResult<()>,
) -> PyResult<()> {
    if let Ok(l) = v.cast_exact::<PyList>().or_else(|_| v.cast::<PyList>()) {
        for (i, x) in l.iter().enumerate() {
            f(i, &x)?;
        }
    } else if let Ok(t) = v.cast::<PyTuple>() {
        for (i, x) in t.iter().enumerate() {
            f(i, &x)?;
        }
    } else {
        let it = v.try_iter().map_err(|_| codec_err(not_iter.to_string()))?;
        for (i, x) in it.enumerate() {
            f(i, &x?)?;
        }
    }
    Ok(())
}

fn ser_params_py(py: Python<'_>, out: &mut Vec<u8>, v: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Ok(l) = v.cast_exact::<PyList>() {
        if l.is_empty() {
            return Ok(());
        }
    }
    each(
        v,
        "structured-field parameters must be a list of (key, value)",
        |_, entry| {
            let (k, b) = pair(entry, "parameter")?;
            let key = utf8(
                k.cast_exact::<PyString>()
                    .or_else(|_| k.cast::<PyString>())
                    .map_err(|_| codec_err("structured-field parameter key must be a str"))?,
            )?;
            ser_param_py(py, out, key, &b)
        },
    )
}

fn ser_param_py(
    py: Python<'_>,
    out: &mut Vec<u8>,
    key: &str,
    b: &Bound<'_, PyAny>,
) -> PyResult<()> {
    // sf::ser_param with a `true` value writes (and checks) `;key`; any other value follows as
    // `=value`, written straight from the Python object.
    sf_ok(sf::ser_param(out, key, BareRef::Boolean(true)))?;
    if b.is(PyBool::new(py, true)) {
        return Ok(());
    }
    out.push(b'=');
    ser_bare_py(py, out, b)
}

fn ser_item_parts(
    py: Python<'_>,
    out: &mut Vec<u8>,
    bare: &Bound<'_, PyAny>,
    params: &Bound<'_, PyAny>,
) -> PyResult<()> {
    ser_bare_py(py, out, bare)?;
    ser_params_py(py, out, params)
}

fn ser_item_py(py: Python<'_>, out: &mut Vec<u8>, v: &Bound<'_, PyAny>) -> PyResult<()> {
    let (b, p) = pair(v, "item")?;
    ser_item_parts(py, out, &b, &p)
}

/// A member whose `(first, params)` pair is already unpacked: an inner list when `first` is a
/// list, else an item.
fn ser_member_parts(
    py: Python<'_>,
    out: &mut Vec<u8>,
    first: &Bound<'_, PyAny>,
    params: &Bound<'_, PyAny>,
) -> PyResult<()> {
    if first.is_exact_instance_of::<PyList>() || first.is_instance_of::<PyList>() {
        out.push(b'(');
        for (i, it) in first.try_iter()?.enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            ser_item_py(py, out, &it?)?;
        }
        out.push(b')');
        ser_params_py(py, out, params)
    } else {
        ser_item_parts(py, out, first, params)
    }
}

fn ser_list_py(py: Python<'_>, out: &mut Vec<u8>, v: &Bound<'_, PyAny>) -> PyResult<()> {
    each(
        v,
        "structured-field list must be a list of members",
        |i, m| {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            let (first, params) = pair(m, "member")?;
            ser_member_parts(py, out, &first, &params)
        },
    )
}

fn ser_dict_py(py: Python<'_>, out: &mut Vec<u8>, v: &Bound<'_, PyAny>) -> PyResult<()> {
    each(
        v,
        "structured-field dictionary must be a list of (key, member)",
        |i, entry| {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            let (k, m) = pair(entry, "dictionary entry")?;
            let key = utf8(
                k.cast_exact::<PyString>()
                    .or_else(|_| k.cast::<PyString>())
                    .map_err(|_| codec_err("structured-field dictionary key must be a str"))?,
            )?;
            let (first, params) = pair(&m, "member")?;
            sf_ok(sf::ser_dict_key(out, key))?;
            // A `True` item is the key alone, followed by its parameters.
            if first.is(PyBool::new(py, true)) {
                return ser_params_py(py, out, &params);
            }
            out.push(b'=');
            ser_member_parts(py, out, &first, &params)
        },
    )
}

// ---- Python -> bytes, the borrowed fast path ---------------------------------------------------

type Ptr = *mut ffi::PyObject;

/// Serialises values made only of exact built-in types: `list`/`tuple` containers, `str` keys,
/// and bare values of exact `str`, `int` (within i64), `bool`, `float`, `bytes` or `Token`.
/// Every object is borrowed (no reference counting): only these types are read, through calls
/// that run no Python code, so nothing can change under it while the GIL is held. `None` on
/// anything else, or anything invalid: the caller starts over with the general path, which
/// takes every type and reports the errors. Both write the same bytes for the same value.
struct FastSer<'o> {
    out: &'o mut Vec<u8>,
    token: *mut ffi::PyTypeObject,
    true_: Ptr,
    false_: Ptr,
}

#[inline]
fn type_of(p: Ptr) -> *mut ffi::PyTypeObject {
    // SAFETY: `p` is a live object; reading its type needs no reference.
    unsafe { ffi::Py_TYPE(p) }
}

#[inline]
fn is_list(p: Ptr) -> bool {
    type_of(p) == std::ptr::addr_of_mut!(ffi::PyList_Type)
}

#[inline]
fn is_tuple(p: Ptr) -> bool {
    type_of(p) == std::ptr::addr_of_mut!(ffi::PyTuple_Type)
}

/// Item `i` of an exact list or tuple `v` (`i` below its length), borrowed.
#[inline]
fn seq_item(v: Ptr, list: bool, i: ffi::Py_ssize_t) -> Option<Ptr> {
    // SAFETY: `v` is a live exact list/tuple; the item is borrowed while no Python code runs.
    let x = unsafe {
        if list {
            ffi::PyList_GetItem(v, i)
        } else {
            ffi::PyTuple_GetItem(v, i)
        }
    };
    if x.is_null() {
        // SAFETY: clears the IndexError (not reachable: `i` is below the length).
        unsafe { ffi::PyErr_Clear() };
        return None;
    }
    Some(x)
}

/// The length of an exact list or tuple, and which of the two it is.
#[inline]
fn seq_len(v: Ptr) -> Option<(bool, ffi::Py_ssize_t)> {
    // SAFETY: `v` is a live exact list/tuple.
    if is_list(v) {
        Some((true, unsafe { ffi::PyList_Size(v) }))
    } else if is_tuple(v) {
        Some((false, unsafe { ffi::PyTuple_Size(v) }))
    } else {
        None
    }
}

/// The UTF-8 text of an exact `str` or of a `Token` (`None` for surrogates).
#[inline]
fn text_of<'t>(p: Ptr) -> Option<&'t str> {
    // The cached UTF-8 lives as long as `p`, which outlasts the caller's use (nothing is
    // released while the fast path runs).
    std::str::from_utf8(crate::convert::str_bytes(p)?).ok()
}

impl FastSer<'_> {
    #[inline]
    fn pair(&self, v: Ptr) -> Option<(Ptr, Ptr)> {
        let (list, n) = seq_len(v)?;
        if n != 2 {
            return None;
        }
        Some((seq_item(v, list, 0)?, seq_item(v, list, 1)?))
    }

    #[inline]
    fn key<'t>(&self, k: Ptr) -> Option<&'t str> {
        if type_of(k) != std::ptr::addr_of_mut!(ffi::PyUnicode_Type) {
            return None;
        }
        text_of(k)
    }

    fn bare(&mut self, v: Ptr) -> Option<()> {
        let t = type_of(v);
        let b = if t == std::ptr::addr_of_mut!(ffi::PyUnicode_Type) {
            BareRef::String(text_of(v)?.as_bytes())
        } else if t == std::ptr::addr_of_mut!(ffi::PyLong_Type) {
            // SAFETY: a live exact int; no Python code runs for it.
            let i = unsafe { ffi::PyLong_AsLongLong(v) };
            if i == -1 && unsafe { !ffi::PyErr_Occurred().is_null() } {
                unsafe { ffi::PyErr_Clear() };
                return None;
            }
            BareRef::Integer(i)
        } else if v == self.true_ || v == self.false_ {
            BareRef::Boolean(v == self.true_)
        } else if t == self.token {
            BareRef::Token(text_of(v)?)
        } else if t == std::ptr::addr_of_mut!(ffi::PyBytes_Type) {
            // SAFETY: a live exact bytes object, immutable.
            let b = unsafe {
                let d = ffi::PyBytes_AsString(v);
                let n = ffi::PyBytes_Size(v);
                if d.is_null() || n < 0 {
                    ffi::PyErr_Clear();
                    return None;
                }
                std::slice::from_raw_parts(d.cast::<u8>(), n as usize)
            };
            return sf::ser_bare_ref(self.out, BareRef::ByteSeq(b)).ok();
        } else if t == std::ptr::addr_of_mut!(ffi::PyFloat_Type) {
            // SAFETY: a live exact float.
            let d = sf::decimal_from_f64(unsafe { ffi::PyFloat_AsDouble(v) }).ok()?;
            return sf::ser_bare(self.out, &d).ok();
        } else {
            return None;
        };
        sf::ser_bare_ref(self.out, b).ok()
    }

    fn params(&mut self, p: Ptr) -> Option<()> {
        let (list, n) = seq_len(p)?;
        for i in 0..n {
            let (k, b) = self.pair(seq_item(p, list, i)?)?;
            sf::ser_param(self.out, self.key(k)?, BareRef::Boolean(true)).ok()?;
            if b != self.true_ {
                self.out.push(b'=');
                self.bare(b)?;
            }
        }
        Some(())
    }

    fn item(&mut self, v: Ptr) -> Option<()> {
        let (b, p) = self.pair(v)?;
        self.bare(b)?;
        self.params(p)
    }

    fn member(&mut self, first: Ptr, params: Ptr) -> Option<()> {
        if is_list(first) {
            self.out.push(b'(');
            let (_, n) = seq_len(first)?;
            for i in 0..n {
                if i > 0 {
                    self.out.push(b' ');
                }
                self.item(seq_item(first, true, i)?)?;
            }
            self.out.push(b')');
        } else {
            self.bare(first)?;
        }
        self.params(params)
    }

    fn list(&mut self, v: Ptr) -> Option<()> {
        let (list, n) = seq_len(v)?;
        for i in 0..n {
            if i > 0 {
                self.out.extend_from_slice(b", ");
            }
            let (first, params) = self.pair(seq_item(v, list, i)?)?;
            self.member(first, params)?;
        }
        Some(())
    }

    fn dict(&mut self, v: Ptr) -> Option<()> {
        let (list, n) = seq_len(v)?;
        for i in 0..n {
            if i > 0 {
                self.out.extend_from_slice(b", ");
            }
            let (k, m) = self.pair(seq_item(v, list, i)?)?;
            let (first, params) = self.pair(m)?;
            sf::ser_dict_key(self.out, self.key(k)?).ok()?;
            // A `True` item is the key alone, followed by its parameters.
            if first != self.true_ {
                self.out.push(b'=');
                if is_list(first) {
                    self.member(first, params)?;
                    continue;
                }
                self.bare(first)?;
            }
            self.params(params)?;
        }
        Some(())
    }
}

// ---- Exports ----------------------------------------------------------------------------------

/// The bytes of `bytes` or `str` input.
fn input_bytes<'a>(data: &'a Bound<'_, PyAny>) -> PyResult<&'a [u8]> {
    if let Ok(b) = data
        .cast_exact::<PyBytes>()
        .or_else(|_| data.cast::<PyBytes>())
    {
        Ok(b.as_bytes())
    } else if let Ok(s) = data.cast::<PyString>() {
        Ok(utf8(s)?.as_bytes())
    } else {
        Err(codec_err(format!(
            "sf_parse expects bytes or str, got {}",
            type_name(data)
        )))
    }
}

/// Parses structured-field text of the given kind ("item", "list" or "dictionary").
#[pyfunction]
fn sf_parse<'py>(
    py: Python<'py>,
    kind: &str,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let kind = kind_of(kind)?;
    parse_bytes(py, kind, input_bytes(data)?)
}

/// Parse an item: returns ``(bare, params)``.
#[pyfunction]
fn parse_item<'py>(py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    parse_bytes(py, Kind::Item, input_bytes(data)?)
}

/// Parse a list: returns ``[member, ...]``.
#[pyfunction]
fn parse_list<'py>(py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    parse_bytes(py, Kind::List, input_bytes(data)?)
}

/// Parse a dictionary: returns ``[(key, member), ...]`` in order of first appearance.
#[pyfunction]
fn parse_dictionary<'py>(py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    parse_bytes(py, Kind::Dict, input_bytes(data)?)
}

fn parse_bytes<'py>(py: Python<'py>, kind: Kind, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    // Declared first, so dropped last: every lent object is stored or released before it ends.
    let _scope = ParseScope::enter();
    let mut b = PyBuilder(py);
    let out = match kind {
        Kind::Item => sf::parse_item_with(bytes, &mut b)?,
        Kind::List => list_of(py, sf::parse_list_with(bytes, &mut b)?)?,
        Kind::Dict => {
            let v = sf::parse_dict_with(bytes, &mut b)?;
            list_from(py, v.len(), v.into_iter(), |(k, m)| {
                pack2(py_str(py, k.as_bytes())?, m)
            })?
        }
    };
    Ok(out.into_bound())
}

fn serialize<'py>(
    py: Python<'py>,
    kind: Kind,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(256);
    let mut fast = FastSer {
        out: &mut out,
        token: token_type(py)?.as_ptr().cast(),
        true_: PyBool::new(py, true).as_ptr(),
        false_: PyBool::new(py, false).as_ptr(),
    };
    let v = value.as_ptr();
    let done = match kind {
        Kind::Item => fast.item(v),
        Kind::List => fast.list(v),
        Kind::Dict => fast.dict(v),
    };
    if done.is_some() {
        return Ok(PyBytes::new(py, &out));
    }
    out.clear();
    match kind {
        Kind::Item => ser_item_py(py, &mut out, value)?,
        Kind::List => ser_list_py(py, &mut out, value)?,
        Kind::Dict => ser_dict_py(py, &mut out, value)?,
    }
    Ok(PyBytes::new(py, &out))
}

/// Serialises a value of the given kind ("item", "list" or "dictionary") to bytes.
#[pyfunction]
fn sf_serialize<'py>(
    py: Python<'py>,
    kind: &str,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    serialize(py, kind_of(kind)?, value)
}

/// Serialise ``(bare, params)``.
#[pyfunction]
fn serialize_item<'py>(
    py: Python<'py>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    serialize(py, Kind::Item, value)
}

/// Serialise ``[member, ...]`` (members joined with ``", "``).
#[pyfunction]
fn serialize_list<'py>(
    py: Python<'py>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    serialize(py, Kind::List, value)
}

/// Serialise ``[(key, member), ...]`` (members joined with ``", "``).
#[pyfunction]
fn serialize_dictionary<'py>(
    py: Python<'py>,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    serialize(py, Kind::Dict, value)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sf_parse, m)?)?;
    m.add_function(wrap_pyfunction!(sf_serialize, m)?)?;
    // The per-kind entry points that `hyperbeam_fast.sf` exports as its own functions (no
    // Python frame in between).
    let sub = PyModule::new(m.py(), "sf")?;
    sub.add_function(wrap_pyfunction!(parse_item, &sub)?)?;
    sub.add_function(wrap_pyfunction!(parse_list, &sub)?)?;
    sub.add_function(wrap_pyfunction!(parse_dictionary, &sub)?)?;
    sub.add_function(wrap_pyfunction!(serialize_item, &sub)?)?;
    sub.add_function(wrap_pyfunction!(serialize_list, &sub)?)?;
    sub.add_function(wrap_pyfunction!(serialize_dictionary, &sub)?)?;
    m.add("sf", sub)?;
    Ok(())
}

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

use std::cell::RefCell;

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
/// Cache slots (a power of two; direct-mapped).
const CACHE_SLOTS: usize = 512;
const KIND_STR: u8 = 0;
const KIND_TOKEN: u8 = 1;

/// One cache slot: the UTF-8 bytes of an immutable `str` (or `Token`) object and the object.
struct Slot {
    kind: u8,
    len: u8,
    bytes: [u8; CACHE_MAX_LEN],
    obj: Option<Py<PyAny>>,
}

thread_local! {
    /// Per-thread, so no locking; entries are immutable objects, shared freely once made.
    static STR_CACHE: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
}

/// `b` zero-padded to the slot width (a fixed-size key: hashed and compared without loops
/// over the length or a `memcmp` call).
#[inline]
fn padded(b: &[u8]) -> [u8; CACHE_MAX_LEN] {
    let mut key = [0u8; CACHE_MAX_LEN];
    if let Some(dst) = key.get_mut(..b.len()) {
        dst.copy_from_slice(b);
    }
    key
}

#[inline]
fn slot_of(kind: u8, len: usize, key: &[u8; CACHE_MAX_LEN]) -> usize {
    let mut h = (len as u64) | (u64::from(kind) << 8);
    for w in key.chunks_exact(8) {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(a)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    (h >> (64 - CACHE_SLOTS.trailing_zeros())) as usize
}

/// The cached object for `(kind, b)`, or `make()`'s (then cached). `b` must be the object's
/// exact UTF-8 content.
fn cached<'py>(
    py: Python<'py>,
    kind: u8,
    b: &[u8],
    make: impl FnOnce() -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    if b.len() > CACHE_MAX_LEN {
        return make();
    }
    let key = padded(b);
    let i = slot_of(kind, b.len(), &key);
    let hit = STR_CACHE.with(|c| {
        let c = c.try_borrow().ok()?;
        let s = c.get(i)?;
        if s.kind == kind && usize::from(s.len) == b.len() && s.bytes == key {
            s.obj.as_ref().map(|o| o.clone_ref(py))
        } else {
            None
        }
    });
    if let Some(o) = hit {
        return Ok(o.into_bound(py));
    }
    let obj = make()?;
    let new = Slot {
        kind,
        len: b.len() as u8,
        bytes: key,
        obj: Some(obj.clone().unbind()),
    };
    // The evicted object is released after the borrow ends.
    let _old = STR_CACHE.with(|c| {
        let mut c = c.try_borrow_mut().ok()?;
        if c.is_empty() {
            c.resize_with(CACHE_SLOTS, || Slot {
                kind: 0,
                len: 0,
                bytes: [0; CACHE_MAX_LEN],
                obj: None,
            });
        }
        c.get_mut(i).map(|s| std::mem::replace(s, new))
    });
    Ok(obj)
}

/// A `str` of ASCII/UTF-8 text the parser produced (keys, strings), cached when short.
#[inline]
fn py_str<'py>(py: Python<'py>, b: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    cached(py, KIND_STR, b, || {
        Ok(match std::str::from_utf8(b) {
            Ok(s) => PyString::new(py, s).into_any(),
            Err(_) => PyString::new(py, &String::from_utf8_lossy(b)).into_any(),
        })
    })
}

/// `(a, b)` without the generic tuple builder.
#[inline]
fn tuple2<'py>(
    py: Python<'py>,
    a: Bound<'py, PyAny>,
    b: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: PyTuple_New(2) returns a new tuple or NULL (checked); PyTuple_SetItem steals the
    // references handed over by `into_ptr` and cannot fail for index 0 and 1 of a fresh 2-tuple.
    unsafe {
        let t = ffi::PyTuple_New(2);
        if t.is_null() {
            return Err(PyErr::fetch(py));
        }
        ffi::PyTuple_SetItem(t, 0, a.into_ptr());
        ffi::PyTuple_SetItem(t, 1, b.into_ptr());
        Ok(Bound::from_owned_ptr(py, t))
    }
}

fn bare_to_py<'py>(py: Python<'py>, b: BareRef<'_>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match b {
        BareRef::String(s) => py_str(py, s)?,
        BareRef::Integer(v) => v.into_pyobject(py)?.into_any(),
        BareRef::Token(t) => cached(py, KIND_TOKEN, t.as_bytes(), || token_type(py)?.call1((t,)))?,
        BareRef::Boolean(v) => PyBool::new(py, v).to_owned().into_any(),
        BareRef::Decimal { mantissa, scale } => {
            // Both operands are exact in f64 (|mantissa| < 2^53), so the division is correctly rounded.
            let v = mantissa as f64 / 10f64.powi(scale as i32);
            PyFloat::new(py, v).into_any()
        }
        BareRef::ByteSeq(v) => PyBytes::new(py, v).into_any(),
        BareRef::Date(v) => date_type(py)?.call1((v,))?,
        BareRef::DisplayString(s) => display_type(py)?.call1((s,))?,
    })
}

fn params_to_py<'py>(
    py: Python<'py>,
    params: Vec<(&str, Bound<'py, PyAny>)>,
) -> PyResult<Bound<'py, PyAny>> {
    if params.is_empty() {
        return Ok(PyList::empty(py).into_any());
    }
    let mut v = Vec::with_capacity(params.len());
    for (k, b) in params {
        v.push(tuple2(py, py_str(py, k.as_bytes())?, b)?);
    }
    Ok(PyList::new(py, v)?.into_any())
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
    type Bare = Bound<'py, PyAny>;
    type Item = Bound<'py, PyAny>;
    type Member = Bound<'py, PyAny>;
    type Error = ParseErr;

    fn bare(&mut self, b: BareRef<'_>) -> Result<Self::Bare, ParseErr> {
        Ok(bare_to_py(self.0, b)?)
    }
    fn item(
        &mut self,
        bare: Self::Bare,
        params: Vec<(&'a str, Self::Bare)>,
    ) -> Result<Self::Item, ParseErr> {
        Ok(tuple2(self.0, bare, params_to_py(self.0, params)?)?)
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
        Ok(tuple2(
            py,
            PyList::new(py, items)?.into_any(),
            params_to_py(py, params)?,
        )?)
    }
}

// ---- Python -> bytes --------------------------------------------------------------------------

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_string())
}

#[inline]
fn sf_ok(r: hb_core::Result<()>) -> PyResult<()> {
    r.map_err(|e| PyHbError::from(e).into())
}

/// Appends a bare item. Exact `str` and `int` (the common cases) are checked first; the rest
/// in the order that tells `bool` from `int` and the `str`/`int` subclasses apart.
fn ser_bare_py(py: Python<'_>, out: &mut Vec<u8>, v: &Bound<'_, PyAny>) -> PyResult<()> {
    if v.is_exact_instance_of::<PyString>() {
        let s = v.cast::<PyString>()?.to_str()?;
        return sf_ok(sf::ser_bare_ref(out, BareRef::String(s.as_bytes())));
    }
    if v.is_exact_instance_of::<PyInt>() {
        return sf_ok(sf::ser_bare_ref(out, BareRef::Integer(int_of(v)?)));
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return sf_ok(sf::ser_bare_ref(out, BareRef::Boolean(b.is_true())));
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
        let text = s.to_str()?;
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

/// Unpacks a 2-sequence (tuple or list).
#[inline]
fn pair<'py>(
    v: &Bound<'py, PyAny>,
    what: &str,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    if let Ok(t) = v.cast::<PyTuple>() {
        if t.len() == 2 {
            return Ok((t.get_item(0)?, t.get_item(1)?));
        }
    } else if let Ok(l) = v.cast::<PyList>() {
        if l.len() == 2 {
            return Ok((l.get_item(0)?, l.get_item(1)?));
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
    if let Ok(l) = v.cast::<PyList>() {
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
    if let Ok(l) = v.cast::<PyList>() {
        if l.is_empty() {
            return Ok(());
        }
    }
    each(
        v,
        "structured-field parameters must be a list of (key, value)",
        |_, entry| {
            let (k, b) = pair(entry, "parameter")?;
            let key = k
                .cast::<PyString>()
                .map_err(|_| codec_err("structured-field parameter key must be a str"))?
                .to_str()?;
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
    if first.is_instance_of::<PyList>() {
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
            let key = k
                .cast::<PyString>()
                .map_err(|_| codec_err("structured-field dictionary key must be a str"))?
                .to_str()?;
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

// ---- Exports ----------------------------------------------------------------------------------

/// Parses structured-field text of the given kind ("item", "list" or "dictionary").
#[pyfunction]
fn sf_parse<'py>(
    py: Python<'py>,
    kind: &str,
    data: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let kind = kind_of(kind)?;
    let bytes: &[u8] = if let Ok(b) = data.cast::<PyBytes>() {
        b.as_bytes()
    } else if let Ok(s) = data.cast::<PyString>() {
        s.to_str()?.as_bytes()
    } else {
        return Err(codec_err(format!(
            "sf_parse expects bytes or str, got {}",
            type_name(data)
        )));
    };
    let mut b = PyBuilder(py);
    match kind {
        Kind::Item => Ok(sf::parse_item_with(bytes, &mut b)?),
        Kind::List => Ok(PyList::new(py, sf::parse_list_with(bytes, &mut b)?)?.into_any()),
        Kind::Dict => {
            let v = sf::parse_dict_with(bytes, &mut b)?;
            let mut out = Vec::with_capacity(v.len());
            for (k, m) in v {
                out.push(tuple2(py, py_str(py, k.as_bytes())?, m)?);
            }
            Ok(PyList::new(py, out)?.into_any())
        }
    }
}

/// Serialises a value of the given kind ("item", "list" or "dictionary") to bytes.
#[pyfunction]
fn sf_serialize<'py>(
    py: Python<'py>,
    kind: &str,
    value: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = Vec::with_capacity(256);
    match kind_of(kind)? {
        Kind::Item => ser_item_py(py, &mut out, value)?,
        Kind::List => ser_list_py(py, &mut out, value)?,
        Kind::Dict => ser_dict_py(py, &mut out, value)?,
    }
    Ok(PyBytes::new(py, &out))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sf_parse, m)?)?;
    m.add_function(wrap_pyfunction!(sf_serialize, m)?)?;
    Ok(())
}

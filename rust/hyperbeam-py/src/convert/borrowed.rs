//! Messages read in place from a Python `dict` as sorted borrowed entries (`ValueRef`), for the
//! fast unsigned ID: `str` and `bytes` data borrowed, only nested containers converted.

use hb_core::id_fast::{key_cmp, key_prefix, Entry, ValueRef};
use hb_core::{Msg, Value};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString};

use hb_core::value::MAX_DEPTH;

use super::owned::{atom_type, to_value};

/// A top-level value for [`with_entries`]: borrowed from its Python object, or converted into
/// the owned `arena` (nested dicts and lists, big integers, bytearrays).
#[derive(Clone, Copy)]
enum Slot<'a> {
    Ref(ValueRef<'a>),
    Owned(usize),
    /// A nested map of scalars, borrowed: a range of the nested entries.
    Nested(usize, usize),
}

/// Messages of up to this many keys are read into arrays on the stack (no allocation).
const STACK_ENTRIES: usize = 32;

/// Runs `f` over the entries of the message `obj` borrowed from the `dict` (str and bytes data
/// borrowed, not copied; only nested containers converted to owned values), sorted by key, and a
/// rough size of its data in bytes. `None` when the `dict` cannot be read that way: it is not a
/// `dict`, has other than `str`/`bytes` keys or a `str` that is not UTF-8, or a value fails to
/// convert. Callers then fall back to [`to_msg`](super::to_msg), which converts the same values the same way
/// (or raises the error).
pub fn with_entries<R>(
    obj: &Bound<'_, PyAny>,
    f: impl FnOnce(&[Entry<'_>], usize) -> R,
) -> Option<R> {
    let d = obj.cast::<PyDict>().ok()?;
    // Strong references keep every borrowed buffer alive until `f` returns.
    let items: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)> = d.iter().collect();
    let mut arena: Vec<Value> = Vec::new();
    let mut slots: Vec<(&[u8], Slot<'_>)> = Vec::with_capacity(items.len());
    let mut size = 0usize;
    for (k, v) in &items {
        let key: &[u8] = if let Ok(s) = k.cast::<PyString>() {
            s.to_str().ok()?.as_bytes()
        } else if let Ok(b) = k.cast::<PyBytes>() {
            b.as_bytes()
        } else {
            return None;
        };
        // The exact built-in types first (a pointer comparison each), then `to_value`'s order.
        let slot = if let Ok(s) = v.cast_exact::<PyString>() {
            let text = s.to_str().ok()?;
            size += text.len();
            Slot::Ref(ValueRef::Bin(text.as_bytes()))
        } else if let Ok(b) = v.cast::<PyBytes>() {
            let b = b.as_bytes();
            size += b.len();
            Slot::Ref(ValueRef::Bin(b))
        } else if let Ok(Ok(n)) = v.cast_exact::<PyInt>().map(|i| i.extract::<i64>()) {
            size += 16;
            Slot::Ref(ValueRef::Int(n))
        } else if let Ok(s) = v.cast::<PyString>() {
            let text = s.to_str().ok()?;
            if v.is_instance(atom_type(v.py()).ok()?).ok()? {
                size += 16;
                Slot::Ref(ValueRef::Atom(text))
            } else {
                size += text.len();
                Slot::Ref(ValueRef::Bin(text.as_bytes()))
            }
        } else if v.is_none() {
            size += 16;
            Slot::Ref(ValueRef::Atom("null"))
        } else if let Ok(b) = v.cast::<PyBool>() {
            size += 16;
            Slot::Ref(ValueRef::Atom(if b.is_true() { "true" } else { "false" }))
        } else if let Ok(f) = v.cast_exact::<PyFloat>() {
            size += 16;
            Slot::Ref(ValueRef::Float(f.value()))
        } else {
            // Containers, big or subclassed integers, float subclasses, bytearrays, errors.
            let owned = to_value(v, 1).ok()?;
            size += approx_owned_size(&owned);
            arena.push(owned);
            Slot::Owned(arena.len() - 1)
        };
        slots.push((key, slot));
    }
    let entries = sorted_entries(&slots, &arena, &[]);
    Some(f(&entries, size))
}

/// A rough data size of an owned value (for the "release the GIL?" decision).
fn approx_owned_size(v: &Value) -> usize {
    match v {
        Value::Bin(b) => b.len(),
        Value::Map(inner) => inner.len() * 64 + 64,
        Value::List(l) => l.len() * 16,
        _ => 16,
    }
}

/// Largest message (rough data size) that [`with_entries_borrowed`] takes: bigger ones are
/// hashed without the GIL, which needs the strong references of [`with_entries`].
pub const BORROWED_MAX_SIZE: usize = 64 * 1024;

/// The type of `p` (a live object).
#[inline]
fn type_of(p: *mut ffi::PyObject) -> *mut ffi::PyTypeObject {
    // SAFETY: `p` is a live object; reading its type needs no reference.
    unsafe { ffi::Py_TYPE(p) }
}

/// The UTF-8 text of an exact `str` (`None` for one that is not valid UTF-8: surrogates).
#[inline]
pub(crate) fn str_bytes<'a>(p: *mut ffi::PyObject) -> Option<&'a [u8]> {
    let mut n: ffi::Py_ssize_t = 0;
    // SAFETY: `p` is a live `str`; the buffer returned is owned by it (cached UTF-8) and lives
    // as long as it does, which the caller guarantees for `'a`. No Python code runs.
    unsafe {
        let d = ffi::PyUnicode_AsUTF8AndSize(p, &mut n);
        if d.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(std::slice::from_raw_parts(
            d.cast::<u8>(),
            usize::try_from(n).ok()?,
        ))
    }
}

/// The data of an exact `bytes`.
#[inline]
fn bytes_data<'a>(p: *mut ffi::PyObject) -> Option<&'a [u8]> {
    // SAFETY: `p` is a live `bytes`, immutable, alive for `'a` (the caller's guarantee).
    unsafe {
        let d = ffi::PyBytes_AsString(p);
        let n = ffi::PyBytes_Size(p);
        if d.is_null() || n < 0 {
            ffi::PyErr_Clear();
            return None;
        }
        Some(std::slice::from_raw_parts(d.cast::<u8>(), n as usize))
    }
}

/// An exact `int` that fits in i64.
#[inline]
fn small_int(p: *mut ffi::PyObject) -> Option<i64> {
    // SAFETY: `p` is a live exact `int`; PyLong_AsLongLong runs no Python code for it.
    unsafe {
        let v = ffi::PyLong_AsLongLong(p);
        if v == -1 && !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(v)
    }
}

/// Calls `f(key, value)` for each item of the exact `dict` `d`, borrowed (no reference
/// counting); stops at the first `None`. Sound only while no Python code runs.
#[inline]
fn dict_items(
    d: *mut ffi::PyObject,
    mut f: impl FnMut(*mut ffi::PyObject, *mut ffi::PyObject) -> Option<()>,
) -> Option<()> {
    let mut pos: ffi::Py_ssize_t = 0;
    let mut k: *mut ffi::PyObject = std::ptr::null_mut();
    let mut v: *mut ffi::PyObject = std::ptr::null_mut();
    // SAFETY: `d` is a live dict; PyDict_Next hands out borrowed references, valid while the
    // dict is unchanged, which holds as no Python code runs.
    while unsafe { ffi::PyDict_Next(d, &mut pos, &mut k, &mut v) } != 0 {
        f(k, v)?;
    }
    Some(())
}

/// The types [`pure_value`] and [`with_entries_borrowed`] take by pointer comparison.
struct Types {
    str_: *mut ffi::PyTypeObject,
    bytes: *mut ffi::PyTypeObject,
    int: *mut ffi::PyTypeObject,
    float: *mut ffi::PyTypeObject,
    dict: *mut ffi::PyTypeObject,
    list: *mut ffi::PyTypeObject,
    atom: *mut ffi::PyTypeObject,
    none: *mut ffi::PyObject,
    true_: *mut ffi::PyObject,
    false_: *mut ffi::PyObject,
}

impl Types {
    fn get(py: Python<'_>) -> Option<Types> {
        // The addresses of the built-in type objects (taking them is safe).
        let (str_, bytes, int, float, dict, list) = (
            std::ptr::addr_of_mut!(ffi::PyUnicode_Type),
            std::ptr::addr_of_mut!(ffi::PyBytes_Type),
            std::ptr::addr_of_mut!(ffi::PyLong_Type),
            std::ptr::addr_of_mut!(ffi::PyFloat_Type),
            std::ptr::addr_of_mut!(ffi::PyDict_Type),
            std::ptr::addr_of_mut!(ffi::PyList_Type),
        );
        Some(Types {
            str_,
            bytes,
            int,
            float,
            dict,
            list,
            // Imported (Python code may run) before any reference is borrowed.
            atom: atom_type(py).ok()?.as_ptr().cast(),
            none: py.None().as_ptr(),
            true_: PyBool::new(py, true).as_ptr(),
            false_: PyBool::new(py, false).as_ptr(),
        })
    }

    /// A key: exact `str` (UTF-8) or `bytes`.
    #[inline]
    fn key<'a>(&self, k: *mut ffi::PyObject) -> Option<&'a [u8]> {
        let t = type_of(k);
        if t == self.str_ {
            str_bytes(k)
        } else if t == self.bytes {
            bytes_data(k)
        } else {
            None
        }
    }

    /// A scalar value of an exact built-in type (or an exact `Atom`), borrowed; `None` for
    /// anything else.
    #[inline]
    fn scalar<'a>(&self, v: *mut ffi::PyObject) -> Option<ValueRef<'a>> {
        let t = type_of(v);
        Some(if t == self.str_ {
            ValueRef::Bin(str_bytes(v)?)
        } else if t == self.bytes {
            ValueRef::Bin(bytes_data(v)?)
        } else if t == self.int {
            ValueRef::Int(small_int(v)?)
        } else if t == self.float {
            // SAFETY: a live exact float.
            ValueRef::Float(unsafe { ffi::PyFloat_AsDouble(v) })
        } else if v == self.none {
            ValueRef::Atom("null")
        } else if v == self.true_ {
            ValueRef::Atom("true")
        } else if v == self.false_ {
            ValueRef::Atom("false")
        } else if t == self.atom {
            ValueRef::Atom(std::str::from_utf8(str_bytes(v)?).ok()?)
        } else {
            return None;
        })
    }

    /// Appends the entries of `v` to `out`, sorted by key, when `v` is an exact non-empty
    /// `dict` of scalars (see [`Types::scalar`]) under exact `str`/`bytes` keys; `false` (nothing
    /// appended) otherwise.
    fn nested_scalars<'a>(&self, v: *mut ffi::PyObject, out: &mut Vec<Entry<'a>>) -> bool {
        if type_of(v) != self.dict {
            return false;
        }
        let start = out.len();
        let all = dict_items(v, |k, x| {
            out.push((self.key(k)?, self.scalar(x)?));
            Some(())
        });
        if all.is_none() || out.len() == start {
            out.truncate(start);
            return false;
        }
        if let Some(e) = out.get_mut(start..) {
            e.sort_unstable_by(|a, b| key_cmp(a.0, b.0));
        }
        true
    }

    /// An owned value of exact built-in types only (nested dicts and lists included), as
    /// [`to_value`] converts it; `None` for anything else.
    fn pure_value(&self, v: *mut ffi::PyObject, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        let t = type_of(v);
        if t == self.dict {
            let mut m = Msg::new();
            dict_items(v, |k, x| {
                m.insert(self.key(k)?.to_vec(), self.pure_value(x, depth + 1)?);
                Some(())
            })?;
            return Some(Value::Map(m));
        }
        if t == self.list {
            // SAFETY: a live list; items borrowed while no Python code runs (none does here).
            let n = unsafe { ffi::PyList_Size(v) };
            let mut out = Vec::with_capacity(usize::try_from(n).ok()?);
            for i in 0..n {
                let x = unsafe { ffi::PyList_GetItem(v, i) };
                if x.is_null() {
                    unsafe { ffi::PyErr_Clear() };
                    return None;
                }
                out.push(self.pure_value(x, depth + 1)?);
            }
            return Some(Value::List(out));
        }
        Some(match self.scalar(v)? {
            ValueRef::Bin(b) => Value::Bin(b.to_vec()),
            ValueRef::Int(i) => Value::Int(i),
            ValueRef::Float(f) => Value::Float(f),
            ValueRef::Atom(a) => Value::Atom(a.to_owned()),
            ValueRef::BigInt(s) => Value::BigInt(s.to_owned()),
            ValueRef::List(l) => Value::List(l.to_vec()),
            ValueRef::Map(m) => Value::Map(m.clone()),
            ValueRef::Entries(e) => Value::Map(hb_core::id_fast::entries_to_msg(e)),
        })
    }
}

/// [`with_entries`] without reference counting, for the common message: an exact `dict` with
/// exact `str`/`bytes` keys and values of exact built-in types (`str`, `bytes`, `int` within
/// i64, `float`, `None`, `bool`, exact `Atom`, and `dict`/`list` of the same), of at most
/// [`BORROWED_MAX_SIZE`] bytes. Every key and value is borrowed from the dict while the GIL is
/// held and no Python code runs (none can: only these types are read, through calls that run
/// none), so the dict cannot change under `f`, which must not run Python code or release the
/// GIL. `None` when the message is not of that kind (the caller then uses [`with_entries`]).
pub fn with_entries_borrowed<R>(
    obj: &Bound<'_, PyAny>,
    f: impl FnOnce(&[Entry<'_>]) -> R,
) -> Option<R> {
    let py = obj.py();
    let tys = Types::get(py)?;
    let d = obj.as_ptr();
    if type_of(d) != tys.dict {
        return None;
    }
    let mut arena: Vec<Value> = Vec::new();
    // SAFETY: a live dict.
    let n = usize::try_from(unsafe { ffi::PyDict_Size(d) }).ok()?;
    let small = n <= STACK_ENTRIES;
    let mut slot_buf = [(&[][..], Slot::Owned(0)); STACK_ENTRIES];
    let mut slot_vec: Vec<(&[u8], Slot<'_>)> = Vec::with_capacity(if small { 0 } else { n });
    let mut count = 0usize;
    let mut size = 0usize;
    let mut nested: Vec<Entry<'_>> = Vec::new();
    dict_items(d, |k, v| {
        let key = tys.key(k)?;
        let at = nested.len();
        let slot = match tys.scalar(v) {
            Some(r) => {
                size += match r {
                    ValueRef::Bin(b) => b.len(),
                    _ => 16,
                };
                Slot::Ref(r)
            }
            None if tys.nested_scalars(v, &mut nested) => {
                size += (nested.len() - at) * 64 + 64;
                Slot::Nested(at, nested.len())
            }
            None => {
                let owned = tys.pure_value(v, 1)?;
                size += approx_owned_size(&owned);
                arena.push(owned);
                Slot::Owned(arena.len() - 1)
            }
        };
        if small {
            *slot_buf.get_mut(count)? = (key, slot);
        } else {
            slot_vec.push((key, slot));
        }
        count += 1;
        Some(())
    })?;
    if size > BORROWED_MAX_SIZE {
        return None;
    }
    if small {
        let slots = slot_buf.get(..count)?;
        let mut order = [(0u64, 0usize); STACK_ENTRIES];
        let mut entries = [(&[][..], ValueRef::Int(0)); STACK_ENTRIES];
        let (order, entries) = (order.get_mut(..count)?, entries.get_mut(..count)?);
        sort_entries(slots, &arena, &nested, order, entries);
        Some(f(entries))
    } else {
        Some(f(&sorted_entries(&slot_vec, &arena, &nested)))
    }
}

/// The entries of `slots`, sorted by key (owned values from `arena`).
fn sorted_entries<'a>(
    slots: &[(&'a [u8], Slot<'a>)],
    arena: &'a [Value],
    nested: &'a [Entry<'a>],
) -> Vec<Entry<'a>> {
    let mut order = vec![(0u64, 0usize); slots.len()];
    let mut entries = vec![(&[][..], ValueRef::Int(0)); slots.len()];
    sort_entries(slots, arena, nested, &mut order, &mut entries);
    entries
}

/// Fills `entries` with those of `slots` sorted by key (owned values from `arena`); `order`
/// and `entries` are as long as `slots`.
fn sort_entries<'a>(
    slots: &[(&'a [u8], Slot<'a>)],
    arena: &'a [Value],
    nested: &'a [Entry<'a>],
    order: &mut [(u64, usize)],
    entries: &mut [Entry<'a>],
) {
    // Sort (prefix, index) pairs as plain integers; only keys sharing their 8-byte prefix (rare)
    // need a second look at the whole key.
    for (o, (i, (k, _))) in order.iter_mut().zip(slots.iter().enumerate()) {
        *o = (key_prefix(k), i);
    }
    order.sort_unstable();
    if order.windows(2).any(|w| w[0].0 == w[1].0) {
        order.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| key_cmp(slots[a.1].0, slots[b.1].0))
        });
    }
    for (e, &(_, i)) in entries.iter_mut().zip(order.iter()) {
        let (k, s) = &slots[i];
        let v = match s {
            Slot::Ref(r) => *r,
            Slot::Owned(i) => ValueRef::from(&arena[*i]),
            Slot::Nested(a, b) => ValueRef::Entries(nested.get(*a..*b).unwrap_or(&[])),
        };
        *e = (*k, v);
    }
}

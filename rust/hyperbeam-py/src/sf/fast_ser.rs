//! Python -> bytes, the borrowed fast path: exact `list`/`tuple`/`str`/`int` objects read
//! through the C API without new references; on anything else the caller uses `from_py`.

use hb_core::sf::{self, BareRef};
use pyo3::ffi;

type Ptr = *mut ffi::PyObject;

/// Serialises values made only of exact built-in types: `list`/`tuple` containers, `str` keys,
/// and bare values of exact `str`, `int` (within i64), `bool`, `float`, `bytes` or `Token`.
/// Every object is borrowed (no reference counting): only these types are read, through calls
/// that run no Python code, so nothing can change under it while the GIL is held. `None` on
/// anything else, or anything invalid: the caller starts over with the general path, which
/// takes every type and reports the errors. Both write the same bytes for the same value.
pub(super) struct FastSer<'o> {
    pub(super) out: &'o mut Vec<u8>,
    pub(super) token: *mut ffi::PyTypeObject,
    pub(super) true_: Ptr,
    pub(super) false_: Ptr,
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

    pub(super) fn item(&mut self, v: Ptr) -> Option<()> {
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

    pub(super) fn list(&mut self, v: Ptr) -> Option<()> {
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

    pub(super) fn dict(&mut self, v: Ptr) -> Option<()> {
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

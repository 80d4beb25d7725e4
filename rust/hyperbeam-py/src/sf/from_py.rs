//! Python -> bytes, the general path: any sequence and any `int`/`str` subclass, checked and
//! serialised one value at a time.

use hb_core::sf::{self, BareRef};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyFloat, PyInt, PyList, PyString, PyTuple};

use super::{date_type, display_type, token_type};
use crate::error::{codec_err, PyHbError};

pub(super) fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_string())
}

/// The UTF-8 text of a `str`; one with lone surrogates (not UTF-8) is a codec error.
#[inline]
pub(super) fn utf8<'a>(s: &'a Bound<'_, PyString>) -> PyResult<&'a str> {
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

pub(super) fn ser_item_py(py: Python<'_>, out: &mut Vec<u8>, v: &Bound<'_, PyAny>) -> PyResult<()> {
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

pub(super) fn ser_list_py(py: Python<'_>, out: &mut Vec<u8>, v: &Bound<'_, PyAny>) -> PyResult<()> {
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

pub(super) fn ser_dict_py(py: Python<'_>, out: &mut Vec<u8>, v: &Bound<'_, PyAny>) -> PyResult<()> {
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

//! Python objects <-> `hb_core::Value` (the message model of spec core §2.1).

use hb_core::httpsig::HttpMsg;
use hb_core::id_fast::{key_cmp, key_prefix, Entry, ValueRef};
use hb_core::{Msg, Value};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType,
};

use crate::error::codec_err;

use hb_core::value::MAX_DEPTH;

static ATOM: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn atom_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    ATOM.import(py, "hyperbeam_fast.atom", "Atom")
}

/// A message key: `str` (UTF-8, surrogateescape), `bytes` or `int`.
pub fn key_bytes(k: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(s) = k.cast::<PyString>() {
        return match s.to_str() {
            Ok(t) => Ok(t.as_bytes().to_vec()),
            Err(_) => Ok(s
                .call_method1("encode", ("utf-8", "surrogateescape"))?
                .cast::<PyBytes>()?
                .as_bytes()
                .to_vec()),
        };
    }
    if let Ok(b) = k.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if k.is_instance_of::<PyInt>() && !k.is_instance_of::<PyBool>() {
        return Ok(k.str()?.to_str()?.as_bytes().to_vec());
    }
    Err(codec_err(format!(
        "message keys must be str, got {}",
        k.get_type().name()?
    )))
}

/// A binary value: `bytes`, `bytearray` or `str` (its UTF-8 bytes).
pub fn bin_bytes(v: &Bound<'_, PyAny>) -> PyResult<Option<Vec<u8>>> {
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(Some(b.as_bytes().to_vec()));
    }
    if v.is_instance_of::<PyString>()
        && (v.is_exact_instance_of::<PyString>() || !v.is_instance(atom_type(v.py())?)?)
    {
        return Ok(Some(key_bytes(v)?));
    }
    if let Ok(b) = v.cast::<PyByteArray>() {
        return Ok(Some(b.to_vec()));
    }
    Ok(None)
}

pub fn to_msg(obj: &Bound<'_, PyAny>) -> PyResult<Msg> {
    let d = obj.cast::<PyDict>().map_err(|_| {
        codec_err(format!(
            "a message must be a dict, got {}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    dict_to_msg(d, 0)
}

/// A top-level value for [`with_entries`]: borrowed from its Python object, or converted into
/// the owned `arena` (nested dicts and lists, big integers, bytearrays).
enum Slot<'a> {
    Ref(ValueRef<'a>),
    Owned(usize),
}

/// Runs `f` over the entries of the message `obj` borrowed from the `dict` (str and bytes data
/// borrowed, not copied; only nested containers converted to owned values), sorted by key, and a
/// rough size of its data in bytes. `None` when the `dict` cannot be read that way: it is not a
/// `dict`, has other than `str`/`bytes` keys or a `str` that is not UTF-8, or a value fails to
/// convert. Callers then fall back to [`to_msg`], which converts the same values the same way
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
            size += match &owned {
                Value::Bin(b) => b.len(),
                Value::Map(inner) => inner.len() * 64 + 64,
                Value::List(l) => l.len() * 16,
                _ => 16,
            };
            arena.push(owned);
            Slot::Owned(arena.len() - 1)
        };
        slots.push((key, slot));
    }
    // Sort small (prefix, index) pairs rather than the entries themselves.
    let mut order: Vec<(u64, usize)> = slots
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (key_prefix(k), i))
        .collect();
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| key_cmp(slots[a.1].0, slots[b.1].0))
    });
    let entries: Vec<Entry<'_>> = order
        .iter()
        .map(|&(_, i)| {
            let (k, s) = &slots[i];
            let v = match s {
                Slot::Ref(r) => *r,
                Slot::Owned(i) => ValueRef::from(&arena[*i]),
            };
            (*k, v)
        })
        .collect();
    Some(f(&entries, size))
}

fn dict_to_msg(d: &Bound<'_, PyDict>, depth: usize) -> PyResult<Msg> {
    let mut m = Msg::new();
    for (k, v) in d.iter() {
        m.insert(key_bytes(&k)?, to_value(&v, depth + 1)?);
    }
    Ok(m)
}

pub fn to_value(v: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(codec_err(format!(
            "message nests deeper than {MAX_DEPTH} levels"
        )));
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(Value::Bin(b.as_bytes().to_vec()));
    }
    if v.is_exact_instance_of::<PyString>() {
        return Ok(Value::Bin(key_bytes(v)?));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        return Ok(Value::Map(dict_to_msg(d, depth)?));
    }
    if let Ok(s) = v.cast::<PyString>() {
        if v.is_instance(atom_type(v.py())?)? {
            return Ok(Value::Atom(s.to_str()?.to_owned()));
        }
        return Ok(Value::Bin(key_bytes(v)?));
    }
    if v.is_none() {
        return Ok(Value::Atom("null".into()));
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Value::Atom(
            if b.is_true() { "true" } else { "false" }.into(),
        ));
    }
    if let Ok(i) = v.cast::<PyInt>() {
        return Ok(match i.extract::<i64>() {
            Ok(n) => Value::Int(n),
            Err(_) => Value::BigInt(i.str()?.to_str()?.to_owned()),
        });
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if let Ok(l) = v.cast::<PyList>() {
        return l
            .iter()
            .map(|x| to_value(&x, depth + 1))
            .collect::<PyResult<_>>()
            .map(Value::List);
    }
    if let Ok(t) = v.cast::<PyTuple>() {
        return t
            .iter()
            .map(|x| to_value(&x, depth + 1))
            .collect::<PyResult<_>>()
            .map(Value::List);
    }
    if let Ok(b) = v.cast::<PyByteArray>() {
        return Ok(Value::Bin(b.to_vec()));
    }
    Err(codec_err(format!(
        "unsupported value of type {} (messages hold bytes, str, int, float, bool, None, Atom, list and dict)",
        v.get_type().name()?
    )))
}

/// A key as `str` (invalid UTF-8 kept through surrogateescape).
pub fn key_to_py<'py>(py: Python<'py>, k: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    match std::str::from_utf8(k) {
        Ok(s) => Ok(PyString::new(py, s).into_any()),
        Err(_) => PyBytes::new(py, k).call_method1("decode", ("utf-8", "surrogateescape")),
    }
}

pub fn msg_to_py<'py>(py: Python<'py>, m: &Msg) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in m {
        d.set_item(key_to_py(py, k)?, value_to_py(py, v)?)?;
    }
    Ok(d)
}

pub fn value_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Bin(b) => PyBytes::new(py, b).into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::BigInt(s) => py.get_type::<PyInt>().call1((s.as_str(),))?,
        Value::Float(f) => PyFloat::new(py, *f).into_any(),
        Value::Atom(a) => match a.as_str() {
            "true" => PyBool::new(py, true).to_owned().into_any(),
            "false" => PyBool::new(py, false).to_owned().into_any(),
            "null" => py.None().into_bound(py),
            other => atom_type(py)?.call1((other,))?,
        },
        Value::List(l) => {
            let items = l
                .iter()
                .map(|x| value_to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Map(m) => msg_to_py(py, m)?.into_any(),
    })
}

/// A dict of field names to `bytes`/`str` values -> an HTTP message.
pub fn to_http(obj: &Bound<'_, PyAny>) -> PyResult<HttpMsg> {
    let d = obj
        .cast::<PyDict>()
        .map_err(|_| codec_err("an httpsig@1.0 message must be a dict of field names to bytes"))?;
    let mut h = HttpMsg::new();
    for (k, v) in d.iter() {
        let key = key_bytes(&k)?;
        let val = bin_bytes(&v)?.ok_or_else(|| {
            codec_err(format!(
                "httpsig@1.0 field {:?} must be bytes or str",
                String::from_utf8_lossy(&key)
            ))
        })?;
        h.insert(key, val);
    }
    Ok(h)
}

pub fn http_to_py<'py>(py: Python<'py>, h: &HttpMsg) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in h {
        d.set_item(key_to_py(py, k)?, PyBytes::new(py, v))?;
    }
    Ok(d)
}

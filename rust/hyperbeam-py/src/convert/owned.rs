//! Python objects <-> owned `hb_core` values: messages, values, keys, HTTP messages.

use hb_core::httpsig::HttpMsg;
use hb_core::{Msg, Value};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType,
};

use crate::error::codec_err;

use hb_core::value::MAX_DEPTH;

static ATOM: PyOnceLock<Py<PyType>> = PyOnceLock::new();

pub(super) fn atom_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    ATOM.import(py, "hyperbeam_fast.atom", "Atom")
}

/// A message key: `str` (UTF-8, surrogateescape), `bytes` or `int`.
pub fn key_bytes(k: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(s) = k.cast::<PyString>() {
        return match s.to_str() {
            Ok(t) => Ok(t.as_bytes().to_vec()),
            // Non-UTF-8 bytes read with `surrogateescape` come back as they were; any other
            // lone surrogate is no UTF-8 text at all (spec core §14: a typed error).
            Err(_) => match s.call_method1("encode", ("utf-8", "surrogateescape")) {
                Ok(b) => Ok(b.cast::<PyBytes>()?.as_bytes().to_vec()),
                Err(_) => Err(codec_err(format!(
                    "{:?} holds a lone surrogate, which is not UTF-8 text",
                    s.to_string_lossy()
                ))),
            },
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
            let name = s.to_str().map_err(|_| {
                codec_err(format!(
                    "the atom {:?} holds a lone surrogate, which is not UTF-8 text",
                    s.to_string_lossy()
                ))
            })?;
            return Ok(Value::Atom(name.to_owned()));
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

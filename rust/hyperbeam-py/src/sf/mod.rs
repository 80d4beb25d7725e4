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
//!
//! Files: `to_py` (parsing into Python objects), `from_py` (the general serialiser),
//! `fast_ser` (the borrowed fast path, tried first); this one holds the exports.

mod fast_ser;
mod from_py;
mod to_py;

use hb_core::sf;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyString, PyType};

use crate::error::codec_err;

use fast_ser::FastSer;
use from_py::{ser_dict_py, ser_item_py, ser_list_py, type_name, utf8};
use to_py::{list_from, list_of, pack2, py_str, ParseScope, PyBuilder};

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

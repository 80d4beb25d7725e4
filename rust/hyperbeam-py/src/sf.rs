//! Structured-field bindings (spec core §1.6): `sf_parse(kind, data)` and `sf_serialize(kind, value)`.
//!
//! Python shapes (close to the httpwg test-suite JSON):
//! item = `(bare, params)`; params = `[(key, bare), ...]`; inner list = `([item, ...], params)`;
//! list = `[member, ...]`; dictionary = `[(key, member), ...]`. Bare values: `int`, `float`
//! (decimal), `str` (string), `hyperbeam_fast.sf.Token`, `bytes` (byte sequence), `bool`,
//! `hyperbeam_fast.sf.Date`, `hyperbeam_fast.sf.DisplayString`.

use hb_core::sf::{self, Bare, Dict, InnerList, Item, List, Member, Params};
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

fn bare_to_py<'py>(py: Python<'py>, b: &Bare) -> PyResult<Bound<'py, PyAny>> {
    Ok(match b {
        Bare::Integer(v) => v.into_pyobject(py)?.into_any(),
        Bare::Decimal { mantissa, scale } => {
            // Both operands are exact in f64 (|mantissa| < 2^53), so the division is correctly rounded.
            let v = *mantissa as f64 / 10f64.powi(*scale as i32);
            PyFloat::new(py, v).into_any()
        }
        Bare::String(s) => PyString::new(py, &String::from_utf8_lossy(s)).into_any(),
        Bare::Token(t) => token_type(py)?.call1((t.as_str(),))?,
        Bare::ByteSeq(v) => PyBytes::new(py, v).into_any(),
        Bare::Boolean(v) => PyBool::new(py, *v).to_owned().into_any(),
        Bare::Date(v) => date_type(py)?.call1((*v,))?,
        Bare::DisplayString(s) => display_type(py)?.call1((s.as_str(),))?,
    })
}

fn params_to_py<'py>(py: Python<'py>, params: &Params) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for (k, v) in params {
        out.append(PyTuple::new(
            py,
            [PyString::new(py, k).into_any(), bare_to_py(py, v)?],
        )?)?;
    }
    Ok(out)
}

fn item_to_py<'py>(py: Python<'py>, item: &Item) -> PyResult<Bound<'py, PyAny>> {
    let t = PyTuple::new(
        py,
        [
            bare_to_py(py, &item.bare)?,
            params_to_py(py, &item.params)?.into_any(),
        ],
    )?;
    Ok(t.into_any())
}

fn member_to_py<'py>(py: Python<'py>, m: &Member) -> PyResult<Bound<'py, PyAny>> {
    match m {
        Member::Item(i) => item_to_py(py, i),
        Member::Inner(l) => {
            let items = PyList::empty(py);
            for i in &l.items {
                items.append(item_to_py(py, i)?)?;
            }
            let t = PyTuple::new(
                py,
                [items.into_any(), params_to_py(py, &l.params)?.into_any()],
            )?;
            Ok(t.into_any())
        }
    }
}

// ---- Python -> Rust ---------------------------------------------------------------------------

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_string())
}

fn bare_from_py(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<Bare> {
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Bare::Boolean(b.is_true()));
    }
    if v.is_instance(date_type(py)?)? {
        let i: i64 = v
            .extract()
            .map_err(|_| codec_err("structured-field date out of range"))?;
        return Ok(Bare::Date(i));
    }
    if v.is_instance_of::<PyInt>() {
        let i: i64 = v.extract().map_err(|_| {
            codec_err(format!(
                "structured-field integer {v} is out of the 64-bit range"
            ))
        })?;
        return Ok(Bare::Integer(i));
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return sf::decimal_from_f64(f.value()).map_err(|e| PyHbError::from(e).into());
    }
    if let Ok(s) = v.cast::<PyString>() {
        if v.is_instance(token_type(py)?)? {
            return Ok(Bare::Token(s.to_str()?.to_owned()));
        }
        if v.is_instance(display_type(py)?)? {
            return Ok(Bare::DisplayString(s.to_str()?.to_owned()));
        }
        return Ok(Bare::String(s.to_str()?.as_bytes().to_vec()));
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(Bare::ByteSeq(b.as_bytes().to_vec()));
    }
    if let Ok(b) = v.cast::<PyByteArray>() {
        return Ok(Bare::ByteSeq(b.to_vec()));
    }
    Err(codec_err(format!(
        "cannot serialise a {} as a structured-field bare item",
        type_name(v)
    )))
}

/// Unpacks a 2-sequence (tuple or list).
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

fn params_from_py(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<Params> {
    let mut out = Vec::new();
    for entry in v
        .try_iter()
        .map_err(|_| codec_err("structured-field parameters must be a list of (key, value)"))?
    {
        let (k, b) = pair(&entry?, "parameter")?;
        let key: String = k
            .extract()
            .map_err(|_| codec_err("structured-field parameter key must be a str"))?;
        out.push((key, bare_from_py(py, &b)?));
    }
    Ok(out)
}

fn item_from_parts(
    py: Python<'_>,
    bare: &Bound<'_, PyAny>,
    params: &Bound<'_, PyAny>,
) -> PyResult<Item> {
    Ok(Item {
        bare: bare_from_py(py, bare)?,
        params: params_from_py(py, params)?,
    })
}

fn item_from_py(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<Item> {
    let (b, p) = pair(v, "item")?;
    item_from_parts(py, &b, &p)
}

fn member_from_py(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<Member> {
    let (first, params) = pair(v, "member")?;
    if first.is_instance_of::<PyList>() {
        let mut items = Vec::new();
        for it in first.try_iter()? {
            items.push(item_from_py(py, &it?)?);
        }
        Ok(Member::Inner(InnerList {
            items,
            params: params_from_py(py, &params)?,
        }))
    } else {
        Ok(Member::Item(item_from_parts(py, &first, &params)?))
    }
}

fn list_from_py(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<List> {
    let mut out = Vec::new();
    for m in v
        .try_iter()
        .map_err(|_| codec_err("structured-field list must be a list of members"))?
    {
        out.push(member_from_py(py, &m?)?);
    }
    Ok(out)
}

fn dict_from_py(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<Dict> {
    let mut out = Vec::new();
    for entry in v
        .try_iter()
        .map_err(|_| codec_err("structured-field dictionary must be a list of (key, member)"))?
    {
        let (k, m) = pair(&entry?, "dictionary entry")?;
        let key: String = k
            .extract()
            .map_err(|_| codec_err("structured-field dictionary key must be a str"))?;
        out.push((key, member_from_py(py, &m)?));
    }
    Ok(out)
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
    match kind {
        Kind::Item => {
            let v = sf::parse_item(bytes).map_err(PyHbError::from)?;
            item_to_py(py, &v)
        }
        Kind::List => {
            let v = sf::parse_list(bytes).map_err(PyHbError::from)?;
            let out = PyList::empty(py);
            for m in &v {
                out.append(member_to_py(py, m)?)?;
            }
            Ok(out.into_any())
        }
        Kind::Dict => {
            let v = sf::parse_dict(bytes).map_err(PyHbError::from)?;
            let out = PyList::empty(py);
            for (k, m) in &v {
                out.append(PyTuple::new(
                    py,
                    [PyString::new(py, k).into_any(), member_to_py(py, m)?],
                )?)?;
            }
            Ok(out.into_any())
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
    let out = match kind_of(kind)? {
        Kind::Item => sf::ser_item(&item_from_py(py, value)?),
        Kind::List => sf::ser_list(&list_from_py(py, value)?),
        Kind::Dict => sf::ser_dict(&dict_from_py(py, value)?),
    }
    .map_err(PyHbError::from)?;
    Ok(PyBytes::new(py, &out))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sf_parse, m)?)?;
    m.add_function(wrap_pyfunction!(sf_serialize, m)?)?;
    Ok(())
}

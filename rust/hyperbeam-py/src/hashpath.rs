//! ID and hashpath bindings (spec core §1.1-§1.3, §5).

use hb_core::hashpath::{self, Alg};
use hb_core::ids;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

use crate::convert::bin_bytes;
use crate::error::{codec_err, PyHbError, PyHbResult};

fn bytes_arg(v: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    bin_bytes(v)?.ok_or_else(|| codec_err(format!("{what} must be bytes or str")))
}

/// A hashpath as `str`; a key-name part that is not UTF-8 is an error, never replaced.
fn hp_text(hp: Vec<u8>) -> PyResult<String> {
    String::from_utf8(hp).map_err(|_| {
        PyHbError::from(hb_core::Error::HashPath(
            "hashpath part is not valid UTF-8 text".into(),
        ))
        .into()
    })
}

fn alg(name: &str) -> PyHbResult<Alg> {
    Ok(Alg::from_name(name.as_bytes())?)
}

/// Unpadded base64url.
#[pyfunction]
fn b64url_encode(data: &[u8]) -> String {
    ids::b64url(data)
}

/// base64url (or standard) decoding, padding optional.
#[pyfunction]
fn b64url_decode<'py>(py: Python<'py>, text: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let t = bytes_arg(text, "text")?;
    let out = ids::b64url_decode(&t).map_err(PyHbError::from)?;
    Ok(PyBytes::new(py, &out))
}

/// 43-char (or 32-byte) ID -> 32 raw bytes.
#[pyfunction]
fn native_id<'py>(py: Python<'py>, id: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let out = ids::native_id(&bytes_arg(id, "id")?).map_err(PyHbError::from)?;
    Ok(PyBytes::new(py, &out))
}

/// 32-byte (or 43-char) ID -> 43-char base64url text.
#[pyfunction]
fn human_id(id: &Bound<'_, PyAny>) -> PyResult<String> {
    hp_text(ids::human_id(&bytes_arg(id, "id")?).map_err(PyHbError::from)?)
}

/// sha256(a[0:32] ++ b) (`hb_crypto:sha256_chain`).
#[pyfunction]
fn sha256_chain<'py>(py: Python<'py>, a: &[u8], b: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let out = ids::sha256_chain(a, b).map_err(PyHbError::from)?;
    Ok(PyBytes::new(py, &out))
}

/// (int(a) + int(sha256_chain(a, b))) mod 2^256 (`hb_crypto:accumulate`).
#[pyfunction]
fn accumulate<'py>(py: Python<'py>, a: &[u8], b: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let out = ids::accumulate(a, b).map_err(PyHbError::from)?;
    Ok(PyBytes::new(py, &out))
}

/// One step: compress `base` if it has two parts, then append `/part`.
#[pyfunction]
#[pyo3(signature = (base, part, alg_name="sha-256-chain"))]
fn hashpath_combine(base: &[u8], part: &[u8], alg_name: &str) -> PyResult<String> {
    hp_text(hashpath::combine(base, part, alg(alg_name)?).map_err(PyHbError::from)?)
}

/// Apply many parts in turn to `base` in one native call.
#[pyfunction]
#[pyo3(signature = (base, parts, alg_name="sha-256-chain"))]
fn hashpath_fold(
    py: Python<'_>,
    base: &[u8],
    parts: Vec<Vec<u8>>,
    alg_name: &str,
) -> PyResult<String> {
    let a = alg(alg_name)?;
    let out = py
        .detach(|| {
            let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
            hashpath::fold(base, &refs, a)
        })
        .map_err(PyHbError::from)?;
    hp_text(out)
}

/// Many independent combine steps in human form: `[combine(b, p) for b, p in zip(...)]`.
/// Items may be `str` or `bytes`.
#[pyfunction]
#[pyo3(signature = (bases, parts, alg_name="sha-256-chain"))]
fn hashpath_combine_many<'py>(
    py: Python<'py>,
    bases: &Bound<'py, PyList>,
    parts: &Bound<'py, PyList>,
    alg_name: &str,
) -> PyResult<Bound<'py, PyList>> {
    if bases.len() != parts.len() {
        return Err(codec_err("bases and parts must have the same length"));
    }
    let a = alg(alg_name)?;
    let out = PyList::empty(py);
    for (b, p) in bases.iter().zip(parts.iter()) {
        let (b, p) = (text_arg(&b)?, text_arg(&p)?);
        let hp = match hashpath::combine_human(&b, &p, a) {
            Some(r) => r.map_err(PyHbError::from)?.to_vec(),
            None => hashpath::combine(&b, &p, a).map_err(PyHbError::from)?,
        };
        out.append(PyString::new(
            py,
            std::str::from_utf8(&hp).unwrap_or_default(),
        ))?;
    }
    Ok(out)
}

/// A view of a `str` (UTF-8) or `bytes` argument.
fn text_arg<'a>(v: &'a Bound<'_, PyAny>) -> PyResult<std::borrow::Cow<'a, [u8]>> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(std::borrow::Cow::Borrowed(s.to_str()?.as_bytes()));
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(std::borrow::Cow::Borrowed(b.as_bytes()));
    }
    Err(codec_err("hashpaths and parts must be str or bytes"))
}

/// Packed batch of chain steps: `a` and `b` hold n 32-byte IDs each; returns n 32-byte hashes.
#[pyfunction]
#[pyo3(signature = (a, b, alg_name="sha-256-chain"))]
fn chain_many<'py>(
    py: Python<'py>,
    a: &[u8],
    b: &[u8],
    alg_name: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let al = alg(alg_name)?;
    let out = py
        .detach(|| hashpath::chain_many(a, b, al))
        .map_err(PyHbError::from)?;
    Ok(PyBytes::new(py, &out))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(b64url_encode, m)?)?;
    m.add_function(wrap_pyfunction!(b64url_decode, m)?)?;
    m.add_function(wrap_pyfunction!(native_id, m)?)?;
    m.add_function(wrap_pyfunction!(human_id, m)?)?;
    m.add_function(wrap_pyfunction!(sha256_chain, m)?)?;
    m.add_function(wrap_pyfunction!(accumulate, m)?)?;
    m.add_function(wrap_pyfunction!(hashpath_combine, m)?)?;
    m.add_function(wrap_pyfunction!(hashpath_fold, m)?)?;
    m.add_function(wrap_pyfunction!(hashpath_combine_many, m)?)?;
    m.add_function(wrap_pyfunction!(chain_many, m)?)?;
    Ok(())
}

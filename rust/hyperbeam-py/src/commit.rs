//! httpsig@1.0 commitment bindings (spec core §7): commit, verify, reset_hmac, signing base.

use hb_core::httpsig_commit as hc;
use hb_core::{structured, Msg, Result as CoreResult, Value};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert::{msg_to_py, to_msg};
use crate::crypto::RsaPrivateKey;
use crate::error::PyHbError;

/// Sign a rich message: RSA commitment by `key` plus the refreshed HMAC commitment.
#[pyfunction]
#[pyo3(signature = (msg, key, hashpath=None))]
fn httpsig_commit<'py>(
    py: Python<'py>,
    msg: &Bound<'py, PyAny>,
    key: &RsaPrivateKey,
    hashpath: Option<&[u8]>,
) -> PyResult<Bound<'py, PyAny>> {
    let m = to_msg(msg)?;
    let hp = hashpath.map(<[u8]>::to_vec);
    let out = py
        .detach(|| {
            let tabm = structured::from_msg(&m)?;
            let signed = hc::commit(&tabm, &key.key, hp.as_deref())?;
            structured::to_msg(&signed)
        })
        .map_err(PyHbError::from)?;
    Ok(msg_to_py(py, &out)?.into_any())
}

/// Recompute the HMAC commitment of a rich message.
#[pyfunction]
fn httpsig_reset_hmac<'py>(
    py: Python<'py>,
    msg: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let m = to_msg(msg)?;
    let out = structured::from_msg(&m)
        .and_then(|t| hc::reset_hmac(&t))
        .and_then(|t| structured::to_msg(&t))
        .map_err(PyHbError::from)?;
    Ok(msg_to_py(py, &out)?.into_any())
}

fn verify_one(m: &Msg, id: &[u8]) -> CoreResult<bool> {
    hc::verify(&structured::from_msg(m)?, id)
}

/// Verify the RSA commitment `commitment_id` of a rich message (GIL released).
#[pyfunction]
fn httpsig_verify(py: Python<'_>, msg: &Bound<'_, PyAny>, commitment_id: &[u8]) -> PyResult<bool> {
    let m = to_msg(msg)?;
    py.detach(|| verify_one(&m, commitment_id))
        .map_err(|e| PyHbError::from(e).into())
}

/// The RSA commitment IDs of a message: httpsig commitments that have a committer.
fn rsa_ids(m: &Msg) -> Vec<Vec<u8>> {
    match m.get(b"commitments".as_slice()) {
        Some(Value::Map(c)) => c
            .iter()
            .filter(|(_, v)| {
                v.as_map().is_some_and(|c| {
                    c.contains_key(b"committer".as_slice())
                        && c.get(b"commitment-device".as_slice())
                            .and_then(Value::as_bin)
                            == Some(b"httpsig@1.0")
                })
            })
            .map(|(k, _)| k.clone())
            .collect(),
        _ => Vec::new(),
    }
}

/// Verify every httpsig RSA commitment of many messages on parallel native threads.
/// A message with no RSA commitment verifies vacuously; any error counts as `False`.
#[pyfunction]
#[pyo3(signature = (msgs, threads=0))]
fn httpsig_verify_many(
    py: Python<'_>,
    msgs: &Bound<'_, PyAny>,
    threads: usize,
) -> PyResult<Vec<bool>> {
    let ms = msgs
        .try_iter()?
        .map(|m| to_msg(&m?))
        .collect::<PyResult<Vec<_>>>()?;
    let n = if threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        threads
    }
    .clamp(1, 64);
    Ok(py.detach(|| {
        let check = |m: &Msg| {
            rsa_ids(m)
                .iter()
                .all(|id| verify_one(m, id).unwrap_or(false))
        };
        let chunk = ms.len().div_ceil(n).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = ms
                .chunks(chunk)
                .map(|c| s.spawn(move || c.iter().map(check).collect::<Vec<bool>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
    }))
}

/// `(signature base, signature-input inner list)` that committing `msg` with `modulus` signs.
#[pyfunction]
#[pyo3(signature = (msg, modulus, hashpath=None))]
fn httpsig_signing_base<'py>(
    py: Python<'py>,
    msg: &Bound<'py, PyAny>,
    modulus: &[u8],
    hashpath: Option<&[u8]>,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let m = to_msg(msg)?;
    let (base, input) = structured::from_msg(&m)
        .and_then(|t| hc::signing_base(&t, modulus, hashpath))
        .map_err(PyHbError::from)?;
    Ok((PyBytes::new(py, &base), PyBytes::new(py, &input)))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(httpsig_commit, m)?)?;
    m.add_function(wrap_pyfunction!(httpsig_reset_hmac, m)?)?;
    m.add_function(wrap_pyfunction!(httpsig_verify, m)?)?;
    m.add_function(wrap_pyfunction!(httpsig_verify_many, m)?)?;
    m.add_function(wrap_pyfunction!(httpsig_signing_base, m)?)?;
    Ok(())
}

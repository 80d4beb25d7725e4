//! RSA key and signature bindings (spec core §11). Key material never reaches a repr or error.

use hb_core::crypto::{Digest, PrivateKey, PrivateParts, PublicKey};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::error::{codec_err, PyHbError};

fn digest(name: &str) -> PyResult<Digest> {
    match name {
        "sha512" => Ok(Digest::Sha512),
        "sha256" => Ok(Digest::Sha256),
        other => Err(codec_err(format!(
            "unknown digest {other:?} (sha512 or sha256)"
        ))),
    }
}

/// An RSA private key held natively (frozen; safe to share between threads).
#[pyclass(frozen, module = "hyperbeam_fast._native")]
pub struct RsaPrivateKey {
    pub(crate) key: PrivateKey,
}

#[pymethods]
impl RsaPrivateKey {
    /// Build from big-endian parts (JWK `n, e, d[, p, q, dp, dq, qi]`).
    #[new]
    #[pyo3(signature = (n, e, d, p=None, q=None, dp=None, dq=None, qi=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        n: &[u8],
        e: &[u8],
        d: &[u8],
        p: Option<&[u8]>,
        q: Option<&[u8]>,
        dp: Option<&[u8]>,
        dq: Option<&[u8]>,
        qi: Option<&[u8]>,
    ) -> PyResult<Self> {
        let key = PrivateKey::from_parts(&PrivateParts {
            n,
            e,
            d,
            p,
            q,
            dp,
            dq,
            qi,
        })
        .map_err(PyHbError::from)?;
        Ok(RsaPrivateKey { key })
    }

    /// A new key with e = 65537 (generation runs without the GIL).
    #[staticmethod]
    #[pyo3(signature = (bits=4096))]
    fn generate(py: Python<'_>, bits: u32) -> PyResult<Self> {
        if !(1024..=8192).contains(&bits) {
            return Err(codec_err("RSA key size must be between 1024 and 8192 bits"));
        }
        let key = py
            .detach(|| PrivateKey::generate(bits))
            .map_err(PyHbError::from)?;
        Ok(RsaPrivateKey { key })
    }

    #[getter]
    fn modulus<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.key.modulus())
    }

    #[getter]
    fn address<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.key.address())
    }

    /// `(e, d, p, q, dp, dq, qi)` as big-endian bytes, for writing a key file.
    fn export_private<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let parts = self.key.export().map_err(PyHbError::from)?;
        Ok(parts.iter().map(|p| PyBytes::new(py, p)).collect())
    }

    /// RSA-PSS signature (sha512: salt 64, httpsig; sha256: salt 32, ANS-104), GIL released.
    fn sign<'py>(
        &self,
        py: Python<'py>,
        digest_name: &str,
        data: &[u8],
    ) -> PyResult<Bound<'py, PyBytes>> {
        let d = digest(digest_name)?;
        let sig = py
            .detach(|| self.key.sign(d, data))
            .map_err(PyHbError::from)?;
        Ok(PyBytes::new(py, &sig))
    }

    fn __repr__(&self) -> String {
        format!("RsaPrivateKey(bits={})", self.key.modulus().len() * 8)
    }
}

/// Verify an RSA-PSS signature under the modulus `n` (e = 65537), GIL released.
#[pyfunction]
fn rsa_verify(
    py: Python<'_>,
    n: &[u8],
    digest_name: &str,
    data: &[u8],
    sig: &[u8],
) -> PyResult<bool> {
    let d = digest(digest_name)?;
    let key = PublicKey::cached(n).map_err(PyHbError::from)?;
    Ok(py.detach(|| key.verify(d, data, sig)))
}

/// HMAC-SHA256 with any key.
#[pyfunction]
fn hmac_sha256<'py>(py: Python<'py>, key: &[u8], data: &[u8]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, &hb_core::crypto::hmac_sha256(key, data))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RsaPrivateKey>()?;
    m.add_function(wrap_pyfunction!(hmac_sha256, m)?)?;
    m.add_function(wrap_pyfunction!(rsa_verify, m)?)?;
    Ok(())
}

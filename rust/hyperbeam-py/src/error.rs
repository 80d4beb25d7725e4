//! Maps core errors onto the Python hierarchy in `hyperbeam_fast.exceptions`.

use hb_core::Error;
use pyo3::prelude::*;

pyo3::import_exception!(hyperbeam_fast.exceptions, CodecError);
pyo3::import_exception!(hyperbeam_fast.exceptions, StructuredFieldError);
pyo3::import_exception!(hyperbeam_fast.exceptions, HashPathError);
pyo3::import_exception!(hyperbeam_fast.exceptions, SignatureError);

pub struct PyHbError(pub Error);

impl From<Error> for PyHbError {
    fn from(e: Error) -> Self {
        PyHbError(e)
    }
}

impl From<PyHbError> for PyErr {
    fn from(e: PyHbError) -> PyErr {
        match e.0 {
            Error::StructuredField(m) => StructuredFieldError::new_err(m),
            Error::Codec(m) => CodecError::new_err(m),
            Error::HashPath(m) => HashPathError::new_err(m),
            Error::Signature(m) => SignatureError::new_err(m),
        }
    }
}

/// Result type for binding functions.
pub type PyHbResult<T> = Result<T, PyHbError>;

/// A codec error raised from binding code (bad Python input).
pub fn codec_err(msg: impl Into<String>) -> PyErr {
    CodecError::new_err(msg.into())
}

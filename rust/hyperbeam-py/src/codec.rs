//! Codec and message-ID bindings over `hb_core` (spec core §3, §4.3, §6, §9).

use hb_core::{flat, httpsig, id_fast, ids, message_id, structured, Msg, Result as CoreResult};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::convert::{http_to_py, msg_to_py, to_http, to_msg, with_entries, with_entries_borrowed};
use crate::error::{codec_err, PyHbError};

/// The formats `convert` moves between natively.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    Rich,
    Tabm,
    Http,
    Flat,
}

fn form(name: &str) -> PyResult<Form> {
    match name {
        "structured@1.0" => Ok(Form::Rich),
        "tabm" => Ok(Form::Tabm),
        "httpsig@1.0" => Ok(Form::Http),
        "flat@1.0" => Ok(Form::Flat),
        other => Err(codec_err(format!(
            "codec {other:?} is not available natively"
        ))),
    }
}

enum Input {
    Map(Msg),
    Http(httpsig::HttpMsg),
}

enum Output {
    Map(Msg),
    Http(httpsig::HttpMsg),
}

fn run(input: Input, source: Form, target: Form) -> CoreResult<Output> {
    let tabm = match (source, input) {
        (Form::Rich, Input::Map(m)) => structured::from_msg(&m)?,
        (Form::Tabm, Input::Map(m)) => m,
        (Form::Flat, Input::Map(m)) => flat::from_flat(&m)?,
        (Form::Http, Input::Http(h)) => httpsig::from_http(&h)?,
        _ => {
            return Err(hb_core::Error::Codec(
                "input does not match its codec".into(),
            ))
        }
    };
    Ok(match target {
        Form::Rich => Output::Map(structured::to_msg(&tabm)?),
        Form::Tabm => Output::Map(tabm),
        Form::Flat => Output::Map(flat::to_flat(&tabm)?),
        Form::Http => Output::Http(httpsig::to_http(&tabm)?),
    })
}

/// Convert `msg` from `source` to `target` (each of structured@1.0, tabm, httpsig@1.0, flat@1.0).
#[pyfunction]
fn convert<'py>(
    py: Python<'py>,
    msg: &Bound<'py, PyAny>,
    source: &str,
    target: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let (s, t) = (form(source)?, form(target)?);
    let input = if s == Form::Http {
        Input::Http(to_http(msg)?)
    } else {
        Input::Map(to_msg(msg)?)
    };
    let out = py.detach(|| run(input, s, t)).map_err(PyHbError::from)?;
    Ok(match out {
        Output::Map(m) => msg_to_py(py, &m)?.into_any(),
        Output::Http(h) => http_to_py(py, &h)?.into_any(),
    })
}

/// Rough byte size of a message's binaries (top level and one level down).
fn approx_size(m: &Msg) -> usize {
    m.values()
        .map(|v| match v {
            hb_core::Value::Bin(b) => b.len(),
            hb_core::Value::Map(inner) => inner.len() * 64 + 64,
            hb_core::Value::List(l) => l.len() * 16,
            _ => 16,
        })
        .sum()
}

/// An ID as its 43-character `str`.
fn id_str<'py>(py: Python<'py>, id: &[u8; 32]) -> Bound<'py, PyString> {
    let text = ids::b64url_32(id);
    PyString::new(py, std::str::from_utf8(&text).unwrap_or_default())
}

/// The unsigned (HMAC) ID of a message, 43 characters (spec core §4.3).
#[pyfunction]
fn unsigned_id<'py>(py: Python<'py>, msg: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
    Ok(id_str(py, &unsigned_id_raw(py, msg)?))
}

fn unsigned_id_raw(py: Python<'_>, msg: &Bound<'_, PyAny>) -> PyResult<[u8; 32]> {
    // The common message, borrowed without reference counting (no Python code runs and the
    // GIL is held throughout).
    let borrowed = with_entries_borrowed(msg, id_fast::try_unsigned_id_entries);
    match borrowed {
        Some(Ok(Some(id))) => return Ok(id),
        Some(Err(e)) => return Err(PyHbError::from(e).into()),
        Some(Ok(None)) | None => {}
    }
    // The fast path over the dict's own strings and bytes; anything it does not take (odd keys,
    // keys needing the general path, bad values) goes through the owned conversion below.
    // (Skipped when the borrowed read worked and found the message needs the general path.)
    let fast = borrowed.is_none().then(|| {
        with_entries(msg, |entries, size| {
            // Bytes and str are immutable and `entries` holds strong references to them, so the
            // borrowed data stays valid without the GIL.
            if size > 64 * 1024 {
                py.detach(|| id_fast::try_unsigned_id_entries(entries))
            } else {
                id_fast::try_unsigned_id_entries(entries)
            }
        })
    });
    match fast.flatten() {
        Some(Ok(Some(id))) => return Ok(id),
        Some(Err(e)) => return Err(PyHbError::from(e).into()),
        Some(Ok(None)) | None => {}
    }
    let m = to_msg(msg)?;
    // A few microseconds for typical messages: releasing the GIL would cost more than it saves.
    // Large messages (big bodies) release it; `unsigned_id_many` always does.
    let id = if approx_size(&m) > 64 * 1024 {
        py.detach(|| message_id::unsigned_id(&m))
    } else {
        message_id::unsigned_id(&m)
    }
    .map_err(PyHbError::from)?;
    Ok(id)
}

static ID_GENERAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The message ID, 43 characters (spec core §4.4).
///
/// ``committers``: ``"none"`` (the unsigned HMAC ID, HyperBEAM's ``id(M, none)``), ``"all"``
/// (commitments that have a committer), ``"signed"``, a list of committer addresses, or
/// ``"uncommitted"`` (every commitment including the HMAC one: HyperBEAM's ``id(M)``).
#[pyfunction]
#[pyo3(name = "id", signature = (msg, committers = None))]
fn message_id_fn<'py>(
    py: Python<'py>,
    msg: &Bound<'py, PyAny>,
    committers: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    // A message without commitments (an exact dict without the key) has its unsigned ID
    // whatever `committers` asks for; everything else is `message._id_general`'s. The key is
    // looked up first: the fast path would walk a signed message (its body too) before
    // refusing it, ~1.5 us for a scheduler's assignment.
    if let Ok(d) = msg.cast_exact::<PyDict>() {
        if !d.contains(intern!(py, "commitments"))? {
            if let Some(Ok(Some(id))) = with_entries_borrowed(msg, id_fast::try_unsigned_id_entries)
            {
                return Ok(id_str(py, &id).into_any());
            }
            return Ok(id_str(py, &unsigned_id_raw(py, msg)?).into_any());
        }
    }
    let general = ID_GENERAL.import(py, "hyperbeam_fast.message", "_id_general")?;
    match committers {
        Some(c) => general.call1((msg, c)),
        None => general.call1((msg,)),
    }
}

/// The unsigned ID through the general (two-map) path; tests compare it with the fast path.
#[pyfunction]
fn unsigned_id_general(msg: &Bound<'_, PyAny>) -> PyResult<String> {
    let m = to_msg(msg)?;
    let id = message_id::unsigned_id_general(&m).map_err(PyHbError::from)?;
    Ok(ids::b64url(&id))
}

/// Unsigned IDs of many messages, computed without the GIL.
#[pyfunction]
fn unsigned_id_many(py: Python<'_>, msgs: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let ms = msgs
        .try_iter()?
        .map(|m| to_msg(&m?))
        .collect::<PyResult<Vec<_>>>()?;
    py.detach(|| {
        ms.iter()
            .map(|m| message_id::unsigned_id(m).map(|id| ids::b64url(&id)))
            .collect::<CoreResult<Vec<_>>>()
    })
    .map_err(|e| PyHbError::from(e).into())
}

/// `dev_codec_flat:serialize` of a rich message (spec core §9).
#[pyfunction]
fn flat_serialize<'py>(py: Python<'py>, msg: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let m = to_msg(msg)?;
    let out = py
        .detach(|| flat::serialize(&flat::to_flat(&structured::from_msg(&m)?)?))
        .map_err(PyHbError::from)?;
    Ok(PyBytes::new(py, &out))
}

/// The `key: value` lines of flat@1.0 text as a flat map (`dev_codec_flat:deserialize`).
#[pyfunction]
fn flat_parse<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    Ok(msg_to_py(py, &flat::deserialize(data))?.into_any())
}

/// Float text as Erlang writes it (`%.20e`, spec core §3.2).
#[pyfunction]
fn format_float(f: f64) -> PyResult<String> {
    let mut out = Vec::new();
    structured::format_float(f, &mut out).map_err(PyHbError::from)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(convert, m)?)?;
    m.add_function(wrap_pyfunction!(unsigned_id, m)?)?;
    m.add_function(wrap_pyfunction!(message_id_fn, m)?)?;
    m.add_function(wrap_pyfunction!(unsigned_id_many, m)?)?;
    m.add_function(wrap_pyfunction!(unsigned_id_general, m)?)?;
    m.add_function(wrap_pyfunction!(flat_serialize, m)?)?;
    m.add_function(wrap_pyfunction!(flat_parse, m)?)?;
    m.add_function(wrap_pyfunction!(format_float, m)?)?;
    Ok(())
}

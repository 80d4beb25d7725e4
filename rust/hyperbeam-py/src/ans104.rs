//! ans104@1.0 bindings (spec core §8): data items as dicts, deep hash, sign/verify, bundles.
//!
//! A data item ("tx") is a dict with the `#tx` field names: `signature` (512 bytes, or empty:
//! unsigned), `owner` (512 bytes or empty), `target` and `last_tx` (empty or 32 bytes), `tags`
//! (a list of `(name, value)` pairs), `data` (bytes, or a dict of key -> tx, or a list of tx),
//! and optionally `signature_type` (only 1). Outputs add `id` and `unsigned_id`.

use std::borrow::Cow;

use hb_core::ans104::{self as a, Data, DataItem};
use hb_core::deep_hash::{self as dh, DeepHash};
use hb_core::{structured, Value};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::convert::msg_to_py;
use crate::crypto::RsaPrivateKey;
use crate::error::{codec_err, PyHbError};

const MAX_DEPTH: usize = 64;

fn bytes_of(v: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u8>> {
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(s.to_str()?.as_bytes().to_vec());
    }
    if let Ok(b) = v.extract::<Vec<u8>>() {
        if !v.is_instance_of::<PyList>() {
            return Ok(b);
        }
    }
    Err(codec_err(format!(
        "ans104: {what} must be bytes or str, not {}",
        v.get_type().name()?
    )))
}

/// The first of `names` present in `d` (interned key strings: no allocation per look-up).
fn field(d: &Bound<'_, PyDict>, names: &[&Bound<'_, PyString>]) -> PyResult<Vec<u8>> {
    for n in names {
        if let Some(v) = d.get_item(n)? {
            if v.is_none() {
                return Ok(Vec::new());
            }
            return bytes_of(&v, n.to_str()?);
        }
    }
    Ok(Vec::new())
}

/// 512 zero bytes (the signature and owner of an unsigned item), one shared immutable object.
static ZEROS_512: PyOnceLock<Py<PyBytes>> = PyOnceLock::new();

fn zeros_512(py: Python<'_>) -> &Bound<'_, PyBytes> {
    ZEROS_512
        .get_or_init(py, || PyBytes::new(py, &[0u8; 512]).unbind())
        .bind(py)
}

fn tags_of(v: &Bound<'_, PyAny>) -> PyResult<Vec<a::Tag>> {
    let mut out = Vec::new();
    for t in v
        .try_iter()
        .map_err(|_| codec_err("ans104: tags must be a list of pairs"))?
    {
        let t = t?;
        let pair: (Bound<'_, PyAny>, Bound<'_, PyAny>) = t
            .extract()
            .map_err(|_| codec_err("ans104: each tag must be a (name, value) pair"))?;
        out.push((
            bytes_of(&pair.0, "tag name")?,
            bytes_of(&pair.1, "tag value")?,
        ));
    }
    Ok(out)
}

fn item_of(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<DataItem> {
    if depth > MAX_DEPTH {
        return Err(codec_err("ans104: items nested too deeply"));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        // a bare binary inside a bundle: the ao-type binary item (dev_codec_ans104:to/1)
        return Ok(DataItem {
            tags: vec![(b"ao-type".to_vec(), b"binary".to_vec())],
            data: Data::Bytes(b.as_bytes().to_vec()),
            ..DataItem::default()
        });
    }
    let d = obj
        .cast::<PyDict>()
        .map_err(|_| codec_err("ans104: a data item must be a dict"))?;
    let py = obj.py();
    let signature_type = match d.get_item(intern!(py, "signature_type"))? {
        None => 1,
        Some(v) if v.is_none() => 1,
        Some(v) => v
            .extract::<u16>()
            .map_err(|_| codec_err("ans104: signature_type must be a small integer"))?,
    };
    let tags = match d.get_item(intern!(py, "tags"))? {
        Some(t) if !t.is_none() => tags_of(&t)?,
        _ => Vec::new(),
    };
    let data = match d.get_item(intern!(py, "data"))? {
        None => Data::Bytes(Vec::new()),
        Some(v) if v.is_none() => Data::Bytes(Vec::new()),
        Some(v) => {
            if let Ok(m) = v.cast::<PyDict>() {
                let mut entries = Vec::with_capacity(m.len());
                for (k, it) in m.iter() {
                    entries.push((bytes_of(&k, "bundle key")?, item_of(&it, depth + 1)?));
                }
                Data::Map(entries)
            } else if let Ok(l) = v.cast::<PyList>() {
                let mut items = Vec::with_capacity(l.len());
                for it in l.iter() {
                    items.push(item_of(&it, depth + 1)?);
                }
                Data::List(items)
            } else {
                Data::Bytes(bytes_of(&v, "data")?)
            }
        }
    };
    Ok(DataItem {
        signature_type,
        signature: field(d, &[intern!(py, "signature")])?,
        owner: field(d, &[intern!(py, "owner")])?,
        target: field(d, &[intern!(py, "target")])?,
        anchor: field(d, &[intern!(py, "last_tx"), intern!(py, "anchor")])?,
        tags,
        data,
    })
}

fn item_to_py<'py>(py: Python<'py>, it: &DataItem) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "format"), intern!(py, "ans104"))?;
    d.set_item(intern!(py, "signature_type"), it.signature_type)?;
    let zeros = zeros_512(py);
    let full_or_zeros = |v: &[u8]| -> Bound<'py, PyBytes> {
        if v.is_empty() || (v.len() == 512 && v.iter().all(|&b| b == 0)) {
            zeros.clone()
        } else {
            PyBytes::new(py, v)
        }
    };
    d.set_item(intern!(py, "id"), PyBytes::new(py, &it.id()))?;
    let uid = it.unsigned_id().map_err(PyHbError::from)?;
    d.set_item(intern!(py, "unsigned_id"), PyBytes::new(py, &uid))?;
    d.set_item(intern!(py, "signature"), full_or_zeros(&it.signature))?;
    d.set_item(intern!(py, "owner"), full_or_zeros(&it.owner))?;
    d.set_item(intern!(py, "target"), PyBytes::new(py, &it.target))?;
    d.set_item(intern!(py, "last_tx"), PyBytes::new(py, &it.anchor))?;
    let tags = PyList::new(
        py,
        it.tags
            .iter()
            .map(|(n, v)| PyTuple::new(py, [PyBytes::new(py, n), PyBytes::new(py, v)]))
            .collect::<PyResult<Vec<_>>>()?,
    )?;
    d.set_item(intern!(py, "tags"), tags)?;
    match &it.data {
        Data::Bytes(b) => d.set_item(intern!(py, "data"), PyBytes::new(py, b))?,
        Data::Map(m) => {
            let md = PyDict::new(py);
            for (k, child) in m {
                let key = match std::str::from_utf8(k) {
                    Ok(s) => PyString::new(py, s).into_any(),
                    Err(_) => PyBytes::new(py, k).into_any(),
                };
                md.set_item(key, item_to_py(py, child)?)?;
            }
            d.set_item("data", md)?;
        }
        Data::List(l) => {
            let ld = PyList::empty(py);
            for child in l {
                ld.append(item_to_py(py, child)?)?;
            }
            d.set_item("data", ld)?;
        }
    }
    Ok(d)
}

fn input_bytes(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    obj.extract::<Vec<u8>>()
        .ok()
        .filter(|_| !obj.is_instance_of::<PyList>() && !obj.is_instance_of::<PyString>())
        .ok_or_else(|| codec_err("ans104: a binary data item must be bytes"))
}

/// The bytes of a binary data item argument: borrowed from a `bytes` object (no copy on the
/// hot path), else copied as [`input_bytes`] takes them.
fn input_slice<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, [u8]>> {
    match obj.cast::<PyBytes>() {
        Ok(b) => Ok(Cow::Borrowed(b.as_bytes())),
        Err(_) => input_bytes(obj).map(Cow::Owned),
    }
}

/// `ar_bundles:serialize`: a tx dict (bundles are normalised) -> the binary data item.
#[pyfunction]
fn ans104_serialize<'py>(py: Python<'py>, tx: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let it = item_of(tx, 0)?;
    let out = py.detach(|| it.serialize()).map_err(PyHbError::from)?;
    Ok(PyBytes::new(py, &out))
}

/// `ar_bundles:deserialize`: binary data item -> tx dict (bundles un-bundled when `unbundle`).
#[pyfunction]
#[pyo3(signature = (data, unbundle=true))]
fn ans104_parse<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    unbundle: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let it = if let Ok(b) = data.cast::<PyBytes>() {
        let buf = b.as_bytes();
        if unbundle {
            DataItem::parse_unbundled(buf)
        } else {
            DataItem::parse(buf)
        }
    } else {
        let buf = input_bytes(data)?;
        if unbundle {
            DataItem::parse_unbundled(&buf)
        } else {
            DataItem::parse(&buf)
        }
    }
    .map_err(PyHbError::from)?;
    item_to_py(py, &it)
}

/// Parse, un-bundle, `from` (the TABM) and structured@1.0: the rich message, or the binary of
/// an `ao-type: binary` item; `None` for what stays with the Python path (non-ASCII tag names
/// or bundle keys, a top-level `priv` key).
fn decode_item(buf: &[u8]) -> hb_core::Result<Option<Value>> {
    let item = DataItem::parse_unbundled(buf)?;
    Ok(match a::item_to_tabm(item)? {
        Some(Value::Map(t)) if t.contains_key(&b"priv"[..]) => None,
        Some(Value::Map(t)) => Some(Value::Map(structured::to_msg(&t)?)),
        other => other,
    })
}

/// `codecs.ans104.decode` in one native call: a binary data item -> its rich message (or the
/// bytes of an `ao-type: binary` item), the GIL released until the Python objects are built;
/// `None` when the item needs the Python path (see `decode_item`). No signature check.
#[pyfunction]
fn ans104_decode<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let buf = input_slice(data)?;
    let out = py.detach(|| decode_item(&buf)).map_err(PyHbError::from)?;
    Ok(match out {
        None => None,
        Some(Value::Map(m)) => Some(msg_to_py(py, &m)?.into_any()),
        Some(Value::Bin(b)) => Some(PyBytes::new(py, &b).into_any()),
        Some(_) => {
            return Err(codec_err(
                "ans104: internal: the decoded item is no message",
            ))
        }
    })
}

/// `(message, valid, committed keys)` of [`ans104_decode_verified`].
type Verified<'py> = (Bound<'py, PyDict>, bool, Vec<Bound<'py, PyString>>);

/// A plain signed data item (see `hb_core::ans104::decode_verified`) in one native call, the
/// GIL released for the parse, the RSA check and the conversion: `(message, valid, committed
/// keys)`, or `None` for any other item (the general path: `decode`, `verify`, `committed`).
#[pyfunction]
fn ans104_decode_verified<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
) -> PyResult<Option<Verified<'py>>> {
    let buf = input_slice(data)?;
    let Some(v) = py.detach(|| a::decode_verified(&buf)) else {
        return Ok(None);
    };
    let keys = v
        .committed
        .iter()
        .map(|k| PyString::new(py, &String::from_utf8_lossy(k)))
        .collect();
    Ok(Some((msg_to_py(py, &v.msg)?, v.valid, keys)))
}

/// `reset_ids(normalize(TX))`: the tx with bundle data serialised, bundle tags, `id` and
/// `unsigned_id`.
#[pyfunction]
fn ans104_normalize<'py>(py: Python<'py>, tx: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let it = item_of(tx, 0)?;
    let norm = py.detach(|| it.normalize()).map_err(PyHbError::from)?;
    norm.validate().map_err(PyHbError::from)?;
    item_to_py(py, &norm)
}

/// `(id, unsigned_id)` of a tx dict or a binary data item.
#[pyfunction]
fn ans104_ids<'py>(
    py: Python<'py>,
    tx: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let it = any_item(tx)?;
    let uid = it.unsigned_id().map_err(PyHbError::from)?;
    Ok((PyBytes::new(py, &it.id()), PyBytes::new(py, &uid)))
}

fn any_item(obj: &Bound<'_, PyAny>) -> PyResult<DataItem> {
    if obj.is_instance_of::<PyDict>() {
        item_of(obj, 0)
    } else {
        Ok(DataItem::parse(&input_bytes(obj)?).map_err(PyHbError::from)?)
    }
}

/// `data_item_signature_data(TX, signed | unsigned)`: the 48-byte deep hash that is signed.
#[pyfunction]
#[pyo3(signature = (tx, unsigned=false))]
fn ans104_signature_data<'py>(
    py: Python<'py>,
    tx: &Bound<'py, PyAny>,
    unsigned: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let it = any_item(tx)?;
    let h = if unsigned {
        it.unsigned_signature_data()
    } else {
        it.signature_data()
    }
    .map_err(PyHbError::from)?;
    Ok(PyBytes::new(py, &h))
}

/// `sign_item`: normalise and sign with an RSA-4096 key (GIL released); returns the tx dict.
#[pyfunction]
fn ans104_sign<'py>(
    py: Python<'py>,
    tx: &Bound<'py, PyAny>,
    key: &RsaPrivateKey,
) -> PyResult<Bound<'py, PyDict>> {
    let it = item_of(tx, 0)?;
    let signed = py.detach(|| it.sign(&key.key)).map_err(PyHbError::from)?;
    item_to_py(py, &signed)
}

/// `verify_item` on a tx dict or a binary data item. False for any invalid item; raises only
/// for input that is neither (CodecError).
#[pyfunction]
fn ans104_verify(py: Python<'_>, tx: &Bound<'_, PyAny>) -> PyResult<bool> {
    if tx.is_instance_of::<PyDict>() {
        let it = item_of(tx, 0)?;
        return Ok(py.detach(|| it.verify()));
    }
    let buf = input_bytes(tx)?;
    Ok(py.detach(|| DataItem::parse(&buf).map(|i| i.verify()).unwrap_or(false)))
}

/// Verify many binary data items on parallel native threads, without the GIL.
#[pyfunction]
#[pyo3(signature = (items, threads=0))]
fn ans104_verify_many(
    py: Python<'_>,
    items: &Bound<'_, PyAny>,
    threads: usize,
) -> PyResult<Vec<bool>> {
    let mut owned: Vec<Vec<u8>> = Vec::new();
    for it in items.try_iter()? {
        owned.push(input_bytes(&it?)?);
    }
    Ok(py.detach(|| {
        let refs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        a::verify_many(&refs, threads)
    }))
}

/// The Avro tag block of a list of `(name, value)` pairs.
#[pyfunction]
fn ans104_encode_tags<'py>(
    py: Python<'py>,
    tags: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(py, &a::encode_tags(&tags_of(tags)?)))
}

/// Decode an Avro tag block (it must be the whole input) into `(name, value)` pairs.
#[pyfunction]
fn ans104_decode_tags<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyList>> {
    let (tags, used) = a::decode_tags(data).map_err(PyHbError::from)?;
    if used != data.len() {
        return Err(codec_err("ans104: trailing bytes after the Avro tag block"));
    }
    let out = PyList::empty(py);
    for (n, v) in tags {
        out.append(PyTuple::new(
            py,
            [PyBytes::new(py, &n), PyBytes::new(py, &v)],
        )?)?;
    }
    Ok(out)
}

fn layout_of(name: &str) -> PyResult<a::BundleLayout> {
    match name {
        "hyperbeam" => Ok(a::BundleLayout::HyperBeam),
        "standard" => Ok(a::BundleLayout::Standard),
        other => Err(codec_err(format!(
            "ans104: unknown bundle layout {other:?} (hyperbeam | standard)"
        ))),
    }
}

fn layout_name(layout: a::BundleLayout) -> &'static str {
    match layout {
        a::BundleLayout::HyperBeam => "hyperbeam",
        a::BundleLayout::Standard => "standard",
    }
}

/// Bundle bytes of a list of items (`u256 count, (u256 size, id)*, items`): `hyperbeam`
/// (big-endian, unsigned IDs) or `standard` (ANS-104: little-endian, item IDs).
#[pyfunction]
#[pyo3(signature = (items, layout="hyperbeam"))]
fn ans104_bundle<'py>(
    py: Python<'py>,
    items: &Bound<'py, PyAny>,
    layout: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let layout = layout_of(layout)?;
    let mut v = Vec::new();
    for it in items.try_iter()? {
        v.push(item_of(&it?, 1)?);
    }
    let out = py
        .detach(|| a::serialize_bundle_layout(&v, layout))
        .map_err(PyHbError::from)?;
    Ok(PyBytes::new(py, &out))
}

/// Parse bundle bytes (either layout) into a list of tx dicts (not un-bundled further).
#[pyfunction]
fn ans104_unbundle<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyList>> {
    let items = a::parse_bundle(data).map_err(PyHbError::from)?;
    let out = PyList::empty(py);
    for (_, it) in items {
        out.append(item_to_py(py, &it)?)?;
    }
    Ok(out)
}

/// The layout of bundle bytes: `"hyperbeam"` or `"standard"` (an error when neither fits).
#[pyfunction]
fn ans104_bundle_layout(data: &[u8]) -> PyResult<&'static str> {
    let (layout, _) = a::bundle_layout(data).map_err(PyHbError::from)?;
    Ok(layout_name(layout))
}

enum Owned {
    Blob(Vec<u8>),
    List(Vec<Owned>),
}

fn owned_of(v: &Bound<'_, PyAny>, depth: usize) -> PyResult<Owned> {
    if depth > 256 {
        return Err(codec_err("deep_hash: value nested too deeply"));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for e in v.try_iter()? {
            items.push(owned_of(&e?, depth + 1)?);
        }
        return Ok(Owned::List(items));
    }
    Ok(Owned::Blob(bytes_of(v, "a deep-hash leaf")?))
}

fn borrow(o: &Owned) -> DeepHash<'_> {
    match o {
        Owned::Blob(b) => DeepHash::Blob(b),
        Owned::List(l) => DeepHash::List(l.iter().map(borrow).collect()),
    }
}

/// `ar_deep_hash:hash/1`: bytes/str are blobs, lists/tuples are lists; 48 bytes (SHA-384).
#[pyfunction]
fn deep_hash<'py>(py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(PyBytes::new(py, &dh::blob(b.as_bytes())));
    }
    let owned = owned_of(value, 0)?;
    Ok(PyBytes::new(py, &dh::hash(&borrow(&owned))))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(ans104_serialize, m)?)?;
    m.add_function(wrap_pyfunction!(ans104_parse, m)?)?;
    m.add_function(wrap_pyfunction!(ans104_decode, m)?)?;
    m.add_function(wrap_pyfunction!(ans104_decode_verified, m)?)?;
    m.add_function(wrap_pyfunction!(ans104_normalize, m)?)?;
    m.add_function(wrap_pyfunction!(ans104_ids, m)?)?;
    m.add_function(wrap_pyfunction!(ans104_signature_data, m)?)?;
    m.add_function(wrap_pyfunction!(ans104_sign, m)?)?;
    m.add_function(wrap_pyfunction!(ans104_verify, m)?)?;
    m.add_function(wrap_pyfunction!(ans104_verify_many, m)?)?;
    m.add_function(wrap_pyfunction!(ans104_encode_tags, m)?)?;
    m.add_function(wrap_pyfunction!(ans104_decode_tags, m)?)?;
    m.add_function(wrap_pyfunction!(ans104_bundle, m)?)?;
    m.add_function(wrap_pyfunction!(ans104_unbundle, m)?)?;
    m.add_function(wrap_pyfunction!(ans104_bundle_layout, m)?)?;
    m.add_function(wrap_pyfunction!(deep_hash, m)?)?;
    Ok(())
}

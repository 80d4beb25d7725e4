//! Message-cache layout bindings (spec runtime §10.2, §10.4): a message's whole write set in
//! one call, and the decoding of a RocksDB group scan, so that `hyperbeam_fast.cache` does not
//! walk the tree key by key in Python.
//!
//! Every function *declines* (returns `None`) rather than raise for input the general Python
//! path must handle, so that the typed errors stay exactly those of the Python code.

use hb_core::cache_layout::{write_ops, Op};
use hb_core::{ids, message_id, structured, Value};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::convert::to_msg;

/// RocksDBStore's value tags (store/rocksdb.py).
const TAG_LINK: u8 = 1;
const TAG_RAW: u8 = 2;
const TAG_GROUP: u8 = 3;

/// The write set of a message: `(uid, ops)` with `ops` as `cache._ops_for` builds them
/// (`("write", path, bytes)`, `("group", path)`, `("link", existing, new)`), or with
/// `encoded` `(uid, kv, groups, leaves)`: RocksDBStore's `(key, tagged value)` pairs for every
/// write and link, the groups to create (`data` first when there are writes) and the written
/// paths. `source` is `structured@1.0` (the unsigned ID is computed when `uid` is `None`; a
/// message with private keys or commitments is declined) or `tabm`. `None` when the message
/// needs the general path.
#[pyfunction]
#[pyo3(signature = (msg, source, uid=None, encoded=false))]
fn cache_write_set<'py>(
    py: Python<'py>,
    msg: &Bound<'py, PyAny>,
    source: &str,
    uid: Option<String>,
    encoded: bool,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    let Ok(m) = to_msg(msg) else {
        return Ok(None);
    };
    let prepared = match source {
        "structured@1.0" => {
            // Private keys and commitments are the general path's (`cache._prepare`).
            if m.keys().any(|k| k.starts_with(b"priv"))
                || matches!(m.get(b"commitments".as_slice()), Some(Value::Map(c)) if !c.is_empty())
            {
                return Ok(None);
            }
            let uid = match uid {
                Some(u) => Some(u),
                None => match message_id::unsigned_id(&m) {
                    Ok(id) => Some(ids::b64url(&id)),
                    Err(_) => return Ok(None),
                },
            };
            match structured::from_msg(&m) {
                Ok(t) => write_ops(&t, uid),
                Err(_) => return Ok(None),
            }
        }
        "tabm" => write_ops(&m, uid),
        _ => return Ok(None),
    };
    let Ok(Some((uid, ops))) = prepared else {
        return Ok(None);
    };
    if encoded {
        encoded_set(py, uid, ops).map(Some)
    } else {
        op_tuples(py, uid, ops).map(Some)
    }
}

fn op_tuples<'py>(py: Python<'py>, uid: String, ops: Vec<Op>) -> PyResult<Bound<'py, PyTuple>> {
    let (w, g, l) = (
        intern!(py, "write"),
        intern!(py, "group"),
        intern!(py, "link"),
    );
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        out.push(match op {
            Op::Write(p, b) => PyTuple::new(
                py,
                [
                    w.clone().into_any(),
                    PyString::new(py, &p).into_any(),
                    PyBytes::new(py, &b).into_any(),
                ],
            )?,
            Op::Group(p) => {
                PyTuple::new(py, [g.clone().into_any(), PyString::new(py, &p).into_any()])?
            }
            Op::Link(t, p) => PyTuple::new(
                py,
                [
                    l.clone().into_any(),
                    PyString::new(py, &t).into_any(),
                    PyString::new(py, &p).into_any(),
                ],
            )?,
        });
    }
    PyTuple::new(
        py,
        [
            PyString::new(py, &uid).into_any(),
            PyList::new(py, out)?.into_any(),
        ],
    )
}

fn tagged(tag: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(payload.len() + 1);
    v.push(tag);
    v.extend_from_slice(payload);
    v
}

fn encoded_set<'py>(py: Python<'py>, uid: String, ops: Vec<Op>) -> PyResult<Bound<'py, PyTuple>> {
    let mut kv = Vec::with_capacity(ops.len());
    let mut groups: Vec<String> = Vec::new();
    let mut leaves: Vec<String> = Vec::with_capacity(ops.len());
    let mut has_data = false;
    for op in ops {
        match op {
            Op::Write(p, b) => {
                has_data = true;
                kv.push(PyTuple::new(
                    py,
                    [
                        PyBytes::new(py, p.as_bytes()),
                        PyBytes::new(py, &tagged(TAG_RAW, &b)),
                    ],
                )?);
                leaves.push(p);
            }
            Op::Group(p) => groups.push(p),
            Op::Link(t, p) => {
                kv.push(PyTuple::new(
                    py,
                    [
                        PyBytes::new(py, p.as_bytes()),
                        PyBytes::new(py, &tagged(TAG_LINK, t.as_bytes())),
                    ],
                )?);
                leaves.push(p);
            }
        }
    }
    if has_data {
        groups.insert(0, "data".to_owned());
    }
    PyTuple::new(
        py,
        [
            PyString::new(py, &uid).into_any(),
            PyList::new(py, kv)?.into_any(),
            PyList::new(py, groups)?.into_any(),
            PyList::new(py, leaves)?.into_any(),
        ],
    )
}

/// Decode a RocksDB scan of the group `group` (its own key first, then `group/<name>` keys; keys
/// that only share the prefix are skipped) into `(values, subs)`: the raw children in a new
/// dict, and `(name, target)` for each link to something other than `data/...` (a
/// sub-message). Links to `data/...` are appended to the caller's `outs`, `names` and
/// `targets` (the dict, the child name, the target key), for one multi-get over a whole
/// tree. `None` (nothing appended) unless the group's marker is there and every child is a
/// plain raw value or link: the general path handles the rest.
#[pyfunction]
fn cache_group_entries<'py>(
    py: Python<'py>,
    items: &Bound<'py, PyList>,
    group: &[u8],
    outs: &Bound<'py, PyList>,
    names: &Bound<'py, PyList>,
    targets: &Bound<'py, PyList>,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    let out = PyDict::new(py);
    let subs = PyList::empty(py);
    let mut links: Vec<(&str, &[u8])> = Vec::new();
    let mut marker = false;
    let n = group.len();
    let keep: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)> = items
        .iter()
        .map(|item| {
            let t = item.cast_into::<PyTuple>()?;
            Ok((t.get_item(0)?, t.get_item(1)?))
        })
        .collect::<PyResult<_>>()?;
    for (k, v) in &keep {
        let k = k.cast::<PyBytes>()?.as_bytes();
        let v = v.cast::<PyBytes>()?.as_bytes();
        if k == group {
            if v != [TAG_GROUP] {
                return Ok(None);
            }
            marker = true;
            continue;
        }
        if k.len() <= n + 1 || !k.starts_with(group) || k[n] != b'/' {
            continue; // a sibling sharing the prefix (`<group>-x`), not a child
        }
        let name = &k[n + 1..];
        if name.contains(&b'/') {
            return Ok(None); // descendants: an inlined sub-group
        }
        let Ok(name) = std::str::from_utf8(name) else {
            return Ok(None);
        };
        match v.first() {
            Some(&TAG_RAW) => out.set_item(name, PyBytes::new(py, &v[1..]))?,
            Some(&TAG_LINK) => {
                let Ok(tgt) = std::str::from_utf8(&v[1..]) else {
                    return Ok(None);
                };
                if tgt.starts_with("data/") {
                    links.push((name, &v[1..]));
                } else {
                    subs.append((name, tgt))?;
                }
            }
            _ => return Ok(None),
        }
    }
    if !marker {
        return Ok(None);
    }
    for (name, tgt) in links {
        outs.append(&out)?;
        names.append(name)?;
        targets.append(PyBytes::new(py, tgt))?;
    }
    Ok(Some(PyTuple::new(py, [out.into_any(), subs.into_any()])?))
}

/// Put the raw values among `vals` (RocksDB values of the link `targets`) into `outs[i]`
/// under `names[i]`; return `(out, name, target, is_group)` for every other one (a group
/// marker, a further link, a miss or a corrupt value) for the caller to resolve.
#[pyfunction]
fn cache_group_fill<'py>(
    py: Python<'py>,
    outs: &Bound<'py, PyList>,
    names: &Bound<'py, PyList>,
    targets: &Bound<'py, PyList>,
    vals: &Bound<'py, PyList>,
) -> PyResult<Bound<'py, PyList>> {
    let pending = PyList::empty(py);
    for (i, v) in vals.iter().enumerate() {
        let out = outs.get_item(i)?;
        let name = names.get_item(i)?;
        let raw = v.cast::<PyBytes>().ok().map(|b| b.as_bytes().to_vec());
        if let Some(b) = &raw {
            if b.first() == Some(&TAG_RAW) {
                out.cast::<PyDict>()?
                    .set_item(name, PyBytes::new(py, &b[1..]))?;
                continue;
            }
        }
        let tgt = targets.get_item(i)?;
        let tgt = std::str::from_utf8(tgt.cast::<PyBytes>()?.as_bytes())
            .unwrap_or_default()
            .to_owned();
        let is_group = raw.as_deref() == Some(&[TAG_GROUP][..]);
        pending.append((out, name, tgt, is_group))?;
    }
    Ok(pending)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cache_write_set, m)?)?;
    m.add_function(wrap_pyfunction!(cache_group_entries, m)?)?;
    m.add_function(wrap_pyfunction!(cache_group_fill, m)?)?;
    Ok(())
}

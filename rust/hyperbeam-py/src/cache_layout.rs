//! Message-cache layout bindings (spec runtime §10.2, §10.4): a message's whole write set in
//! one call, and the decoding of a RocksDB group scan, so that `hyperbeam_fast.cache` does not
//! walk the tree key by key in Python.
//!
//! Every function *declines* (returns `None`) rather than raise for input the general Python
//! path must handle, so that the typed errors stay exactly those of the Python code.

use hb_core::cache_layout::{
    data_matches, group_id, packed_child, packed_ops, uncovered, unpack, write_ops, Child, Op,
};
use hb_core::{ids, message_id, structured, Msg, Value};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PySet, PyString, PyTuple};

use crate::convert::{msg_to_py, to_msg};
use crate::error::PyHbError;

pyo3::import_exception!(hyperbeam_fast.exceptions, StoreCorrupt);
pyo3::import_exception!(hyperbeam_fast.exceptions, StoreError);

/// RocksDBStore's value tags (store/rocksdb.py).
const TAG_LINK: u8 = 1;
const TAG_RAW: u8 = 2;
const TAG_GROUP: u8 = 3;
/// A packed group: `4` + a `hb_core::cache_layout` packed table of the group's children.
const TAG_PACKED: u8 = 4;
/// Longest chain of one-segment links followed by the packed read (store.base.MAX_HOPS).
const MAX_HOPS: usize = 64;

/// The TABM of `msg` (from `source`) and its unsigned ID if known; `None` when declined.
fn prepare(
    msg: &Bound<'_, PyAny>,
    source: &str,
    uid: Option<String>,
) -> Option<(Msg, Option<String>)> {
    let m = to_msg(msg).ok()?;
    match source {
        "structured@1.0" => {
            // Private keys, commitments and keys the unsigned ID does not cover are the
            // general path's (`cache.verify.prepare`).
            if m.keys().any(|k| k.starts_with(b"priv") || uncovered(k))
                || matches!(m.get(b"commitments".as_slice()), Some(Value::Map(c)) if !c.is_empty())
            {
                return None;
            }
            let uid = match uid {
                Some(u) => u,
                None => ids::b64url(&message_id::unsigned_id(&m).ok()?),
            };
            Some((structured::from_msg(&m).ok()?, Some(uid)))
        }
        "tabm" => Some((m, uid)),
        _ => None,
    }
}

/// The write set of a message: `(uid, ops)` with `ops` as `cache.writing.ops_for` builds them
/// (`("write", path, bytes)`, `("group", path)`, `("link", existing, new)`), or with
/// `encoded` `(uid, kv, groups, leaves)`: RocksDBStore's `(key, tagged value)` pairs for every
/// write and link, the groups to create (`data` first when there are writes) and the written
/// paths. `source` is `structured@1.0` (the unsigned ID is computed when `uid` is `None`; a
/// message with private keys or commitments is declined) or `tabm`. `None` when the message
/// needs the general path.
/// The store group name of a TABM map (`hb_core::cache_layout::group_id`): its unsigned ID
/// when that covers every key, else the hash of all of its content; `None` for a map that is
/// not plain TABM (binaries and maps only).
#[pyfunction]
fn cache_group_id(tabm: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    let m = to_msg(tabm)?;
    Ok(group_id(&m).map_err(PyHbError::from)?)
}

#[pyfunction]
#[pyo3(signature = (msg, source, uid=None, encoded=false))]
fn cache_write_set<'py>(
    py: Python<'py>,
    msg: &Bound<'py, PyAny>,
    source: &str,
    uid: Option<String>,
    encoded: bool,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    let Some((tabm, uid)) = prepare(msg, source, uid) else {
        return Ok(None);
    };
    let prepared = write_ops(&tabm, uid);
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
        let tgt = targets.get_item(i)?;
        let tgt = std::str::from_utf8(tgt.cast::<PyBytes>()?.as_bytes())
            .unwrap_or_default()
            .to_owned();
        if let Some(b) = &raw {
            // A blob that does not hash to its name is left to the caller (StoreCorrupt).
            if b.first() == Some(&TAG_RAW) && data_matches(&tgt, &b[1..]) {
                out.cast::<PyDict>()?
                    .set_item(name, PyBytes::new(py, &b[1..]))?;
                continue;
            }
        }
        let is_group = raw.as_deref() == Some(&[TAG_GROUP][..]);
        pending.append((out, name, tgt, is_group))?;
    }
    Ok(pending)
}

/// The packed write set of a message (RocksDBStore's layout, see store/rocksdb.py):
/// `(uid, kv, groups, leaves, packed)` with `kv` the `(data/<h>, 2 + bytes)` pairs of the
/// binaries longer than `inline_max`, `groups` `["data"]` when there are any, `leaves` their
/// paths, and `packed` `(group key, 4 + packed table)` for every (sub-)message, sub-messages
/// first. `None` exactly when `cache_write_set` declines.
#[pyfunction]
#[pyo3(signature = (msg, source, uid=None, inline_max=256))]
fn cache_packed_set<'py>(
    py: Python<'py>,
    msg: &Bound<'py, PyAny>,
    source: &str,
    uid: Option<String>,
    inline_max: usize,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    let Some((tabm, uid)) = prepare(msg, source, uid) else {
        return Ok(None);
    };
    let Ok(Some(set)) = packed_ops(&tabm, uid, inline_max) else {
        return Ok(None);
    };
    let kv = PyList::empty(py);
    let leaves = PyList::empty(py);
    for (p, b) in &set.data {
        kv.append((
            PyBytes::new(py, p.as_bytes()),
            PyBytes::new(py, &tagged(TAG_RAW, b)),
        ))?;
        leaves.append(p)?;
    }
    let groups = PyList::empty(py);
    if !set.data.is_empty() {
        groups.append("data")?;
    }
    let packed = PyList::empty(py);
    for (g, t) in &set.groups {
        packed.append((
            PyBytes::new(py, g.as_bytes()),
            PyBytes::new(py, &tagged(TAG_PACKED, t)),
        ))?;
    }
    Ok(Some(PyTuple::new(
        py,
        [
            PyString::new(py, &set.uid).into_any(),
            kv.into_any(),
            groups.into_any(),
            leaves.into_any(),
            packed.into_any(),
        ],
    )?))
}

fn packed_table(value: &[u8]) -> PyResult<Vec<(&str, Child<'_>)>> {
    if value.first() != Some(&TAG_PACKED) {
        return Err(StoreCorrupt::new_err("not a packed group value"));
    }
    unpack(&value[1..]).map_err(|e| StoreCorrupt::new_err(e.to_string()))
}

fn child_tuple<'py>(py: Python<'py>, c: Child<'_>) -> PyResult<Bound<'py, PyTuple>> {
    match c {
        Child::Link(t) => PyTuple::new(
            py,
            [
                TAG_LINK.into_pyobject(py)?.into_any(),
                PyString::new(py, t).into_any(),
            ],
        ),
        Child::Raw(b) => PyTuple::new(
            py,
            [
                TAG_RAW.into_pyobject(py)?.into_any(),
                PyBytes::new(py, b).into_any(),
            ],
        ),
    }
}

/// Every child of a packed group value (`4` + table) as `(name, (1, target))` or
/// `(name, (2, bytes))`, names ascending. Raises `StoreCorrupt` for a corrupt value.
#[pyfunction]
fn cache_packed_entries<'py>(py: Python<'py>, value: &[u8]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for (name, c) in packed_table(value)? {
        out.append((name, child_tuple(py, c)?))?;
    }
    Ok(out)
}

/// The child `name` of a packed group value as `(1, target)` or `(2, bytes)`, or `None`.
/// Raises `StoreCorrupt` for a corrupt value.
#[pyfunction]
fn cache_packed_child<'py>(
    py: Python<'py>,
    value: &[u8],
    name: &str,
) -> PyResult<Option<Bound<'py, PyTuple>>> {
    if value.first() != Some(&TAG_PACKED) {
        return Err(StoreCorrupt::new_err("not a packed group value"));
    }
    match packed_child(&value[1..], name) {
        Ok(Some(c)) => Ok(Some(child_tuple(py, c)?)),
        Ok(None) => Ok(None),
        Err(e) => Err(StoreCorrupt::new_err(e.to_string())),
    }
}

/// `get(key)` as bytes (`None` for a miss or anything that is not bytes).
fn fetch<'py>(get: &Bound<'py, PyAny>, key: &str) -> PyResult<Option<Bound<'py, PyBytes>>> {
    let v = get.call1((PyBytes::new(get.py(), key.as_bytes()),))?;
    Ok(v.cast_into::<PyBytes>().ok())
}

/// The TABM of the packed group at `key`, its sub-messages read the same way and its
/// `data/...` values with one multi-get; `None` (decline) for anything else: a plain group,
/// a miss, a corrupt value, a loop, a link elsewhere. `stack` holds the groups being read.
fn read_packed(
    get: &Bound<'_, PyAny>,
    key: &str,
    stack: &mut Vec<String>,
) -> PyResult<Option<Msg>> {
    if stack.len() > hb_core::value::MAX_DEPTH || stack.iter().any(|g| g == key) {
        return Ok(None);
    }
    let Some(v) = fetch(get, key)? else {
        return Ok(None);
    };
    read_packed_value(get, key, v.as_bytes(), stack)
}

/// [`read_packed`] of the group `key` whose value `v` was already fetched.
fn read_packed_value(
    get: &Bound<'_, PyAny>,
    key: &str,
    v: &[u8],
    stack: &mut Vec<String>,
) -> PyResult<Option<Msg>> {
    if v.first() != Some(&TAG_PACKED) {
        return Ok(None);
    }
    let Ok(table) = unpack(&v[1..]) else {
        return Ok(None);
    };
    let mut out = Msg::new();
    let mut data: Vec<(&str, &str)> = Vec::new();
    stack.push(key.to_owned());
    for (name, c) in table {
        match c {
            Child::Raw(b) => {
                out.insert(name.as_bytes().to_vec(), Value::Bin(b.to_vec()));
            }
            Child::Link(t) if t.starts_with("data/") => data.push((name, t)),
            Child::Link(t) if !t.contains('/') => match read_packed(get, t, stack)? {
                Some(m) => {
                    out.insert(name.as_bytes().to_vec(), Value::Map(m));
                }
                None => return Ok(None),
            },
            Child::Link(_) => return Ok(None),
        }
    }
    stack.pop();
    if !data.is_empty() {
        let py = get.py();
        let keys = PyList::empty(py);
        for (_, t) in &data {
            keys.append(PyBytes::new(py, t.as_bytes()))?;
        }
        let vals = get.call1((keys,))?;
        let vals = vals.cast::<PyList>()?;
        if vals.len() != data.len() {
            return Ok(None);
        }
        for ((name, t), v) in data.iter().zip(vals.iter()) {
            let Ok(b) = v.cast::<PyBytes>() else {
                return Ok(None);
            };
            let b = b.as_bytes();
            if b.first() != Some(&TAG_RAW) || !data_matches(t, &b[1..]) {
                return Ok(None); // a further link, a group, corrupt: the general path
            }
            out.insert(name.as_bytes().to_vec(), Value::Bin(b[1..].to_vec()));
        }
    }
    Ok(Some(out))
}

/// Read the message stored as a packed group at the one-segment path `key` (following
/// one-segment links to it, e.g. from a commitment ID) through the store's `get` (rocksdict's:
/// a key, or a list of keys for a multi-get), as its TABM or, with `structured`, converted to
/// structured@1.0. `None` when it is not a packed group whose whole tree is packed groups and
/// raw values (or holds `priv`): the general path reads it and raises its typed errors.
#[pyfunction]
#[pyo3(signature = (get, key, structured=false))]
fn cache_packed_read<'py>(
    py: Python<'py>,
    get: &Bound<'py, PyAny>,
    key: &str,
    structured: bool,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let mut key = key.to_owned();
    let mut hops = 0;
    let value = loop {
        let Some(v) = fetch(get, &key)? else {
            return Ok(None);
        };
        let b = v.as_bytes();
        match b.first() {
            Some(&TAG_PACKED) => break v,
            Some(&TAG_LINK) if hops < MAX_HOPS => match std::str::from_utf8(&b[1..]) {
                Ok(t) if !t.is_empty() && !t.contains('/') => key = t.to_owned(),
                _ => return Ok(None),
            },
            _ => return Ok(None),
        }
        hops += 1;
    };
    let Some(tabm) = read_packed_value(get, &key, value.as_bytes(), &mut Vec::new())? else {
        return Ok(None);
    };
    if tabm.contains_key(b"priv".as_slice()) {
        return Ok(None);
    }
    if structured {
        let m = structured::to_msg(&tabm).map_err(PyHbError::from)?;
        Ok(Some(msg_to_py(py, &m)?.into_any()))
    } else {
        Ok(Some(msg_to_py(py, &tabm)?.into_any()))
    }
}

/// `RocksDBStore.write`'s fast path: `RawWriter(put, known, slow).write(key, value)`. When
/// `key` is a `str` and `value` `bytes`, the key's parent is in `known` (a group this process
/// has seen, hence a valid path), its last segment is plainly valid (not empty, no `.`, no NUL)
/// and the key itself is not a known group: one `put(key, 2 + value)`; anything else goes to
/// `slow(key, value)` (the checked general path). The last parent found in `known` is kept
/// (`known` only grows while the store is open, so it stays known), which saves the set lookup
/// for runs of keys in one group. A failing put raises `StoreError`.
#[pyclass(frozen, module = "hyperbeam_fast._native")]
struct RawWriter {
    put: Py<PyAny>,
    known: Py<PySet>,
    slow: Py<PyAny>,
    last: Py<PyList>,
}

#[pymethods]
impl RawWriter {
    #[new]
    fn new(put: Bound<'_, PyAny>, known: Bound<'_, PySet>, slow: Bound<'_, PyAny>) -> Self {
        let py = put.py();
        RawWriter {
            put: put.unbind(),
            known: known.unbind(),
            slow: slow.unbind(),
            last: PyList::new(py, [py.None()])
                .map(Bound::unbind)
                .unwrap_or_else(|_| PyList::empty(py).unbind()),
        }
    }

    fn write(&self, key: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = key.py();
        if let (Ok(k), Ok(v)) = (key.cast_exact::<PyString>(), value.cast_exact::<PyBytes>()) {
            if let Ok(ks) = k.to_str() {
                let kb = ks.as_bytes();
                if let Some(i) = kb.iter().rposition(|&c| c == b'/') {
                    // the parent is valid once known (only valid paths become groups): only
                    // the last segment needs checking (a `.` in a device name such as
                    // `simple-pay@1.0/ledger` no longer sends every write the slow way)
                    let last_ok = !kb[i + 1..].iter().any(|&c| c == b'.' || c == 0);
                    if i > 0 && i + 1 < kb.len() && last_ok && !kb[..i].contains(&0) {
                        let parent = &ks[..i];
                        let known = self.known.bind(py);
                        let last = self.last.bind(py);
                        let cached = match last.get_item(0) {
                            Ok(p) => p
                                .cast::<PyString>()
                                .ok()
                                .and_then(|p| p.to_str().ok().map(|p| p == parent))
                                .unwrap_or(false),
                            Err(_) => false,
                        };
                        let parent_known = cached || {
                            let p = PyString::new(py, parent);
                            let found = known.contains(&p)?;
                            if found {
                                last.set_item(0, p)?;
                            }
                            found
                        };
                        if parent_known && !known.contains(k)? {
                            let v = v.as_bytes();
                            let tagged = PyBytes::new_with(py, v.len() + 1, |b| {
                                b[0] = TAG_RAW;
                                b[1..].copy_from_slice(v);
                                Ok(())
                            })?;
                            return match self.put.bind(py).call1((PyBytes::new(py, kb), tagged)) {
                                Ok(_) => Ok(()),
                                Err(e) if e.is_instance_of::<StoreError>(py) => Err(e),
                                Err(e) => {
                                    Err(StoreError::new_err(format!("RocksDB write failed: {e}")))
                                }
                            };
                        }
                    }
                }
            }
        }
        self.slow.bind(py).call1((key, value))?;
        Ok(())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cache_group_id, m)?)?;
    m.add_function(wrap_pyfunction!(cache_write_set, m)?)?;
    m.add_function(wrap_pyfunction!(cache_group_entries, m)?)?;
    m.add_function(wrap_pyfunction!(cache_group_fill, m)?)?;
    m.add_function(wrap_pyfunction!(cache_packed_set, m)?)?;
    m.add_function(wrap_pyfunction!(cache_packed_entries, m)?)?;
    m.add_function(wrap_pyfunction!(cache_packed_child, m)?)?;
    m.add_function(wrap_pyfunction!(cache_packed_read, m)?)?;
    m.add_class::<RawWriter>()?;
    Ok(())
}

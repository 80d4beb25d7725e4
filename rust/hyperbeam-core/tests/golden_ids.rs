//! The golden unsigned-ID and httpsig vectors from the Erlang implementation, run on the pure
//! Rust core. They are read at run time from ../shared (or $HYPERBEAM_SHARED) and skipped with a
//! message when that folder is absent.

use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hb_core::{httpsig, message_id, structured, Msg, Value};
use serde_json::Value as J;

fn shared() -> Option<PathBuf> {
    let p = std::env::var_os("HYPERBEAM_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    p.join("vectors/hyperbeam").is_dir().then_some(p)
}

fn load(name: &str) -> Option<Vec<J>> {
    let Some(dir) = shared() else {
        eprintln!("SKIP: reference material ../shared not found (set HYPERBEAM_SHARED)");
        return None;
    };
    let text = std::fs::read_to_string(dir.join("vectors/hyperbeam").join(name)).ok()?;
    let doc: J = serde_json::from_str(&text).ok()?;
    doc["vectors"].as_array().cloned()
}

fn bytes(t: &J) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(t["b64url"].as_str().unwrap_or(""))
        .expect("b64url")
}

/// Typed term -> Value (erlang-reference.md "Typed terms").
fn term(t: &J) -> Value {
    match t["type"].as_str().unwrap_or("") {
        "binary" => Value::Bin(bytes(t)),
        "int" => match &t["value"] {
            J::Number(n) => Value::Int(n.as_i64().expect("i64")),
            J::String(s) => match s.parse::<i64>() {
                Ok(i) => Value::Int(i),
                Err(_) => Value::BigInt(s.clone()),
            },
            other => panic!("bad int {other}"),
        },
        "float" => Value::Float(t["value"].as_f64().expect("float")),
        "atom" => Value::Atom(t["value"].as_str().expect("atom").to_owned()),
        "list" => Value::List(
            t["value"]
                .as_array()
                .expect("list")
                .iter()
                .map(term)
                .collect(),
        ),
        "map" => Value::Map(map(t)),
        other => panic!("unexpected term type {other}"),
    }
}

fn map(t: &J) -> Msg {
    let mut m = Msg::new();
    for kv in t["value"].as_array().expect("map") {
        let k = match kv[0]["type"].as_str() {
            Some("atom") => kv[0]["value"].as_str().expect("atom").as_bytes().to_vec(),
            _ => bytes(&kv[0]),
        };
        m.insert(k, term(&kv[1]));
    }
    m
}

#[test]
fn unsigned_ids_match_erlang() {
    let Some(vectors) = load("message-ids.json") else {
        return;
    };
    let mut checked = 0;
    for v in &vectors {
        let is_none = v["args"].get(1).and_then(|a| a["value"].as_str()) == Some("none");
        if !is_none || v["args"][0]["type"] != "map" {
            continue;
        }
        let msg = map(&v["args"][0]);
        let want = String::from_utf8(bytes(&v["output"])).expect("utf8");
        let fast = URL_SAFE_NO_PAD.encode(message_id::unsigned_id(&msg).expect("id"));
        let general = URL_SAFE_NO_PAD.encode(message_id::unsigned_id_general(&msg).expect("id"));
        assert_eq!(fast, want, "{}", v["name"]);
        assert_eq!(general, want, "{} (general path)", v["name"]);
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} vectors checked");
}

#[test]
fn httpsig_encoding_matches_erlang() {
    let Some(vectors) = load("conversions.json") else {
        return;
    };
    let mut checked = 0;
    for v in &vectors {
        let name = v["name"].as_str().unwrap_or("");
        if !name.ends_with("/convert/httpsig@1.0") || v.get("output").is_none() {
            continue;
        }
        let msg = map(&v["args"][0]);
        let got = httpsig::to_http(&structured::from_msg(&msg).expect("tabm")).expect("http");
        let want: httpsig::HttpMsg = map(&v["output"])
            .into_iter()
            .map(|(k, v)| match v {
                Value::Bin(b) => (k, b),
                other => panic!("{name}: non-binary header {other:?}"),
            })
            .collect();
        // Atom keys keep their case in Erlang's TABM; ours are lower-cased like binary keys.
        let got: httpsig::HttpMsg = got
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        assert_eq!(got, want, "{name}");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} vectors checked");
}

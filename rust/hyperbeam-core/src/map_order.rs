//! Erlang map iteration order of binary keys, OTP 25 and OTP 27 (docs/map-order.md).
//!
//! Maps of up to 32 keys are flatmaps: every primitive visits them in ascending byte order
//! (our `BTreeMap` order). Larger maps are HAMTs: `maps:fold`/`maps:iterator` visit the keys in
//! the trie's depth-first order F, ascending by the hash read 4 bits at a time from its low end,
//! and `maps:to_list`/`keys`/`values` in reverse(F). OTP 25.2.3 hashes a binary with lookup2
//! (32 bits; 8 trie levels per hash, then a rehash with a per-depth salt); 64-bit OTP 27 with a
//! MurmurHash3-derived 64-bit hash (16 levels; equal hashes go to a collision node in term
//! order). Re-derived from `erl_map.[ch]`, `utils.c` and `erl_term_hashing.c`.
//!
//! The mode is process-wide (`set_mode`, read by every codec): default OTP 27, set once at
//! start-up from `HB_MAP_ORDER` or the node's `map_order` option.

use std::sync::atomic::{AtomicU8, Ordering};

/// Whose map order to reproduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapOrder {
    Otp27,
    Otp25,
}

/// Which primitive walks the map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Walk {
    /// `maps:to_list`, `maps:keys`, `maps:values`: reverse(F) for HAMTs.
    ToList,
    /// `maps:fold`, `maps:map`, `maps:iterator` + `next`: F.
    Fold,
}

/// `MAP_SMALL_MAP_LIMIT`: maps of more keys are HAMTs.
pub const SMALL_MAP_LIMIT: usize = 32;

static MODE: AtomicU8 = AtomicU8::new(0);

/// The process-wide map order.
pub fn mode() -> MapOrder {
    if MODE.load(Ordering::Relaxed) == 1 {
        MapOrder::Otp25
    } else {
        MapOrder::Otp27
    }
}

/// Set the process-wide map order.
pub fn set_mode(m: MapOrder) {
    MODE.store(if m == MapOrder::Otp25 { 1 } else { 0 }, Ordering::Relaxed);
}

const HCONST: u32 = 0x9e37_79b9;
const HCONST_13: u32 = 0x08d1_2e65;
const HCONST_22: u32 = 0x98c4_75e6;
const INTERNAL_HASH_SALT: u32 = 3_432_918_353;

/// lookup2's `MIX` (utils.c).
#[inline]
fn mix(mut a: u32, mut b: u32, mut c: u32) -> (u32, u32, u32) {
    a = a.wrapping_sub(b).wrapping_sub(c) ^ (c >> 13);
    b = b.wrapping_sub(c).wrapping_sub(a) ^ (a << 8);
    c = c.wrapping_sub(a).wrapping_sub(b) ^ (b >> 13);
    a = a.wrapping_sub(b).wrapping_sub(c) ^ (c >> 12);
    b = b.wrapping_sub(c).wrapping_sub(a) ^ (a << 16);
    c = c.wrapping_sub(a).wrapping_sub(b) ^ (b >> 5);
    a = a.wrapping_sub(b).wrapping_sub(c) ^ (c >> 3);
    b = b.wrapping_sub(c).wrapping_sub(a) ^ (a << 10);
    c = c.wrapping_sub(a).wrapping_sub(b) ^ (b >> 15);
    (a, b, c)
}

/// Little-endian integer of up to 8 bytes.
#[inline]
fn le(b: &[u8]) -> u64 {
    b.iter()
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
}

/// `block_hash` (lookup2) of `k` from `initval`.
fn block_hash(k: &[u8], initval: u32) -> u32 {
    let (mut a, mut b, mut c) = (HCONST, HCONST, initval);
    let mut blocks = k.chunks_exact(12);
    for blk in &mut blocks {
        a = a.wrapping_add(le(&blk[0..4]) as u32);
        b = b.wrapping_add(le(&blk[4..8]) as u32);
        c = c.wrapping_add(le(&blk[8..12]) as u32);
        (a, b, c) = mix(a, b, c);
    }
    // the length enters mod 2^32, as in C
    c = c.wrapping_add(k.len() as u32);
    let t = blocks.remainder();
    a = a.wrapping_add(le(&t[..t.len().min(4)]) as u32);
    if t.len() > 4 {
        b = b.wrapping_add(le(&t[4..t.len().min(8)]) as u32);
    }
    if t.len() > 8 {
        c = c.wrapping_add((le(&t[8..]) as u32) << 8);
    }
    mix(a, b, c).2
}

/// `make_map_hash(Key, Depth)` of a binary on OTP <= 26 (32 bits).
pub fn otp25_hash(key: &[u8], depth: u32) -> u32 {
    let salt = if depth > 0 {
        mix(HCONST_22.wrapping_add(depth), HCONST_22.wrapping_add(1), 0).2
    } else {
        0
    };
    let con = HCONST_13.wrapping_add(salt ^ INTERNAL_HASH_SALT);
    if key.is_empty() {
        con
    } else {
        block_hash(key, con)
    }
}

const C1: u64 = 0x87C3_7B91_1142_53D5;
const C2: u64 = 0x4CF5_AD43_2745_937F;

#[inline]
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// The running state of OTP 27's `make_internal_hash` (erl_term_hashing.c).
struct Ihash {
    alpha: u64,
    beta: u64,
    ticks: u64,
}

impl Ihash {
    #[inline]
    fn mix_alpha(&mut self, x: u64) {
        let x = x.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
        self.alpha = (self.alpha ^ x)
            .rotate_left(27)
            .wrapping_add(self.beta)
            .wrapping_mul(5)
            .wrapping_add(0x52DC_E729);
        self.ticks += 1;
    }

    #[inline]
    fn mix_beta(&mut self, x: u64) {
        let x = x.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
        self.beta = (self.beta ^ x)
            .rotate_left(31)
            .wrapping_add(self.alpha)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5AB5);
        self.ticks += 1;
    }
}

/// `erts_map_hash` of a binary on 64-bit OTP 27 (`make_internal_hash`).
pub fn otp27_hash(key: &[u8]) -> u64 {
    let mut h = Ihash {
        alpha: 0,
        beta: 0,
        ticks: 0,
    };
    h.mix_alpha(11); // IHASH_TYPE_BINARY
    h.mix_beta((key.len() as u64).wrapping_mul(8)); // the size in bits
    let mut blocks = key.chunks_exact(16);
    for blk in &mut blocks {
        h.mix_alpha(le(&blk[0..8]));
        h.mix_beta(le(&blk[8..16]));
    }
    let t = blocks.remainder();
    let (mut alpha, mut beta) = (h.alpha, h.beta);
    if t.len() > 8 {
        beta ^= le(&t[8..])
            .wrapping_mul(C2)
            .rotate_left(33)
            .wrapping_mul(C1);
    }
    if !t.is_empty() {
        alpha ^= le(&t[..t.len().min(8)])
            .wrapping_mul(C1)
            .rotate_left(31)
            .wrapping_mul(C2);
    }
    alpha ^= h.ticks;
    beta ^= h.ticks;
    alpha = alpha.wrapping_add(beta);
    beta = beta.wrapping_add(alpha);
    alpha = fmix64(alpha);
    beta = fmix64(beta);
    alpha = alpha.wrapping_add(beta);
    beta = beta.wrapping_add(alpha);
    alpha ^ beta
}

/// Nibbles reversed: the trie slots from the root down, as an integer.
#[inline]
fn swizzle64(h: u64) -> u64 {
    let s = h.swap_bytes();
    ((s & 0x0F0F_0F0F_0F0F_0F0F) << 4) | ((s >> 4) & 0x0F0F_0F0F_0F0F_0F0F)
}

#[inline]
fn swizzle32(h: u32) -> u32 {
    let s = h.swap_bytes();
    ((s & 0x0F0F_0F0F) << 4) | ((s >> 4) & 0x0F0F_0F0F)
}

/// OTP 25.2.3's order of two keys whose depth-0 hashes are equal: the rehashed levels, then
/// (never reached for distinct binaries in practice) bytes.
fn otp25_tie(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    for depth in 1..64 {
        let (x, y) = (
            swizzle32(otp25_hash(a, depth)),
            swizzle32(otp25_hash(b, depth)),
        );
        if x != y {
            return x.cmp(&y);
        }
    }
    a.cmp(b)
}

/// The positions of `keys` (distinct, in any order) in the order `walk` visits their map.
pub fn walk_order(keys: &[&[u8]], walk: Walk, mode: MapOrder) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..keys.len()).collect();
    if keys.len() <= SMALL_MAP_LIMIT {
        idx.sort_by(|&a, &b| keys[a].cmp(keys[b]));
        return idx;
    }
    let mut ranked: Vec<(u64, usize)> = match mode {
        MapOrder::Otp27 => keys
            .iter()
            .enumerate()
            .map(|(i, k)| (swizzle64(otp27_hash(k)), i))
            .collect(),
        MapOrder::Otp25 => keys
            .iter()
            .enumerate()
            .map(|(i, k)| (u64::from(swizzle32(otp25_hash(k, 0))), i))
            .collect(),
    };
    ranked.sort_unstable_by(|&(ha, a), &(hb, b)| {
        ha.cmp(&hb).then_with(|| match mode {
            MapOrder::Otp27 => keys[a].cmp(keys[b]),
            MapOrder::Otp25 => otp25_tie(keys[a], keys[b]),
        })
    });
    idx.clear();
    idx.extend(ranked.iter().map(|&(_, i)| i));
    if walk == Walk::ToList {
        idx.reverse();
    }
    idx
}

/// `items` (one per distinct key) reordered as `walk` visits their map in the current mode.
/// Maps of up to 32 keys come back sorted by key.
pub fn in_walk_order<T>(items: Vec<T>, key: impl Fn(&T) -> &[u8], walk: Walk) -> Vec<T> {
    if items.len() <= SMALL_MAP_LIMIT {
        let mut items = items;
        if !items.windows(2).all(|w| key(&w[0]) < key(&w[1])) {
            items.sort_by(|a, b| key(a).cmp(key(b)));
        }
        return items;
    }
    let order = {
        let keys: Vec<&[u8]> = items.iter().map(&key).collect();
        walk_order(&keys, walk, mode())
    };
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// True when a map of `n` keys is walked in an order other than its sorted one.
#[inline]
pub fn is_hashed(n: usize) -> bool {
    n > SMALL_MAP_LIMIT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_maps_sort_and_large_maps_reverse() {
        let ks: Vec<Vec<u8>> = (0..40).map(|i| format!("k{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = ks.iter().map(|k| k.as_slice()).collect();
        for m in [MapOrder::Otp25, MapOrder::Otp27] {
            let f = walk_order(&refs, Walk::Fold, m);
            let mut l = walk_order(&refs, Walk::ToList, m);
            l.reverse();
            assert_eq!(f, l);
            let small = walk_order(&refs[..32], Walk::ToList, m);
            let mut sorted: Vec<usize> = (0..32).collect();
            sorted.sort_by(|&a, &b| refs[a].cmp(refs[b]));
            assert_eq!(small, sorted);
        }
        assert_eq!(
            otp25_hash(b"", 0),
            HCONST_13.wrapping_add(INTERNAL_HASH_SALT)
        );
    }

    /// Values of the pure-Python reference (itself checked against the VMs' orders of 300
    /// maps, tests/test_map_order.py): every tail length class of both hashes.
    #[test]
    fn hashes_match_the_reference() {
        let cases: [(&[u8], u32, u32, u64); 4] = [
            (b"", 0xd56f5bb6, 0x5461f230, 0xb7bab74dc2414312),
            (b"hello", 0x4a129aa5, 0x0280932f, 0xf005ef7d34b3d63d),
            (
                b"aaaaaaaaaaaaaaaaaaaa",
                0x8b719c8b,
                0x44e93a28,
                0xc54f8f523a9937de,
            ),
            (
                b"0123456789abcdefXYZ",
                0x3d7cb9d3,
                0x6aaa9a27,
                0xd9ea4a4725a1cbfa,
            ),
        ];
        for (k, h25, h25d1, h27) in cases {
            assert_eq!(otp25_hash(k, 0), h25);
            assert_eq!(otp25_hash(k, 1), h25d1);
            assert_eq!(otp27_hash(k), h27);
        }
    }
}

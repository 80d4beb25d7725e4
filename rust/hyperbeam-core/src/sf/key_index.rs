//! Duplicate-key resolution for dictionaries and parameter lists.

use std::collections::HashMap;

/// Where each key of a dictionary or parameter list sits. RFC 8941 §4.2.2/§4.2.3.2: a repeated
/// key overwrites the earlier value in place. Short lists are searched; longer ones get a hash
/// index, so parsing stays linear in the number of members (issue 11: a 1.4 MB `ao-types`).
#[derive(Default)]
pub(super) struct KeyIndex<'a> {
    map: Option<HashMap<&'a str, usize>>,
}

impl<'a> KeyIndex<'a> {
    /// Lists up to this long are searched linearly (no allocation for ordinary headers).
    const LINEAR_MAX: usize = 16;

    pub(super) fn upsert<V>(&mut self, list: &mut Vec<(&'a str, V)>, key: &'a str, value: V) {
        if self.map.is_none() && list.len() >= Self::LINEAR_MAX {
            self.map = Some(list.iter().enumerate().map(|(i, (k, _))| (*k, i)).collect());
        }
        let found = match &self.map {
            Some(map) => map.get(key).copied(),
            None => list.iter().position(|(k, _)| *k == key),
        };
        match found {
            Some(i) => list[i].1 = value,
            None => {
                if let Some(map) = &mut self.map {
                    map.insert(key, list.len());
                }
                list.push((key, value));
            }
        }
    }
}

//! Structured fields (RFC 8941/9651) as HyperBEAM's `hb_structured_fields` implements them
//! (spec core §1.6): parse and serialise items, lists, dictionaries, inner lists, parameters.
//! Files: `types` (the values), `chars` (character classes and limits), `parse`, `serialize`,
//! `key_index` (duplicate keys during parsing).

mod chars;
mod key_index;
mod parse;
mod serialize;
mod types;

pub use parse::{
    parse_dict, parse_dict_with, parse_item, parse_item_with, parse_list, parse_list_with, Builder,
};
pub use serialize::{
    decimal_from_f64, ser_bare, ser_bare_ref, ser_dict, ser_dict_key, ser_item, ser_list,
    ser_param, ser_string,
};
pub use types::{Bare, BareRef, Dict, InnerList, Item, List, Member, Params};

#[cfg(test)]
mod tests;

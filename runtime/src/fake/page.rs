//! `limit` and `continue`: a list in pages that all read one snapshot, as etcd serves every
//! page of a list at the revision of its first.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// How many paginated lists can be in progress; an older one's token expires (410), as a
/// compacted revision does.
const KEPT: usize = 64;

/// The paging parameters of a list request.
pub(super) struct Request {
    pub limit: Option<usize>,
    pub continue_from: Option<String>,
}

impl Request {
    pub fn new(query: &HashMap<String, String>) -> Result<Request, String> {
        let limit = match query.get("limit").map(|l| l.parse::<i64>()) {
            None => None,
            Some(Ok(n)) if n > 0 => Some(n as usize),
            // The real server reads 0 and below as "no limit".
            Some(Ok(_)) => None,
            Some(Err(_)) => return Err("limit must be an integer".into()),
        };
        let continue_from = query.get("continue").filter(|c| !c.is_empty()).cloned();
        Ok(Request { limit, continue_from })
    }
}

/// One page: the snapshot's resourceVersion, the items, and a continue token with the count of
/// items after this page when there are any.
pub(super) type Page<T> = (u64, Vec<T>, Option<(String, usize)>);

/// The snapshots of the paginated lists in progress, of items `T` (the server keeps each item
/// serialised once, shared: pages copy pointers, not objects).
pub(super) struct Snapshots<T> {
    next_id: u64,
    kept: VecDeque<(u64, u64, Arc<Vec<T>>)>,
}

impl<T> Default for Snapshots<T> {
    fn default() -> Self {
        Snapshots { next_id: 0, kept: VecDeque::new() }
    }
}

impl<T: Clone> Snapshots<T> {
    /// The first page of `items`, the collection as it is at `rv`.
    pub fn first(&mut self, rv: u64, items: Vec<T>, limit: Option<usize>) -> Page<T> {
        let Some(limit) = limit.filter(|l| *l < items.len()) else {
            return (rv, items, None);
        };
        self.next_id += 1;
        let id = self.next_id;
        let items = Arc::new(items);
        let page = items[..limit].to_vec();
        let remaining = items.len() - limit;
        self.kept.push_back((id, rv, items));
        if self.kept.len() > KEPT {
            self.kept.pop_front();
        }
        (rv, page, Some((make_token(id, rv, limit), remaining)))
    }

    /// The page a continue token points at, or why it cannot be read: a malformed token
    /// (`Err(false)`, 400) or an expired one (`Err(true)`, 410).
    pub fn read(&mut self, token: &str, limit: Option<usize>, compacted: u64) -> Result<Page<T>, (bool, String)> {
        let (id, rv, offset) =
            parse(token).map_err(|why| (false, format!("invalid continue token: continue key is not valid: {why}")))?;
        let expired = (
            true,
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.".to_owned(),
        );
        if rv < compacted {
            return Err(expired);
        }
        let at = self.kept.iter().position(|(i, r, _)| *i == id && *r == rv).ok_or(expired)?;
        let items = Arc::clone(&self.kept[at].2);
        let start = offset.min(items.len());
        let end = limit.map_or(items.len(), |l| (start + l).min(items.len()));
        let page = items[start..end].to_vec();
        if end == items.len() {
            self.kept.remove(at);
            return Ok((rv, page, None));
        }
        Ok((rv, page, Some((make_token(id, rv, end), items.len() - end))))
    }

    /// Forgets every snapshot: their tokens expire.
    pub fn clear(&mut self) {
        self.kept.clear();
    }
}

/// Tokens look like the real server's: base64 (URL alphabet, unpadded) of
/// `{"v":"meta.k8s.io/v1","rv":N,"start":"..."}`, where the real server's `start` is the next
/// key in etcd and this one's names the snapshot and the offset in it.
fn make_token(id: u64, rv: u64, offset: usize) -> String {
    use base64::Engine as _;
    let key = serde_json::json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{id}-{offset}")});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.to_string())
}

/// Go's base64 decoder as the server uses it: unpadded, trailing bits ignored.
const GO_RAW_URL: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// (snapshot id, resourceVersion, offset) of a token, or why it is not one, in the words of
/// Go's decoders where the real server passes theirs on.
fn parse(token: &str) -> Result<(u64, u64, usize), String> {
    use base64::Engine as _;
    let bytes = GO_RAW_URL.decode(token).map_err(|e| match e {
        base64::DecodeError::InvalidByte(at, _) | base64::DecodeError::InvalidLastSymbol(at, _) => {
            format!("illegal base64 data at input byte {at}")
        }
        _ => format!("illegal base64 data at input byte {}", token.len().saturating_sub(1)),
    })?;
    let key: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| match bytes.first() {
        Some(&b) if !b"{[\"tfn-0123456789 \t\r\n".contains(&b) => {
            format!("invalid character {} looking for beginning of value", go_quote_char(b))
        }
        _ => e.to_string(),
    })?;
    let start = key["start"].as_str().unwrap_or_default();
    let (id, offset) = start.split_once('-').ok_or_else(|| format!("no snapshot named {start:?}"))?;
    let parsed = (id.parse().ok(), key["rv"].as_u64(), offset.parse().ok());
    match parsed {
        (Some(id), Some(rv), Some(offset)) => Ok((id, rv, offset)),
        _ => Err(format!("no snapshot named {start:?}")),
    }
}

/// A byte as Go's JSON errors quote it: `'x'`, or `'\u0081'` for what is not printable.
fn go_quote_char(b: u8) -> String {
    let c = char::from(b);
    if c.is_ascii_graphic() || c == ' ' || (c as u32 >= 0xa1 && c as u32 != 0xad) {
        format!("'{c}'")
    } else if b < 0x80 {
        format!("'\\x{b:02x}'")
    } else {
        format!("'\\u{:04x}'", b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn pages_read_one_snapshot_and_expire() {
        let mut snapshots = Snapshots::<Value>::default();
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let (rv, page, next) = snapshots.first(7, items, Some(2));
        assert_eq!((rv, page), (7, vec![json!(0), json!(1)]));
        let (token, remaining) = next.unwrap();
        assert_eq!(remaining, 3);
        let (_, page, next) = snapshots.read(&token, Some(2), 0).unwrap();
        assert_eq!(page, vec![json!(2), json!(3)]);
        let (_, page, next) = snapshots.read(&next.unwrap().0, Some(2), 0).unwrap();
        assert_eq!((page, next), (vec![json!(4)], None));
        // The last page forgot the snapshot.
        assert!(snapshots.read(&token, Some(2), 0).unwrap_err().0);
        assert!(!snapshots.read("garbage", None, 0).unwrap_err().0);
        let (_, _, next) = snapshots.first(9, (0..3).map(|i| json!(i)).collect(), Some(1));
        assert!(snapshots.read(&next.unwrap().0, None, 10).unwrap_err().0, "compacted");
    }
}

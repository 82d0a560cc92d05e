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
        let parsed = parse(token).ok_or((false, format!("continue key is not valid: {token}")))?;
        let (id, rv, offset) = parsed;
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

fn make_token(id: u64, rv: u64, offset: usize) -> String {
    format!("{id}-{rv}-{offset}")
}

fn parse(token: &str) -> Option<(u64, u64, usize)> {
    let mut parts = token.split('-');
    let parsed = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    parts.next().is_none().then_some(parsed)
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

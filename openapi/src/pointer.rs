//! An RFC 6901 JSON pointer built up while walking a document.

/// A JSON pointer that grows and shrinks as a walker descends and returns.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pointer(String);

impl Pointer {
    pub fn new(root: &str) -> Pointer {
        Pointer(root.to_owned())
    }

    /// Appends one reference token, escaped, and returns the length to `truncate` back to.
    pub fn push(&mut self, token: &str) -> usize {
        let mark = self.0.len();
        self.0.push('/');
        self.0.push_str(&escape(token));
        mark
    }

    /// Appends an array index.
    pub fn push_index(&mut self, index: usize) -> usize {
        let mark = self.0.len();
        self.0.push('/');
        self.0.push_str(&index.to_string());
        mark
    }

    pub fn truncate(&mut self, mark: usize) {
        self.0.truncate(mark);
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Escapes one reference token (`~` -> `~0`, `/` -> `~1`).
pub(crate) fn escape(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains(['~', '/']) { token.replace('~', "~0").replace('/', "~1").into() } else { token.into() }
}

/// Decodes one escaped reference token.
pub(crate) fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_unwinds() {
        let mut p = Pointer::new("");
        let m = p.push("definitions");
        p.push("a/b~c");
        assert_eq!(p.as_str(), "/definitions/a~1b~0c");
        assert_eq!(unescape("a~1b~0c"), "a/b~c");
        p.truncate(m);
        p.push_index(3);
        assert_eq!(p.as_str(), "/3");
    }
}

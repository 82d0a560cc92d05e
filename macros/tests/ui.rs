//! The derive's errors, as a user sees them: every one at its span, with a suggestion where
//! there is one.

#[test]
fn errors() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}

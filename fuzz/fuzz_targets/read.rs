//! Any bytes into the reader: it must return a model or an error, never panic or overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kube_codegen_openapi::read_bytes(std::path::Path::new("fuzz-input"), data);
});

//! Any bytes the reader accepts must generate code without a panic, in both type modes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = kube_codegen_openapi::read_bytes(std::path::Path::new("fuzz-input"), data) else { return };
    for types in [kube_codegen::TypeMode::MapK8sOpenapi, kube_codegen::TypeMode::Generate] {
        let settings = kube_codegen::Settings { types, ..Default::default() };
        // An emitter bug shows as Error::Emit; every other result is fine here.
        if let Err(kube_codegen::Error::Emit { module, message }) = kube_codegen::generate(&model, &settings) {
            panic!("generated code for {module} does not parse: {message}");
        }
    }
});

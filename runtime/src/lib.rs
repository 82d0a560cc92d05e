//! What kube-codegen's generated code calls.
//!
//! Generated clients, listers and informers are thin typed facades; the behaviour they share
//! lives here once, generically. The typed clients, the listers and informers, and the
//! in-memory API server land with issues 4, 5 and 6.

//! Integration tests of the `tributary` binary's faces: the HTTP contract (in-process, `oneshot`), the
//! whole dev pipeline over the network, and crash recovery of the real process. One test binary.

mod crash;
mod deploy;
mod detect;
mod function_app;
mod health;
mod helpers;
mod host;
mod infra;
mod ingest_bounds;
mod ingest_contract;
mod ingest_validation;
mod openapi;
mod overload;
mod package;
mod pipeline;
mod property;
mod real;
mod set_aside;
mod settings;
mod simulate_verify;

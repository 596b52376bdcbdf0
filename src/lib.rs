//! The `tributary` binary's library: HTTP functions, trigger adapters, wiring and the CLI. Every face
//! (dev, and later native and Functions custom handler) builds its router with [`app::app`].

pub mod app;
pub mod check;
pub mod cli;
pub mod corpus;
pub mod dead_letters;
pub mod detect;
pub mod functions;
pub mod health;
pub mod host;
pub mod http_error;
pub mod overload;
pub mod package;
pub mod server;
pub mod settings;
mod settings_env;
pub mod simulate;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod triggers;
pub mod verify;

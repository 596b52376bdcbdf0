//! Entry point: parse the command line, set up logging, run the chosen command.

/// mimalloc: per-reading work allocates many small objects; with glibc malloc, allocator functions
/// took about 15 % of `tributary dev`'s samples in a `perf` profile under ingest load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    tributary::cli::main()
}

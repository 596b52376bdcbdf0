//! Entry point: parse the command line, set up logging, run the chosen command.

/// mimalloc: per-reading work allocates small objects at a high rate; glibc malloc showed up at ~15 %
/// of the dev pipeline's CPU in profiles (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    tributary::cli::main()
}

//! Entry point: parse the command line, set up logging, run the chosen command.

fn main() -> anyhow::Result<()> {
    tributary::cli::main()
}

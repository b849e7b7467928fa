#![deny(clippy::unwrap_used, clippy::expect_used)]

fn main() {
    let cli = callscope::cli::parse(std::env::args_os());
    std::process::exit(callscope::cli::run(cli));
}

fn main() {
    std::process::exit(callscope::cli::main());
}

//! `gatepass`: the terminal client. Everything lives in the library.

fn main() {
    std::process::exit(gatepass_client::cli::main());
}

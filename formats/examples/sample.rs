//! Writes the sample model (every storage kind and value type) to the path given as the only argument.
//!
//! `cargo run -p wolfpack-format --example sample -- OUT.wpk`

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: sample OUT.wpk");
        return ExitCode::from(2);
    };
    let path = std::path::PathBuf::from(path);
    match wolfpack_format::sample::sample_model().write(&path) {
        Ok(bytes) => {
            println!("wrote {} ({bytes} bytes)", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}

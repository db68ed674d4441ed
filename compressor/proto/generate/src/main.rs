//! Compiles `onnx.proto` with protox (pure Rust, no protoc) and writes prost's Rust types for it.
//! Usage: wolfpack-onnx-protogen PROTO_DIR OUT_DIR

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, proto_dir, out_dir] = args.as_slice() else {
        eprintln!("usage: wolfpack-onnx-protogen PROTO_DIR OUT_DIR");
        std::process::exit(2);
    };
    let fds = protox::compile(["onnx.proto"], [proto_dir]).unwrap_or_else(|e| {
        eprintln!("protox: {e}");
        std::process::exit(1);
    });
    prost_build::Config::new()
        .out_dir(out_dir)
        .compile_fds(fds)
        .unwrap_or_else(|e| {
            eprintln!("prost-build: {e}");
            std::process::exit(1);
        });
}

//! What the latency examples share: the real model and images they default to, read the same way.

/// The Fashion-MNIST test images of Debian's `dataset-fashion-mnist`.
pub const TEST_IMAGES: &str = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";

/// The pixels of an IDX image file (gzip or not) as f32, the first `count` images of `p` values: 1,000 images
/// are 3 MB of f32, out of L1/L2 as in `wolfpack bench`.
pub fn images(path: &str, p: usize, count: usize) -> Vec<f32> {
    let idx = wolfpack::data::idx::read(std::path::Path::new(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    idx.data
        .iter()
        .take(p * count)
        .map(|&b| f32::from(b))
        .collect()
}

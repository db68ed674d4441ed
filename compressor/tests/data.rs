//! Loading the real data sets the tool defaults to.

use wolfpack::data;

#[test]
fn default_dataset_is_fashion_mnist_or_digits() {
    let s = data::default_dataset().unwrap();
    if std::path::Path::new(data::FASHION_MNIST_DIR)
        .join("train-images-idx3-ubyte.gz")
        .is_file()
    {
        assert_eq!(
            (s.train.n, s.test.n, s.train.p, s.train.n_classes),
            (60_000, 10_000, 784, 10)
        );
        assert_eq!(s.train.labels[0], "T-shirt/top");
        // Balanced: 6,000 of each class in the training split.
        assert!((0..10).all(|c| s.train.y.iter().filter(|&&y| y == c).count() == 6_000));
    } else {
        assert_eq!((s.train.n, s.test.n, s.train.p), (1437, 360, 64));
    }
    assert!(s.train.x.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn unknown_folder_layout_is_a_named_error() {
    let d = tempfile::tempdir().unwrap();
    let e = data::load_dir(d.path()).unwrap_err().to_string();
    assert!(
        e.contains(&d.path().display().to_string()) && e.contains("missing data files"),
        "{e}"
    );
    let e = data::load_dir(&d.path().join("nope"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("nope") && e.contains("missing data folder"),
        "{e}"
    );
}

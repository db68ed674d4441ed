//! CSV data: one example per line, the label first, then the features. An optional header line (any line whose
//! feature fields are not all numbers) is skipped. Labels may be integers (used as class indices) or names (classes
//! numbered in sorted order).

use super::{DataError, Dataset, Preprocess, Splits};
use std::path::Path;

/// Raw rows of a CSV file: label strings and unscaled features.
struct Raw {
    labels: Vec<String>,
    x: Vec<f32>,
    p: usize,
}

fn read_raw(path: &Path) -> Result<Raw, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DataError::Missing {
            path: path.to_path_buf(),
            what: "CSV file",
        },
        _ => DataError::io(path, e),
    })?;
    let mut raw = Raw {
        labels: Vec::new(),
        x: Vec::new(),
        p: 0,
    };
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split(',').map(str::trim);
        let label = fields.next().unwrap_or_default();
        let start = raw.x.len();
        let mut bad = None;
        for f in fields {
            match f.parse::<f32>() {
                Ok(v) if v.is_nan() => {
                    return Err(DataError::invalid(
                        path,
                        format!("line {}: NaN among the features", lineno + 1),
                    ))
                }
                Ok(v) if v.is_infinite() => {
                    return Err(DataError::invalid(
                        path,
                        format!("line {}: infinite feature value", lineno + 1),
                    ))
                }
                Ok(v) => raw.x.push(v),
                Err(_) => {
                    bad = Some(f.to_string());
                    break;
                }
            }
        }
        if let Some(f) = bad {
            if raw.labels.is_empty() && start == 0 {
                raw.x.clear(); // a header line
                continue;
            }
            return Err(DataError::invalid(
                path,
                format!("line {}: feature {f:?} is not a number", lineno + 1),
            ));
        }
        let p = raw.x.len() - start;
        if raw.labels.is_empty() {
            if p == 0 {
                return Err(DataError::invalid(
                    path,
                    format!("line {}: no features after the label", lineno + 1),
                ));
            }
            raw.p = p;
        } else if p != raw.p {
            return Err(DataError::invalid(
                path,
                format!(
                    "line {}: {p} features where earlier lines have {}",
                    lineno + 1,
                    raw.p
                ),
            ));
        }
        raw.labels.push(label.to_string());
    }
    if raw.labels.is_empty() {
        return Err(DataError::invalid(path, "no examples"));
    }
    Ok(raw)
}

/// The class index of every label and the class names: integers as themselves, else names in sorted order.
fn classes(all: &[&str]) -> (Vec<String>, impl Fn(&str) -> u32) {
    let numeric = all
        .iter()
        .all(|l| l.parse::<u32>().is_ok_and(|c| c < 65_536));
    let mut names: Vec<String> = if numeric {
        let k = all
            .iter()
            .map(|l| l.parse::<u32>().unwrap_or(0) + 1)
            .max()
            .unwrap_or(1);
        (0..k).map(|c| c.to_string()).collect()
    } else {
        let mut v: Vec<String> = all.iter().map(|s| s.to_string()).collect();
        v.sort();
        v.dedup();
        v
    };
    names.shrink_to_fit();
    let lookup = names.clone();
    let f = move |l: &str| {
        if numeric {
            l.parse::<u32>().unwrap_or(0)
        } else {
            lookup
                .binary_search_by(|n| n.as_str().cmp(l))
                .map(|i| i as u32)
                .unwrap_or(0)
        }
    };
    (names, f)
}

/// Loads `train.csv` and `test.csv` from `dir`; features are min-max scaled with the training range.
pub fn load_dir(dir: &Path) -> Result<Splits, DataError> {
    let (ptr, pte) = (dir.join("train.csv"), dir.join("test.csv"));
    let tr = read_raw(&ptr)?;
    let te = read_raw(&pte)?;
    if tr.p != te.p {
        return Err(DataError::invalid(
            &pte,
            format!("{} features but train.csv has {}", te.p, tr.p),
        ));
    }
    let all: Vec<&str> = tr
        .labels
        .iter()
        .chain(&te.labels)
        .map(String::as_str)
        .collect();
    let (names, class_of) = classes(&all);
    let (lo, hi) =
        tr.x.iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
    let pre = Preprocess::min_max(lo, hi);
    let make = |raw: &Raw| Dataset {
        n: raw.labels.len(),
        p: raw.p,
        x: raw.x.iter().map(|&v| pre.apply(v)).collect(),
        y: raw.labels.iter().map(|l| class_of(l)).collect(),
        n_classes: names.len(),
        labels: names.clone(),
        preprocess: pre,
    };
    let (train, test) = (make(&tr), make(&te));
    train.validate(&ptr)?;
    test.validate(&pte)?;
    Splits {
        name: dir.display().to_string(),
        train,
        test,
    }
    .check_compatible(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(train: &str, test: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("train.csv"), train).unwrap();
        std::fs::write(d.path().join("test.csv"), test).unwrap();
        d
    }

    #[test]
    fn header_numeric_labels_and_scaling() {
        let d = folder("label,a,b\n1,0,10\n0,5,0\n", "2,10,5\n");
        let s = load_dir(d.path()).unwrap();
        assert_eq!(s.train.y, vec![1, 0]);
        assert_eq!(s.train.n_classes, 3);
        assert_eq!(s.train.x, vec![0.0, 1.0, 0.5, 0.0]);
        assert_eq!(s.test.x, vec![1.0, 0.5]);
    }

    #[test]
    fn named_labels_are_sorted() {
        let d = folder("cat,1\ndog,2\n", "ant,3\n");
        let s = load_dir(d.path()).unwrap();
        assert_eq!(s.train.labels, vec!["ant", "cat", "dog"]);
        assert_eq!(s.train.y, vec![1, 2]);
        assert_eq!(s.test.y, vec![0]);
    }

    #[test]
    fn nan_and_ragged_rows_are_named() {
        let d = folder("1,0,nan\n", "1,0,0\n");
        let e = load_dir(d.path()).unwrap_err().to_string();
        assert!(
            e.contains("train.csv") && e.contains("line 1") && e.contains("NaN"),
            "{e}"
        );
        let d = folder("1,0,1\n0,1\n", "1,0,0\n");
        let e = load_dir(d.path()).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("1 features"), "{e}");
        let d = folder("1,0,1\n", "1,0\n");
        assert!(load_dir(d.path())
            .unwrap_err()
            .to_string()
            .contains("test.csv"));
        let d = folder("1,0,1\n0,x,1\n", "1,0,0\n");
        assert!(load_dir(d.path())
            .unwrap_err()
            .to_string()
            .contains("not a number"));
    }

    #[test]
    fn empty_or_missing_files() {
        let d = folder("", "1,0\n");
        assert!(load_dir(d.path())
            .unwrap_err()
            .to_string()
            .contains("no examples"));
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("train.csv"), "1,0\n").unwrap();
        assert!(load_dir(d.path())
            .unwrap_err()
            .to_string()
            .contains("missing"));
    }
}

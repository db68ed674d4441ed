//! Reading and writing ONNX `TensorProto`s: the data of initializers and constants, in f32, i64 or strings.

use super::proto::{tensor_proto::DataType, TensorProto};
use super::OnnxError;

/// The values of a constant tensor, converted to one of the three kinds MLP graphs use.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ConstData {
    /// FLOAT tensors.
    F32(Vec<f32>),
    /// INT64, INT32 and BOOL tensors (shapes, axes, class ids).
    I64(Vec<i64>),
    /// STRING tensors (class names).
    Str(Vec<String>),
}

/// A constant tensor: its shape and values (row-major).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Const {
    pub dims: Vec<usize>,
    pub data: ConstData,
}

impl Const {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            ConstData::F32(v) => v.len(),
            ConstData::I64(v) => v.len(),
            ConstData::Str(v) => v.len(),
        }
    }

    /// The values as f32, when the tensor is FLOAT.
    pub fn f32(&self) -> Option<&[f32]> {
        match &self.data {
            ConstData::F32(v) => Some(v),
            _ => None,
        }
    }

    /// The values as i64, when the tensor holds integers.
    pub fn i64(&self) -> Option<&[i64]> {
        match &self.data {
            ConstData::I64(v) => Some(v),
            _ => None,
        }
    }

    /// The values as class names (strings as they are, integers in decimal).
    pub fn names(&self) -> Option<Vec<String>> {
        match &self.data {
            ConstData::Str(v) => Some(v.clone()),
            ConstData::I64(v) => Some(v.iter().map(i64::to_string).collect()),
            ConstData::F32(_) => None,
        }
    }
}

fn le_chunks<'a, const W: usize>(
    raw: &'a [u8],
    what: &str,
) -> Result<impl Iterator<Item = [u8; W]> + 'a, OnnxError> {
    if !raw.len().is_multiple_of(W) {
        return Err(OnnxError::Graph(format!(
            "tensor {what:?}: raw_data has {} bytes, not a multiple of {W}",
            raw.len()
        )));
    }
    Ok(raw
        .chunks_exact(W)
        .map(|c| <[u8; W]>::try_from(c).expect("chunks_exact yields W bytes")))
}

/// Decodes a tensor's values (raw little-endian bytes or the typed repeated fields) and checks the count.
pub(crate) fn read_tensor(t: &TensorProto) -> Result<Const, OnnxError> {
    let name = t.name.as_deref().unwrap_or("");
    let bad = |problem: String| OnnxError::Graph(format!("tensor {name:?}: {problem}"));
    if !t.external_data.is_empty() || t.data_location == Some(1) {
        return Err(bad(
            "its data is stored in an external file, which is not supported (save the model with its \
             weights inside)"
                .into(),
        ));
    }
    let dims = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| bad(format!("negative dimension {d}"))))
        .collect::<Result<Vec<usize>, _>>()?;
    let count = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad("dimensions overflow".into()))?;
    let raw = t.raw_data.as_deref();
    let dtype = t.data_type.unwrap_or(0);
    let data = match DataType::try_from(dtype) {
        Ok(DataType::Float) => ConstData::F32(match raw {
            Some(r) => le_chunks::<4>(r, name)?.map(f32::from_le_bytes).collect(),
            None => t.float_data.clone(),
        }),
        Ok(DataType::Int64) => ConstData::I64(match raw {
            Some(r) => le_chunks::<8>(r, name)?.map(i64::from_le_bytes).collect(),
            None => t.int64_data.clone(),
        }),
        Ok(DataType::Int32) => ConstData::I64(match raw {
            Some(r) => le_chunks::<4>(r, name)?
                .map(|b| i64::from(i32::from_le_bytes(b)))
                .collect(),
            None => t.int32_data.iter().map(|&v| i64::from(v)).collect(),
        }),
        Ok(DataType::Bool) => ConstData::I64(match raw {
            Some(r) => r.iter().map(|&b| i64::from(b != 0)).collect(),
            None => t.int32_data.iter().map(|&v| i64::from(v != 0)).collect(),
        }),
        Ok(DataType::String) => ConstData::Str(
            t.string_data
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect(),
        ),
        Ok(other) => {
            return Err(bad(format!(
                "data type {} is not supported (float weights are required)",
                other.as_str_name()
            )))
        }
        Err(_) => return Err(bad(format!("unknown data type code {dtype}"))),
    };
    let c = Const { dims, data };
    if c.len() != count {
        return Err(bad(format!(
            "{} values stored for shape {:?}",
            c.len(),
            c.dims
        )));
    }
    Ok(c)
}

/// A FLOAT tensor named `name` with shape `dims` and row-major `values`, stored as raw little-endian bytes.
pub(crate) fn f32_tensor(name: &str, dims: &[usize], values: &[f32]) -> TensorProto {
    debug_assert_eq!(dims.iter().product::<usize>(), values.len());
    TensorProto {
        name: Some(name.to_string()),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(DataType::Float as i32),
        raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..TensorProto::default()
    }
}

/// An INT64 tensor.
pub(crate) fn i64_tensor(name: &str, dims: &[usize], values: &[i64]) -> TensorProto {
    debug_assert_eq!(dims.iter().product::<usize>(), values.len());
    TensorProto {
        name: Some(name.to_string()),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(DataType::Int64 as i32),
        raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..TensorProto::default()
    }
}

/// A BOOL tensor.
pub(crate) fn bool_tensor(name: &str, dims: &[usize], values: &[bool]) -> TensorProto {
    TensorProto {
        name: Some(name.to_string()),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(DataType::Bool as i32),
        raw_data: Some(values.iter().map(|&b| u8::from(b)).collect()),
        ..TensorProto::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_and_typed_fields_decode_alike() {
        let raw = f32_tensor("w", &[2, 2], &[1.0, -2.0, 3.5, 0.0]);
        let typed = TensorProto {
            name: Some("w".into()),
            dims: vec![2, 2],
            data_type: Some(DataType::Float as i32),
            float_data: vec![1.0, -2.0, 3.5, 0.0],
            ..TensorProto::default()
        };
        assert_eq!(read_tensor(&raw).unwrap(), read_tensor(&typed).unwrap());
        let ints = read_tensor(&i64_tensor("s", &[3], &[-1, 0, 7])).unwrap();
        assert_eq!(ints.i64(), Some(&[-1, 0, 7][..]));
        assert_eq!(ints.names().unwrap(), ["-1", "0", "7"]);
        let flags = read_tensor(&bool_tensor("b", &[2], &[true, false])).unwrap();
        assert_eq!(flags.i64(), Some(&[1, 0][..]));
    }

    #[test]
    fn bad_tensors_are_errors_naming_the_tensor() {
        let mut short = f32_tensor("w", &[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        short.raw_data.as_mut().unwrap().pop();
        assert!(read_tensor(&short)
            .unwrap_err()
            .to_string()
            .contains("\"w\""));
        let mut count = f32_tensor("w", &[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        count.dims = vec![3, 2];
        assert!(read_tensor(&count)
            .unwrap_err()
            .to_string()
            .contains("4 values"));
        let mut double = f32_tensor("d", &[1], &[1.0]);
        double.data_type = Some(DataType::Double as i32);
        assert!(read_tensor(&double)
            .unwrap_err()
            .to_string()
            .contains("DOUBLE"));
        let mut negative = f32_tensor("n", &[1], &[1.0]);
        negative.dims = vec![-1];
        assert!(read_tensor(&negative).is_err());
    }
}

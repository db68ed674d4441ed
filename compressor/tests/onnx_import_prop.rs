//! Property test of `import-onnx` against a naive reference: random MLPs written as ONNX graphs in the ways
//! exporters write linear layers (Gemm with or without transB, alpha and beta; MatMul + Add with the bias on
//! either side), imported and run by the runtime, must give the outputs of a plain f64 forward pass.

use proptest::prelude::*;
use prost::Message;
use wolfpack::onnx::proto::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto,
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use wolfpack::onnx::{import_model, ImportOptions};
use wolfpack_runtime::{Model, Session};

/// How one linear layer is written.
#[derive(Debug, Clone, Copy)]
enum Style {
    Gemm {
        trans_b: bool,
        alpha: f32,
        beta: f32,
    },
    MatMulAdd {
        bias_first: bool,
    },
}

#[derive(Debug, Clone)]
struct Layer {
    /// Row-major `out x in`.
    w: Vec<f32>,
    b: Vec<f32>,
    out: usize,
    style: Style,
}

fn tensor(name: &str, dims: &[usize], v: &[f32]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(DataType::Float as i32),
        float_data: v.to_vec(),
        ..Default::default()
    }
}

fn io(name: &str, width: usize) -> ValueInfoProto {
    let dim = |v| tensor_shape_proto::Dimension {
        value: Some(v),
        ..Default::default()
    };
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(DataType::Float as i32),
                shape: Some(TensorShapeProto {
                    dim: vec![
                        dim(tensor_shape_proto::dimension::Value::DimParam("N".into())),
                        dim(tensor_shape_proto::dimension::Value::DimValue(width as i64)),
                    ],
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn attr_i(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(v),
        ..Default::default()
    }
}

fn attr_f(name: &str, v: f32) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Float as i32),
        f: Some(v),
        ..Default::default()
    }
}

fn node(
    op: &str,
    name: &str,
    inputs: &[&str],
    output: &str,
    attribute: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: Some(name.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute,
        ..Default::default()
    }
}

fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols)
        .flat_map(|j| (0..rows).map(move |i| w[i * cols + j]))
        .collect()
}

/// The ONNX graph of `layers` (ReLU between layers, none after the last).
fn graph(p: usize, layers: &[Layer]) -> Vec<u8> {
    let (mut nodes, mut inits) = (Vec::new(), Vec::new());
    let mut x = "input".to_string();
    let mut fan_in = p;
    for (k, l) in layers.iter().enumerate() {
        let (w, b, out) = (format!("w{k}"), format!("b{k}"), format!("z{k}"));
        inits.push(tensor(&b, &[l.out], &l.b));
        match l.style {
            Style::Gemm {
                trans_b,
                alpha,
                beta,
            } => {
                // Gemm computes alpha * x W' + beta * b: store W / alpha and b / beta so the layer is (W, b).
                let ws: Vec<f32> = l.w.iter().map(|v| v / alpha).collect();
                let bs: Vec<f32> = l.b.iter().map(|v| v / beta).collect();
                inits.pop();
                inits.push(tensor(&b, &[l.out], &bs));
                if trans_b {
                    inits.push(tensor(&w, &[l.out, fan_in], &ws));
                } else {
                    inits.push(tensor(&w, &[fan_in, l.out], &transpose(&ws, l.out, fan_in)));
                }
                let attrs = vec![
                    attr_i("transB", i64::from(trans_b)),
                    attr_f("alpha", alpha),
                    attr_f("beta", beta),
                ];
                nodes.push(node(
                    "Gemm",
                    &format!("gemm{k}"),
                    &[&x, &w, &b],
                    &out,
                    attrs,
                ));
            }
            Style::MatMulAdd { bias_first } => {
                inits.push(tensor(
                    &w,
                    &[fan_in, l.out],
                    &transpose(&l.w, l.out, fan_in),
                ));
                let mm = format!("mm{k}");
                nodes.push(node(
                    "MatMul",
                    &format!("matmul{k}"),
                    &[&x, &w],
                    &mm,
                    vec![],
                ));
                let ins: [&str; 2] = if bias_first { [&b, &mm] } else { [&mm, &b] };
                nodes.push(node("Add", &format!("add{k}"), &ins, &out, vec![]));
            }
        }
        x = out;
        if k + 1 < layers.len() {
            let h = format!("h{k}");
            nodes.push(node("Relu", &format!("relu{k}"), &[&x], &h, vec![]));
            x = h;
        }
        fan_in = l.out;
    }
    nodes.push(node("Identity", "out", &[&x], "y", vec![]));
    let model = ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(17),
        }],
        graph: Some(GraphProto {
            node: nodes,
            initializer: inits,
            input: vec![io("input", p)],
            output: vec![io("y", fan_in)],
            ..Default::default()
        }),
        ..Default::default()
    };
    model.encode_to_vec()
}

/// The naive forward pass in f64 (the layer's W and b as written, not as rescaled for Gemm).
fn reference(layers: &[Layer], u: &[f32]) -> Vec<f64> {
    let mut x: Vec<f64> = u.iter().map(|&v| f64::from(v)).collect();
    for (k, l) in layers.iter().enumerate() {
        let fan_in = x.len();
        let mut z: Vec<f64> = (0..l.out)
            .map(|i| {
                f64::from(l.b[i])
                    + (0..fan_in)
                        .map(|j| f64::from(l.w[i * fan_in + j]) * x[j])
                        .sum::<f64>()
            })
            .collect();
        if k + 1 < layers.len() {
            z.iter_mut().for_each(|v| *v = v.max(0.0));
        }
        x = z;
    }
    x
}

fn style() -> impl Strategy<Value = Style> {
    prop_oneof![
        (
            any::<bool>(),
            prop_oneof![Just(1.0f32), Just(0.5), Just(2.0)],
            prop_oneof![Just(1.0f32), Just(0.25)]
        )
            .prop_map(|(trans_b, alpha, beta)| Style::Gemm {
                trans_b,
                alpha,
                beta
            }),
        any::<bool>().prop_map(|bias_first| Style::MatMulAdd { bias_first }),
    ]
}

/// `(p, layers)`: 1 to 4 layers of widths 1 to 7 on 1 to 6 inputs.
fn mlp() -> impl Strategy<Value = (usize, Vec<Layer>)> {
    (
        1usize..=6,
        prop::collection::vec((1usize..=7, style()), 1..=4),
    )
        .prop_flat_map(|(p, shapes)| {
            let mut fan_in = p;
            let layers: Vec<_> = shapes
                .into_iter()
                .map(|(out, style)| {
                    let n = out * fan_in;
                    fan_in = out;
                    (
                        prop::collection::vec(-1.0f32..1.0, n),
                        prop::collection::vec(-0.5f32..0.5, out),
                    )
                        .prop_map(move |(w, b)| Layer { w, b, out, style })
                })
                .collect();
            (Just(p), layers)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn imported_mlp_equals_the_naive_forward_pass(
        (p, layers) in mlp(),
        raw in prop::collection::vec(-2.0f32..2.0, 3 * 6),
    ) {
        let bytes = graph(p, &layers);
        let imported = import_model(&bytes, &ImportOptions::default()).unwrap();
        prop_assert_eq!(imported.layers.len(), layers.len() - 1);
        let wpk = imported.model.to_bytes().unwrap();
        let model = Model::from_bytes(&wpk).unwrap();
        prop_assert!(model.structure().triangular);
        let q = layers.last().unwrap().out;
        let batch = 3;
        let u = &raw[..batch * p];
        let mut y = vec![0.0f32; batch * q];
        Session::with_batch(&model, batch).predict_batch(&model, u, batch, &mut y).unwrap();
        for s in 0..batch {
            let want = reference(&layers, &u[s * p..(s + 1) * p]);
            for (i, (&got, &w)) in y[s * q..(s + 1) * q].iter().zip(&want).enumerate() {
                prop_assert!((f64::from(got) - w).abs() <= 1e-4 * w.abs().max(1.0),
                    "sample {} output {}: {} vs reference {}", s, i, got, w);
            }
        }
    }
}

//! Export of `.wpk` implicit models as standard ONNX graphs (opset 17, default domain only).
//!
//! The exported graph computes the model's output `y = C x + D u + c` for an input `u` of shape `[batch, p]`,
//! with the model's preprocessing `(u * scale - mean) / std` in front. How the hidden state
//! `x = relu(A x + B u + b)` is computed depends on what the `.wpk` reader proved about `A`:
//!
//! * **`A = 0`**: `x = relu(B u + b)`, one `Gemm`.
//! * **Strictly triangular under the evaluation order** (feed-forward networks, imported MLPs): the hidden
//!   units are grouped into *levels* (level of a unit = 1 + the highest level it reads through `A`, 0 when it
//!   reads none), and each level is one `Gemm` of the levels it reads plus its `B u + b`, then `Relu`. This is
//!   exact (no iteration) and, for an MLP, reproduces the original layers.
//! * **A contraction** (`||A||_inf <= kappa < 1`): the Picard iteration `x_{k+1} = relu(A x_k + B u + b)` from
//!   `x_0 = relu(B u + b)` (El Ghaoui et al., "Implicit Deep Learning", 2021, section 3), either as an ONNX `Loop`
//!   that stops, like the runtime, once `max |x_{k+1} - x_k| <= tolerance` (at most `max_iterations` steps, both
//!   from the model's solver defaults), or unrolled for a fixed number of steps ([`ExportOptions::unroll`]):
//!   `kappa^k ||x_0 - x*||_inf` bounds the error after `k` steps.
//!
//! Matrices are written as dense float initializers (standard and fast in every ONNX runtime; sparse storage
//! is lost, so an `n x p` matrix costs `4 n p` bytes whatever its nonzero count; [`Exported::weight_bytes`]).

use prost::Message;
use wolfpack_format::{MatrixView, ModelView};

use super::proto::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto,
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use super::tensor::{bool_tensor, f32_tensor, i64_tensor};
use super::OnnxError;

/// The ONNX opset the exporter targets.
pub const OPSET: i64 = 17;

/// Name of the exported graph's input (`[batch, p]`, float).
pub const INPUT: &str = "input";
/// Name of the exported graph's output (`[batch, q]`, float): the model's `y`.
pub const OUTPUT: &str = "output";

/// How to export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// For a non-triangular `A`: unroll this many Picard steps instead of writing a `Loop`.
    pub unroll: Option<u32>,
}

/// How the exported graph computes the hidden state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HiddenScheme {
    /// `A = 0`: one layer.
    Direct,
    /// Exact block sweep of a triangular `A` in this many levels.
    Sweep {
        /// Number of levels (layers).
        levels: usize,
    },
    /// An ONNX `Loop` of Picard steps with a convergence test.
    Loop {
        /// Trip count cap.
        max_iterations: u32,
        /// Stop once `max |x_{k+1} - x_k| <=` this.
        tolerance: f32,
    },
    /// A fixed number of unrolled Picard steps.
    Unrolled {
        /// Steps after `x_0 = relu(B u + b)`.
        iterations: u32,
    },
}

/// An exported model.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The ONNX model.
    pub model: ModelProto,
    /// How it computes the hidden state.
    pub scheme: HiddenScheme,
    /// Bytes of float initializers (the dense weights).
    pub weight_bytes: usize,
}

impl Exported {
    /// The protobuf encoding (what a `.onnx` file holds).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.model.encode_to_vec()
    }
}

/// Dense copy of a stored matrix, or zeros when absent.
fn dense(m: Option<&MatrixView>, rows: usize, cols: usize) -> Vec<f32> {
    m.map_or_else(|| vec![0.0; rows * cols], MatrixView::to_dense)
}

/// Accumulates nodes and initializers with unique names.
#[derive(Default)]
struct Graph {
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    count: usize,
}

fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(v),
        ..Default::default()
    }
}

fn attr_graph(name: &str, g: GraphProto) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Graph as i32),
        g: Some(g),
        ..Default::default()
    }
}

fn value_info(name: &str, elem: DataType, dims: &[Option<i64>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(match d {
                Some(v) => tensor_shape_proto::dimension::Value::DimValue(*v),
                None => tensor_shape_proto::dimension::Value::DimParam("batch".into()),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem as i32),
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

impl Graph {
    fn name(&mut self, base: &str) -> String {
        self.count += 1;
        format!("{base}_{}", self.count)
    }

    fn node(&mut self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        let out = self.name(&op.to_lowercase());
        self.nodes.push(NodeProto {
            op_type: Some(op.into()),
            name: Some(out.clone()),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            attribute: attrs,
            ..Default::default()
        });
        out
    }

    fn f32(&mut self, base: &str, dims: &[usize], values: &[f32]) -> String {
        let name = self.name(base);
        self.inits.push(f32_tensor(&name, dims, values));
        name
    }

    /// `x W^T + bias` with `W` row-major `out x in` (Gemm with transB = 1, like torch's Linear).
    fn linear(&mut self, x: &str, w: &[f32], out: usize, fan_in: usize, bias: &str) -> String {
        let w = self.f32("weight", &[out, fan_in], w);
        self.node("Gemm", &[x, &w, bias], vec![attr_int("transB", 1)])
    }
}

/// Rows `rows` and columns `cols` of a row-major matrix with `ncols` columns.
fn submatrix(m: &[f32], ncols: usize, rows: &[usize], cols: &[usize]) -> Vec<f32> {
    rows.iter()
        .flat_map(|&i| cols.iter().map(move |&j| m[i * ncols + j]))
        .collect()
}

/// Levels of a strictly triangular `A` under `order`: level of unit i = 1 + max level of the units it reads.
fn levels(a: &[f32], n: usize, order: &[usize]) -> Vec<Vec<usize>> {
    let mut level = vec![0usize; n];
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for &i in order {
        let l = (0..n)
            .filter(|&j| a[i * n + j] != 0.0)
            .map(|j| level[j] + 1)
            .max()
            .unwrap_or(0);
        level[i] = l;
        if groups.len() <= l {
            groups.resize(l + 1, Vec::new());
        }
        groups[l].push(i);
    }
    groups
}

/// Writes the ONNX graph of a validated model.
pub fn export_model(view: &ModelView, options: &ExportOptions) -> Result<Exported, OnnxError> {
    let meta = &view.meta;
    let (n, p, q) = (
        meta.dims.hidden as usize,
        meta.dims.inputs as usize,
        meta.dims.outputs as usize,
    );
    let a = view
        .a
        .as_ref()
        .map(MatrixView::to_dense)
        .filter(|a| a.iter().any(|v| *v != 0.0));
    let b = dense(view.b.as_ref(), n, p);
    let c = dense(view.c.as_ref(), q, n);
    let d = view.d.as_ref().map(MatrixView::to_dense);
    let bias_x = view.bias_x.map_or_else(|| vec![0.0; n], <[f32]>::to_vec);
    let bias_y = view.bias_y.map_or_else(|| vec![0.0; q], <[f32]>::to_vec);
    let mut g = Graph::default();

    // Preprocessing, exactly as the runtime applies it: (u * scale - mean) / std.
    let mut u = INPUT.to_string();
    let pre = &meta.preprocessing;
    if pre.scale != 1.0 {
        let s = g.f32("scale", &[], &[pre.scale]);
        u = g.node("Mul", &[&u, &s], vec![]);
    }
    for (op, v) in [("Sub", &pre.mean), ("Div", &pre.std)] {
        if !v.is_empty() {
            let t = g.f32(&op.to_lowercase(), &[v.len()], v);
            u = g.node(op, &[&u, &t], vec![]);
        }
    }

    // The hidden state as (units, tensor) pieces, for y = C x.
    let mut pieces: Vec<(Vec<usize>, String)> = Vec::new();
    let scheme = match (&a, view.structure.triangular && options.unroll.is_none()) {
        (None, _) => {
            let bx = g.f32("bias", &[n], &bias_x);
            let z = g.linear(&u, &b, n, p, &bx);
            pieces.push(((0..n).collect(), g.node("Relu", &[&z], vec![])));
            HiddenScheme::Direct
        }
        (Some(a), true) => {
            let order: Vec<usize> = view.order.map_or_else(
                || (0..n).collect(),
                |o| o.iter().map(|&i| i as usize).collect(),
            );
            let groups = levels(a, n, &order);
            for (l, units) in groups.iter().enumerate() {
                let bl: Vec<f32> = units.iter().map(|&i| bias_x[i]).collect();
                let bl = g.f32("bias", &[units.len()], &bl);
                let all: Vec<usize> = (0..p).collect();
                let wb = submatrix(&b, p, units, &all);
                // B u + b for this level, or just b when the level does not read the input.
                let reads_input = wb.iter().any(|v| *v != 0.0);
                let zl = if reads_input {
                    g.linear(&u, &wb, units.len(), p, &bl)
                } else {
                    bl
                };
                // Earlier levels this one reads through A.
                let deps: Vec<usize> = (0..l)
                    .filter(|&m| {
                        units
                            .iter()
                            .any(|&i| pieces[m].0.iter().any(|&j| a[i * n + j] != 0.0))
                    })
                    .collect();
                let pre_act = if deps.is_empty() {
                    if !reads_input {
                        // A constant level: broadcast its bias over the batch through a zero weight.
                        g.linear(&u, &vec![0.0; units.len() * p], units.len(), p, &zl)
                    } else {
                        zl
                    }
                } else {
                    let cols: Vec<usize> = deps
                        .iter()
                        .flat_map(|&m| pieces[m].0.iter().copied())
                        .collect();
                    let names: Vec<&str> = deps.iter().map(|&m| pieces[m].1.as_str()).collect();
                    let xd = if names.len() == 1 {
                        names[0].to_string()
                    } else {
                        g.node("Concat", &names, vec![attr_int("axis", 1)])
                    };
                    let wa = submatrix(a, n, units, &cols);
                    g.linear(&xd, &wa, units.len(), cols.len(), &zl)
                };
                let x = g.node("Relu", &[&pre_act], vec![]);
                pieces.push((units.clone(), x));
            }
            HiddenScheme::Sweep {
                levels: groups.len(),
            }
        }
        (Some(a), false) => {
            let bx = g.f32("bias", &[n], &bias_x);
            let z = g.linear(&u, &b, n, p, &bx);
            let mut x = g.node("Relu", &[&z], vec![]);
            let wa = g.f32("weight", &[n, n], a);
            let scheme = match options.unroll {
                Some(k) => {
                    for _ in 0..k {
                        let t = g.node("Gemm", &[&x, &wa, &z], vec![attr_int("transB", 1)]);
                        x = g.node("Relu", &[&t], vec![]);
                    }
                    HiddenScheme::Unrolled { iterations: k }
                }
                None => {
                    let (max_iterations, tolerance) =
                        (meta.solver.max_iterations, meta.solver.tolerance);
                    let body = picard_body(&wa, &z, n, tolerance);
                    let trips = g.name("max_trips");
                    g.inits
                        .push(i64_tensor(&trips, &[], &[i64::from(max_iterations)]));
                    let cond = g.name("cond");
                    g.inits.push(bool_tensor(&cond, &[], &[true]));
                    x = g.node("Loop", &[&trips, &cond, &x], vec![attr_graph("body", body)]);
                    HiddenScheme::Loop {
                        max_iterations,
                        tolerance,
                    }
                }
            };
            pieces.push(((0..n).collect(), x));
            scheme
        }
    };

    // y = C x + D u + c, reading only the pieces C actually uses.
    let by = g.f32("bias", &[q], &bias_y);
    let used: Vec<usize> = (0..pieces.len())
        .filter(|&k| {
            pieces[k]
                .0
                .iter()
                .any(|&j| (0..q).any(|i| c[i * n + j] != 0.0))
        })
        .collect();
    let mut y = if used.is_empty() {
        None
    } else {
        let cols: Vec<usize> = used
            .iter()
            .flat_map(|&k| pieces[k].0.iter().copied())
            .collect();
        let names: Vec<&str> = used.iter().map(|&k| pieces[k].1.as_str()).collect();
        let xc = if names.len() == 1 {
            names[0].to_string()
        } else {
            g.node("Concat", &names, vec![attr_int("axis", 1)])
        };
        let rows: Vec<usize> = (0..q).collect();
        Some(g.linear(&xc, &submatrix(&c, n, &rows, &cols), q, cols.len(), &by))
    };
    if d.is_some() || y.is_none() {
        let dv = d.unwrap_or_else(|| vec![0.0; q * p]);
        let acc = y.clone().unwrap_or(by);
        y = Some(g.linear(&u, &dv, q, p, &acc));
    }
    let y = y.expect("set above");
    g.nodes.push(NodeProto {
        op_type: Some("Identity".into()),
        name: Some("output_identity".into()),
        input: vec![y],
        output: vec![OUTPUT.into()],
        ..Default::default()
    });

    let weight_bytes = g
        .inits
        .iter()
        .map(|t| t.raw_data.as_ref().map_or(0, Vec::len))
        .sum();
    let graph = GraphProto {
        name: Some("wolfpack_implicit_model".into()),
        node: g.nodes,
        initializer: g.inits,
        input: vec![value_info(INPUT, DataType::Float, &[None, Some(p as i64)])],
        output: vec![value_info(OUTPUT, DataType::Float, &[None, Some(q as i64)])],
        ..Default::default()
    };
    let mut props = vec![StringStringEntryProto {
        key: Some("wolfpack.scheme".into()),
        value: Some(format!("{scheme:?}")),
    }];
    if !meta.labels.is_empty() {
        props.push(StringStringEntryProto {
            key: Some("wolfpack.labels".into()),
            value: Some(serde_json::to_string(&meta.labels).expect("strings serialise")),
        });
    }
    let model = ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto { domain: Some(String::new()), version: Some(OPSET) }],
        producer_name: Some("wolfpack".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        doc_string: Some(
            "Implicit model x = relu(A x + B u + b), y = C x + D u + c, exported by wolfpack; output = y.".into(),
        ),
        graph: Some(graph),
        metadata_props: props,
        ..Default::default()
    };
    Ok(Exported {
        model,
        scheme,
        weight_bytes,
    })
}

/// The body of the Picard `Loop`: `x_new = relu(x A^T + z)`, continue while `max |x_new - x| > tolerance`.
/// `A` (initializer `wa`) and `z` are read from the outer graph.
fn picard_body(wa: &str, z: &str, n: usize, tolerance: f32) -> GraphProto {
    let mut b = Graph {
        count: 1000,
        ..Graph::default()
    };
    let t = b.node("Gemm", &["x_in", wa, z], vec![attr_int("transB", 1)]);
    let x = b.node("Relu", &[&t], vec![]);
    let diff = b.node("Sub", &[&x, "x_in"], vec![]);
    let abs = b.node("Abs", &[&diff], vec![]);
    let r = b.node("ReduceMax", &[&abs], vec![attr_int("keepdims", 0)]);
    let tol = b.f32("tolerance", &[], &[tolerance]);
    let more = b.node("Greater", &[&r, &tol], vec![]);
    for (from, to) in [(more, "cond_out"), (x, "x_out")] {
        b.nodes.push(NodeProto {
            op_type: Some("Identity".into()),
            name: Some(format!("{to}_identity")),
            input: vec![from],
            output: vec![to.into()],
            ..Default::default()
        });
    }
    GraphProto {
        name: Some("picard_step".into()),
        node: b.nodes,
        initializer: b.inits,
        input: vec![
            value_info("iteration", DataType::Int64, &[]),
            value_info("cond_in", DataType::Bool, &[]),
            value_info("x_in", DataType::Float, &[None, Some(n as i64)]),
        ],
        output: vec![
            value_info("cond_out", DataType::Bool, &[]),
            value_info("x_out", DataType::Float, &[None, Some(n as i64)]),
        ],
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_of_a_chain_and_of_a_diamond() {
        let set = |a: &mut [f32], n: usize, i: usize, j: usize| a[i * n + j] = 1.0;
        // 0 -> 1 -> 2 (a chain): three levels.
        let mut a = vec![0.0f32; 9];
        set(&mut a, 3, 1, 0);
        set(&mut a, 3, 2, 1);
        assert_eq!(levels(&a, 3, &[0, 1, 2]), vec![vec![0], vec![1], vec![2]]);
        // 0 -> {1, 2} -> 3: 1 and 2 share a level.
        let mut a = vec![0.0f32; 16];
        for (i, j) in [(1, 0), (2, 0), (3, 1), (3, 2)] {
            set(&mut a, 4, i, j);
        }
        assert_eq!(
            levels(&a, 4, &[0, 1, 2, 3]),
            vec![vec![0], vec![1, 2], vec![3]]
        );
    }

    #[test]
    fn submatrix_picks_rows_and_columns() {
        let m = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(submatrix(&m, 3, &[1, 0], &[2, 0]), vec![6.0, 4.0, 3.0, 1.0]);
    }
}

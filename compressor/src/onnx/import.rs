//! Import of ONNX multilayer perceptrons as implicit models with a strictly block-triangular `A`.
//!
//! A feed-forward network `h_1 = relu(W_1 u + b_1)`, `h_k = relu(W_k h_{k-1} + b_k)`, `y = W_L h_{L-1} + b_L`
//! is the implicit model `x = relu(A x + B u + b)`, `y = C x + D u + c` (El Ghaoui et al., "Implicit Deep
//! Learning", 2021, section 2) whose hidden state stacks the layers, `x = (h_1, ..., h_{L-1})`: `B` holds `W_1` in
//! the rows of `h_1`, `A` holds `W_k` in the rows of `h_k` and the columns of `h_{k-1}` (strictly below the block
//! diagonal), `C` holds `W_L` in the columns of `h_{L-1}`. `A` is strictly lower-triangular in the natural order, so
//! the `.wpk` reader certifies it as triangular and the runtime solves it exactly in one Gauss-Seidel sweep, layer
//! after layer: the same arithmetic as the network.
//!
//! The graph is read by symbolic execution: every tensor becomes a [`Value`] (a constant, the input, a hidden
//! block, an affine map of those not yet activated, class probabilities or a class label) and each node maps
//! values to values. Accepted: what `torch.onnx.export` writes for `nn.Sequential` MLPs (`Gemm` with `transB=1`
//! or `MatMul` + `Add`, `Relu`, `Flatten`, `Reshape` of the input, `Identity`, `Dropout` in inference mode,
//! `Transpose` and `Constant` feeding weights) and what skl2onnx writes for `MLPClassifier` (`Cast`, `MatMul`,
//! `Add`, `Relu`, `Softmax` or `Sigmoid` with `Sub` + `Concat` for two classes, and the label post-processing
//! `ArgMax` / `ArrayFeatureExtractor` / `Reshape` / `Cast` / `ZipMap`). Residual sums of layers (`Add` of two
//! affine maps) come for free. The probabilities and the label are both functions of the last layer's
//! logits, which become the model output `y`; the class names become the model's labels, so the runtime's
//! arg-max is the ONNX label and `softmax(y)` its probabilities. Anything else is an [`OnnxError::Unsupported`]
//! naming the node.

use std::collections::HashMap;
use std::rc::Rc;

use prost::Message;
use wolfpack_format::{Matrix, Metadata, ModelFile, StoredMatrix, ValueType};

use super::proto::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto::dimension,
    type_proto, AttributeProto, ModelProto, NodeProto,
};
use super::tensor::{read_tensor, Const, ConstData};
use super::OnnxError;

/// Largest dense matrix (entries) the importer assembles: 64 Mi floats, 256 MiB. Imported MLPs are far below;
/// a larger claim comes from a damaged or hostile file and is refused rather than allocated.
const MAX_DENSE: usize = 1 << 26;

/// How to store the imported weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImportOptions {
    /// Value type of every stored matrix (`F32` keeps the network exactly).
    pub dtype: ValueType,
    /// A matrix whose fraction of nonzeros exceeds this is stored dense, otherwise CSR.
    pub dense_above: f32,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            dtype: ValueType::F32,
            dense_above: 0.5,
        }
    }
}

/// What an output of the ONNX graph is, in terms of the imported model's output `y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// `y` itself (the logits, or the last layer of a regression network).
    Logits,
    /// `softmax(y)`: class probabilities.
    Probabilities,
    /// `argmax(y)`, mapped to the class name (the model's labels).
    Label,
}

/// An imported model and what it was made of.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The implicit model, ready to write.
    pub model: ModelFile,
    /// Widths of the hidden blocks (layers) in evaluation order.
    pub layers: Vec<usize>,
    /// Name of the ONNX graph input.
    pub input: String,
    /// Each ONNX graph output and what it is in terms of `y`.
    pub outputs: Vec<(String, OutputKind)>,
}

/// Where an affine term reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Input,
    Hidden(usize),
}

/// `weights * source`, weights row-major `width x width(source)`.
#[derive(Debug, Clone)]
struct Term {
    source: Source,
    weights: Vec<f32>,
}

/// A pre-activation: `sum_t W_t s_t + bias`, not yet through an activation.
#[derive(Debug, Clone)]
struct Affine {
    /// Identity of this map (outputs must all derive from the same logits).
    id: usize,
    width: usize,
    terms: Vec<Term>,
    bias: Vec<f32>,
}

/// The symbolic value of a tensor.
#[derive(Debug, Clone)]
enum Value {
    Const(Rc<Const>),
    /// The graph input, `flat` once it is `[batch, p]`.
    Input {
        flat: bool,
    },
    /// `relu` of the pre-activation of block `k`.
    Hidden(usize),
    Affine(Rc<Affine>),
    /// `sigmoid(+-z)` of a one-unit affine map (skl2onnx's binary classifier).
    Sigmoid {
        logits: Rc<Affine>,
        negated: bool,
    },
    Probs {
        logits: Rc<Affine>,
        classes: Option<Vec<String>>,
    },
    Label {
        logits: Rc<Affine>,
        classes: Option<Vec<String>>,
    },
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Const(_) => "a constant",
            Value::Input { .. } => "the input",
            Value::Hidden(_) => "a hidden layer",
            Value::Affine(_) => "a linear layer",
            Value::Sigmoid { .. } => "a sigmoid",
            Value::Probs { .. } => "class probabilities",
            Value::Label { .. } => "a class label",
        }
    }
}

/// Decodes ONNX protobuf bytes and imports the MLP they describe.
pub fn import_model(bytes: &[u8], options: &ImportOptions) -> Result<Imported, OnnxError> {
    let model = ModelProto::decode(bytes).map_err(|e| OnnxError::Decode(e.to_string()))?;
    import_proto(&model, options)
}

/// Imports a decoded ONNX model.
pub fn import_proto(model: &ModelProto, options: &ImportOptions) -> Result<Imported, OnnxError> {
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| OnnxError::Graph("the model has no graph".into()))?;
    let mut im = Importer {
        values: HashMap::new(),
        blocks: Vec::new(),
        p: 0,
        batch: None,
        next_id: 0,
    };
    for t in &graph.initializer {
        let name = t.name.clone().unwrap_or_default();
        im.values
            .insert(name, Value::Const(Rc::new(read_tensor(t)?)));
    }
    if !graph.sparse_initializer.is_empty() {
        return Err(OnnxError::Graph(
            "sparse initializers are not supported".into(),
        ));
    }
    // Graph inputs that are initializers (IR < 4 lists them) are constants, not inputs.
    let inputs: Vec<_> = graph
        .input
        .iter()
        .filter(|i| !im.values.contains_key(i.name.as_deref().unwrap_or("")))
        .collect();
    let [input] = inputs.as_slice() else {
        let names: Vec<&str> = inputs
            .iter()
            .map(|i| i.name.as_deref().unwrap_or(""))
            .collect();
        return Err(OnnxError::Graph(format!(
            "an MLP has exactly one input; this graph has {names:?}"
        )));
    };
    let input_name = input.name.clone().unwrap_or_default();
    let (p, flat, batch) = input_shape(input.r#type.as_ref(), &input_name)?;
    im.p = p;
    im.batch = batch;
    im.values.insert(input_name.clone(), Value::Input { flat });
    for node in &graph.node {
        im.node(node)?;
    }
    let mut logits: Option<Rc<Affine>> = None;
    let mut classes: Option<Vec<String>> = None;
    let mut outputs = Vec::new();
    for out in &graph.output {
        let name = out.name.clone().unwrap_or_default();
        let value = im.values.get(&name).ok_or_else(|| {
            OnnxError::Graph(format!("graph output {name:?} is not computed by any node"))
        })?;
        let (aff, kind, names) = match value {
            Value::Affine(a) => (a.clone(), OutputKind::Logits, None),
            Value::Hidden(_) => {
                let aff = im.as_affine(value).ok_or_else(|| {
                    OnnxError::Graph(format!(
                        "graph output {name:?}: a hidden layer too wide to import"
                    ))
                })?;
                (aff, OutputKind::Logits, None)
            }
            Value::Probs { logits, classes } => {
                (logits.clone(), OutputKind::Probabilities, classes.clone())
            }
            Value::Label { logits, classes } => {
                (logits.clone(), OutputKind::Label, classes.clone())
            }
            other => {
                return Err(OnnxError::Graph(format!(
                    "graph output {name:?} is {}, not the network's output layer",
                    other.kind()
                )))
            }
        };
        if let Some(prev) = &logits {
            if prev.id != aff.id {
                return Err(OnnxError::Graph(format!(
                    "graph output {name:?} does not come from the same final layer as {:?}",
                    outputs
                        .first()
                        .map_or("", |(n, _): &(String, OutputKind)| n.as_str())
                )));
            }
        }
        logits = Some(aff);
        if names.is_some() {
            classes = names;
        }
        outputs.push((name, kind));
    }
    let logits = logits.ok_or_else(|| OnnxError::Graph("the graph has no output".into()))?;
    if let Some(c) = &classes {
        if c.len() != logits.width {
            return Err(OnnxError::Graph(format!(
                "{} class labels for an output layer of {} units",
                c.len(),
                logits.width
            )));
        }
    }
    let producer = format!(
        "{} {}",
        model.producer_name.as_deref().unwrap_or("unknown producer"),
        model.producer_version.as_deref().unwrap_or("")
    );
    let layers: Vec<usize> = im.blocks.iter().map(|b| b.width).collect();
    let provenance = serde_json::json!({
        "imported_from": "onnx",
        "producer": producer.trim(),
        "layers": layers,
        "onnx_input": input_name,
        "onnx_outputs": outputs.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
    });
    let model = im.build(&logits, classes.unwrap_or_default(), provenance, options)?;
    Ok(Imported {
        model,
        layers,
        input: input_name,
        outputs,
    })
}

/// `(p, flat, static batch)` of the graph input: a FLOAT tensor `[batch, d1, d2, ...]` with known `d_i`.
fn input_shape(
    ty: Option<&super::proto::TypeProto>,
    name: &str,
) -> Result<(usize, bool, Option<i64>), OnnxError> {
    let bad = |problem: &str| OnnxError::Graph(format!("graph input {name:?} {problem}"));
    let Some(type_proto::Value::TensorType(t)) = ty.and_then(|t| t.value.as_ref()) else {
        return Err(bad("is not a tensor"));
    };
    if t.elem_type != Some(DataType::Float as i32) {
        let ty = t.elem_type.and_then(|c| DataType::try_from(c).ok());
        return Err(bad(&format!(
            "has element type {}; a float input is required",
            ty.map_or("unknown", |t| t.as_str_name())
        )));
    }
    let dims = t
        .shape
        .as_ref()
        .map(|s| s.dim.as_slice())
        .unwrap_or_default();
    if dims.len() < 2 {
        return Err(bad(&format!(
            "has rank {}; expected [batch, features...]",
            dims.len()
        )));
    }
    let batch = match dims[0].value {
        Some(dimension::Value::DimValue(v)) => Some(v),
        _ => None,
    };
    let mut p = 1usize;
    for d in &dims[1..] {
        match d.value {
            Some(dimension::Value::DimValue(v)) if v > 0 => p = p.saturating_mul(v as usize),
            _ => {
                return Err(bad(
                    "has a feature dimension that is not a fixed positive size",
                ))
            }
        }
    }
    Ok((p, dims.len() == 2, batch))
}

struct Importer {
    values: HashMap<String, Value>,
    /// Pre-activations of the hidden blocks, in creation (evaluation) order.
    blocks: Vec<Rc<Affine>>,
    p: usize,
    /// The input's batch size when the graph fixes it.
    batch: Option<i64>,
    next_id: usize,
}

/// Reads attributes of one node.
struct Node<'a> {
    proto: &'a NodeProto,
}

impl<'a> Node<'a> {
    fn op(&self) -> String {
        let op = self.proto.op_type.as_deref().unwrap_or("");
        match self.proto.domain.as_deref() {
            None | Some("") | Some("ai.onnx") => op.to_string(),
            Some(d) => format!("{d}.{op}"),
        }
    }

    fn name(&self) -> String {
        match self.proto.name.as_deref() {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => self.proto.output.first().cloned().unwrap_or_default(),
        }
    }

    fn unsupported(&self, reason: impl Into<String>) -> OnnxError {
        OnnxError::Unsupported {
            op: self.op(),
            name: self.name(),
            reason: reason.into(),
        }
    }

    fn attr(&self, name: &str) -> Option<&'a AttributeProto> {
        self.proto
            .attribute
            .iter()
            .find(|a| a.name.as_deref() == Some(name))
    }

    fn int(&self, name: &str, default: i64) -> i64 {
        self.attr(name).and_then(|a| a.i).unwrap_or(default)
    }

    fn float(&self, name: &str, default: f32) -> f32 {
        self.attr(name).and_then(|a| a.f).unwrap_or(default)
    }

    /// Only the listed attributes may be present (anything else could change the meaning).
    fn only_attrs(&self, allowed: &[&str]) -> Result<(), OnnxError> {
        for a in &self.proto.attribute {
            let n = a.name.as_deref().unwrap_or("");
            if !allowed.contains(&n) {
                return Err(self.unsupported(format!("attribute {n:?} is not supported")));
            }
        }
        Ok(())
    }
}

/// `[out]`, `[1]`, `[]`, `[1, out]` or `[1, 1]` broadcast to `out` values.
fn broadcast_bias(c: &Const, out: usize) -> Option<Vec<f32>> {
    let v = c.f32()?;
    let shape_ok = match c.dims.as_slice() {
        [] => true,
        [n] => *n == out || *n == 1,
        [1, n] => *n == out || *n == 1,
        _ => false,
    };
    if !shape_ok {
        return None;
    }
    Some(if v.len() == 1 {
        vec![v[0]; out]
    } else {
        v.to_vec()
    })
}

fn axis_is_last(axis: i64) -> bool {
    axis == 1 || axis == -1
}

impl Importer {
    fn fresh(&mut self, width: usize, terms: Vec<Term>, bias: Vec<f32>) -> Rc<Affine> {
        self.next_id += 1;
        Rc::new(Affine {
            id: self.next_id,
            width,
            terms,
            bias,
        })
    }

    fn width(&self, s: Source) -> usize {
        match s {
            Source::Input => self.p,
            Source::Hidden(k) => self.blocks[k].width,
        }
    }

    /// A value as a source a linear layer can read: the flattened input or a hidden block.
    fn source(&self, v: &Value) -> Option<Source> {
        match v {
            Value::Input { flat: true } => Some(Source::Input),
            Value::Hidden(k) => Some(Source::Hidden(*k)),
            _ => None,
        }
    }

    /// A value as an affine map (identity of a source, or the map itself).
    fn as_affine(&self, v: &Value) -> Option<Rc<Affine>> {
        match v {
            Value::Affine(a) => Some(a.clone()),
            _ => {
                let s = self.source(v)?;
                let w = self.width(s);
                if w.saturating_mul(w) > MAX_DENSE {
                    return None;
                }
                let mut weights = vec![0.0f32; w * w];
                for i in 0..w {
                    weights[i * w + i] = 1.0;
                }
                // Identity maps get a fresh id on use; ids only matter for outputs, which never compare them.
                Some(Rc::new(Affine {
                    id: usize::MAX,
                    width: w,
                    terms: vec![Term { source: s, weights }],
                    bias: vec![0.0; w],
                }))
            }
        }
    }

    fn get(&self, node: &Node, index: usize) -> Result<Option<&Value>, OnnxError> {
        let Some(name) = node.proto.input.get(index).filter(|n| !n.is_empty()) else {
            return Ok(None);
        };
        match self.values.get(name) {
            Some(v) => Ok(Some(v)),
            None => Err(OnnxError::Graph(format!(
                "node {} {:?} reads tensor {name:?}, which no earlier node, initializer or input defines",
                node.op(),
                node.name()
            ))),
        }
    }

    fn input(&self, node: &Node, index: usize) -> Result<Value, OnnxError> {
        self.get(node, index)?
            .cloned()
            .ok_or_else(|| node.unsupported(format!("input {index} is missing")))
    }

    fn constant(&self, node: &Node, index: usize, what: &str) -> Result<Rc<Const>, OnnxError> {
        match self.input(node, index)? {
            Value::Const(c) => Ok(c),
            other => {
                Err(node.unsupported(format!("{what} must be a constant, not {}", other.kind())))
            }
        }
    }

    fn set(&mut self, node: &Node, value: Value) -> Result<(), OnnxError> {
        let out = node
            .proto
            .output
            .first()
            .ok_or_else(|| node.unsupported("it has no output"))?;
        self.values.insert(out.clone(), value);
        Ok(())
    }

    /// `W x + bias` for a linear layer reading `x`; `weights` row-major `out x in`.
    fn linear(
        &mut self,
        node: &Node,
        x: &Value,
        weights: Vec<f32>,
        out: usize,
    ) -> Result<Rc<Affine>, OnnxError> {
        let Some(source) = self.source(x) else {
            return Err(node.unsupported(match x {
                Value::Input { flat: false } => {
                    "the input must be flattened (Flatten or Reshape) before a linear layer".to_string()
                }
                Value::Affine(_) => {
                    "a linear layer applied to another linear layer without an activation in between".to_string()
                }
                other => format!("a linear layer cannot read {}", other.kind()),
            }));
        };
        let fan_in = self.width(source);
        if weights.len() != out * fan_in {
            return Err(node.unsupported(format!(
                "its weight has {} entries; {out} outputs x {fan_in} inputs expected",
                weights.len()
            )));
        }
        let a = self.fresh(out, vec![Term { source, weights }], vec![0.0; out]);
        Ok(a)
    }

    fn node(&mut self, proto: &NodeProto) -> Result<(), OnnxError> {
        let node = Node { proto };
        let domain = proto.domain.as_deref().unwrap_or("");
        let op = proto.op_type.as_deref().unwrap_or("");
        let value = match (domain, op) {
            ("" | "ai.onnx", "Identity") => self.input(&node, 0)?,
            ("" | "ai.onnx", "Dropout") => {
                if let Some(Value::Const(t)) = self.get(&node, 2)? {
                    if t.i64().is_some_and(|v| v.iter().any(|&b| b != 0)) {
                        return Err(node.unsupported("training_mode is on"));
                    }
                }
                if proto.output.len() > 1 && !proto.output[1].is_empty() {
                    return Err(node.unsupported("its mask output is used"));
                }
                self.input(&node, 0)?
            }
            ("" | "ai.onnx", "Constant") => self.constant_node(&node)?,
            ("" | "ai.onnx", "Cast") => {
                node.only_attrs(&["to", "saturate", "round_mode"])?;
                let to = node.int("to", 0);
                match self.input(&node, 0)? {
                    v @ Value::Label { .. } => v,
                    Value::Const(c) if matches!(c.data, ConstData::F32(_)) && to == DataType::Float as i64 => {
                        Value::Const(c)
                    }
                    v @ (Value::Input { .. } | Value::Affine(_) | Value::Hidden(_) | Value::Probs { .. })
                        if to == DataType::Float as i64 =>
                    {
                        v
                    }
                    other => {
                        return Err(node.unsupported(format!("cast of {} to data type {to}", other.kind())))
                    }
                }
            }
            ("" | "ai.onnx", "Flatten") => {
                node.only_attrs(&["axis"])?;
                if node.int("axis", 1) != 1 {
                    return Err(node.unsupported("only axis = 1 (keep the batch dimension) is supported"));
                }
                match self.input(&node, 0)? {
                    Value::Input { .. } => Value::Input { flat: true },
                    v @ (Value::Affine(_) | Value::Hidden(_)) => v,
                    other => return Err(node.unsupported(format!("flattening {}", other.kind()))),
                }
            }
            ("" | "ai.onnx", "Reshape") => self.reshape(&node)?,
            ("" | "ai.onnx", "Transpose") => {
                let c = self.constant(&node, 0, "the transposed tensor")?;
                let perm = node.attr("perm").map(|a| a.ints.clone()).unwrap_or_else(|| vec![1, 0]);
                match (c.dims.as_slice(), &c.data, perm.as_slice()) {
                    ([r, k], ConstData::F32(v), [1, 0]) => Value::Const(Rc::new(Const {
                        dims: vec![*k, *r],
                        data: ConstData::F32(transpose(v, *r, *k)),
                    })),
                    _ => return Err(node.unsupported("only the transpose of a constant float matrix is supported")),
                }
            }
            ("" | "ai.onnx", "Gemm") => {
                node.only_attrs(&["alpha", "beta", "transA", "transB"])?;
                if node.int("transA", 0) != 0 {
                    return Err(node.unsupported("transA = 1 is not supported"));
                }
                let x = self.input(&node, 0)?;
                let w = self.constant(&node, 1, "the weight (input B)")?;
                let (Some(wv), [r, k]) = (w.f32(), w.dims.as_slice()) else {
                    return Err(node.unsupported("the weight must be a float matrix"));
                };
                let (r, k) = (*r, *k);
                // transB = 1 (torch's Linear): the weight is already out x in.
                let (out, mut weights) = if node.int("transB", 0) != 0 {
                    (r, wv.to_vec())
                } else {
                    (k, transpose(wv, r, k))
                };
                let alpha = node.float("alpha", 1.0);
                if alpha != 1.0 {
                    weights.iter_mut().for_each(|w| *w *= alpha);
                }
                let lin = self.linear(&node, &x, weights, out)?;
                match self.get(&node, 2)?.cloned() {
                    None => Value::Affine(lin),
                    Some(Value::Const(c)) => {
                        let beta = node.float("beta", 1.0);
                        let bias = broadcast_bias(&c, out)
                            .ok_or_else(|| node.unsupported(format!("bias of shape {:?} for {out} outputs", c.dims)))?;
                        self.add_bias(&lin, bias.iter().map(|b| b * beta).collect())
                    }
                    Some(other) => return Err(node.unsupported(format!("the bias is {}, not a constant", other.kind()))),
                }
            }
            ("" | "ai.onnx", "MatMul") => {
                let x = self.input(&node, 0)?;
                let w = self.constant(&node, 1, "the right operand")?;
                let (Some(wv), [r, k]) = (w.f32(), w.dims.as_slice()) else {
                    return Err(node.unsupported("the right operand must be a constant float matrix"));
                };
                let (r, k) = (*r, *k);
                Value::Affine(self.linear(&node, &x, transpose(wv, r, k), k)?)
            }
            ("" | "ai.onnx", "Add") => {
                let (a, b) = (self.input(&node, 0)?, self.input(&node, 1)?);
                match (&a, &b) {
                    (Value::Const(c), v) | (v, Value::Const(c)) => {
                        let aff = self
                            .as_affine(v)
                            .ok_or_else(|| node.unsupported(format!("adding a constant to {}", v.kind())))?;
                        let bias = broadcast_bias(c, aff.width).ok_or_else(|| {
                            node.unsupported(format!("bias of shape {:?} for {} units", c.dims, aff.width))
                        })?;
                        self.add_bias(&aff, bias)
                    }
                    _ => {
                        let (Some(x), Some(y)) = (self.as_affine(&a), self.as_affine(&b)) else {
                            return Err(node.unsupported(format!("adding {} and {}", a.kind(), b.kind())));
                        };
                        if x.width != y.width {
                            return Err(node.unsupported(format!("adding {} and {} units", x.width, y.width)));
                        }
                        let mut terms = x.terms.clone();
                        for t in &y.terms {
                            match terms.iter_mut().find(|s| s.source == t.source) {
                                Some(s) => s.weights.iter_mut().zip(&t.weights).for_each(|(p, q)| *p += q),
                                None => terms.push(t.clone()),
                            }
                        }
                        let bias = x.bias.iter().zip(&y.bias).map(|(p, q)| p + q).collect();
                        Value::Affine(self.fresh(x.width, terms, bias))
                    }
                }
            }
            ("" | "ai.onnx", "Sub") => {
                let (a, b) = (self.input(&node, 0)?, self.input(&node, 1)?);
                match (&a, &b) {
                    // 1 - sigmoid(z) = sigmoid(-z): skl2onnx's probability of the negative class.
                    (Value::Const(one), Value::Sigmoid { logits, negated })
                        if one.f32().is_some_and(|v| v.len() == 1 && v[0] == 1.0) =>
                    {
                        Value::Sigmoid { logits: logits.clone(), negated: !negated }
                    }
                    (v, Value::Const(c)) => {
                        let aff = self
                            .as_affine(v)
                            .ok_or_else(|| node.unsupported(format!("subtracting from {}", v.kind())))?;
                        let bias = broadcast_bias(c, aff.width).ok_or_else(|| {
                            node.unsupported(format!("constant of shape {:?} for {} units", c.dims, aff.width))
                        })?;
                        self.add_bias(&aff, bias.iter().map(|b| -b).collect())
                    }
                    _ => return Err(node.unsupported(format!("subtracting {} from {}", b.kind(), a.kind()))),
                }
            }
            ("" | "ai.onnx", "Relu") => match self.input(&node, 0)? {
                v @ Value::Hidden(_) => v,
                v => {
                    let aff = self
                        .as_affine(&v)
                        .ok_or_else(|| node.unsupported(format!("relu of {}", v.kind())))?;
                    self.blocks.push(aff);
                    Value::Hidden(self.blocks.len() - 1)
                }
            },
            ("" | "ai.onnx", "Softmax") => {
                node.only_attrs(&["axis"])?;
                if !axis_is_last(node.int("axis", -1)) {
                    return Err(node.unsupported("only the softmax over classes (axis 1 or -1) is supported"));
                }
                let v = self.input(&node, 0)?;
                let logits = self
                    .as_affine(&v)
                    .ok_or_else(|| node.unsupported(format!("softmax of {}", v.kind())))?;
                Value::Probs { logits, classes: None }
            }
            ("" | "ai.onnx", "Sigmoid") => match self.input(&node, 0)? {
                Value::Affine(a) if a.width == 1 => Value::Sigmoid { logits: a, negated: false },
                other => {
                    return Err(node.unsupported(format!(
                        "only the sigmoid of a one-unit output layer (a binary classifier) is supported, not of {}",
                        other.kind()
                    )))
                }
            },
            ("" | "ai.onnx", "Concat") => {
                node.only_attrs(&["axis"])?;
                let parts: Vec<Value> = (0..proto.input.len())
                    .map(|i| self.input(&node, i))
                    .collect::<Result<_, _>>()?;
                match parts.as_slice() {
                    [Value::Sigmoid { logits: a, negated: true }, Value::Sigmoid { logits: b, negated: false }]
                        if a.id == b.id && axis_is_last(node.int("axis", 1)) =>
                    {
                        // [sigmoid(-z), sigmoid(z)] = softmax([-z/2, z/2]): two logits, exactly (halving is exact).
                        let terms = a
                            .terms
                            .iter()
                            .map(|t| Term {
                                source: t.source,
                                weights: t.weights.iter().map(|w| -w / 2.0).chain(t.weights.iter().map(|w| w / 2.0)).collect(),
                            })
                            .collect();
                        let bias = vec![-a.bias[0] / 2.0, a.bias[0] / 2.0];
                        Value::Probs { logits: self.fresh(2, terms, bias), classes: None }
                    }
                    _ => {
                        let kinds: Vec<&str> = parts.iter().map(Value::kind).collect();
                        return Err(node.unsupported(format!(
                            "only [1 - sigmoid(z), sigmoid(z)] (a binary classifier) is supported, not {kinds:?}"
                        )));
                    }
                }
            }
            ("" | "ai.onnx", "ArgMax") => {
                node.only_attrs(&["axis", "keepdims", "select_last_index"])?;
                if !axis_is_last(node.int("axis", 0)) || node.int("select_last_index", 0) != 0 {
                    return Err(node.unsupported("only the arg-max over classes (axis 1) is supported"));
                }
                match self.input(&node, 0)? {
                    Value::Probs { logits, classes } => Value::Label { logits, classes },
                    Value::Affine(logits) => Value::Label { logits, classes: None },
                    other => return Err(node.unsupported(format!("arg-max of {}", other.kind()))),
                }
            }
            ("ai.onnx.ml", "ArrayFeatureExtractor") => {
                let names = self.constant(&node, 0, "the class list")?;
                let Some(names) = names.names() else {
                    return Err(node.unsupported("the class list must hold integers or strings"));
                };
                match self.input(&node, 1)? {
                    Value::Label { logits, .. } => Value::Label { logits, classes: Some(names) },
                    other => return Err(node.unsupported(format!("looking up classes by {}", other.kind()))),
                }
            }
            ("ai.onnx.ml", "ZipMap") => {
                let names = match (node.attr("classlabels_int64s"), node.attr("classlabels_strings")) {
                    (Some(a), _) if !a.ints.is_empty() => a.ints.iter().map(i64::to_string).collect(),
                    (_, Some(a)) => a.strings.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect(),
                    _ => return Err(node.unsupported("it has no class labels")),
                };
                match self.input(&node, 0)? {
                    Value::Probs { logits, .. } => Value::Probs { logits, classes: Some(names) },
                    other => return Err(node.unsupported(format!("zipping {}", other.kind()))),
                }
            }
            _ => {
                return Err(node.unsupported(
                    "not part of a supported multilayer perceptron (Gemm, MatMul, Add, Relu, Softmax, Flatten, \
                     Reshape, Identity, Cast, ArgMax, ArrayFeatureExtractor, ZipMap)",
                ))
            }
        };
        self.set(&node, value)
    }

    /// `a + bias`, a new affine map.
    fn add_bias(&mut self, a: &Affine, bias: Vec<f32>) -> Value {
        let sum = a.bias.iter().zip(&bias).map(|(p, q)| p + q).collect();
        Value::Affine(self.fresh(a.width, a.terms.clone(), sum))
    }

    fn constant_node(&self, node: &Node) -> Result<Value, OnnxError> {
        let attr = node
            .proto
            .attribute
            .first()
            .ok_or_else(|| node.unsupported("it has no value"))?;
        let c = match (
            attr.name.as_deref().unwrap_or(""),
            attr.r#type.and_then(|t| AttributeType::try_from(t).ok()),
        ) {
            ("value", _) => read_tensor(
                attr.t
                    .as_ref()
                    .ok_or_else(|| node.unsupported("empty value"))?,
            )?,
            ("value_float", _) => Const {
                dims: vec![],
                data: ConstData::F32(vec![attr.f.unwrap_or(0.0)]),
            },
            ("value_floats", _) => Const {
                dims: vec![attr.floats.len()],
                data: ConstData::F32(attr.floats.clone()),
            },
            ("value_int", _) => Const {
                dims: vec![],
                data: ConstData::I64(vec![attr.i.unwrap_or(0)]),
            },
            ("value_ints", _) => Const {
                dims: vec![attr.ints.len()],
                data: ConstData::I64(attr.ints.clone()),
            },
            (other, _) => {
                return Err(
                    node.unsupported(format!("constant attribute {other:?} is not supported"))
                )
            }
        };
        Ok(Value::Const(Rc::new(c)))
    }

    fn reshape(&mut self, node: &Node) -> Result<Value, OnnxError> {
        node.only_attrs(&["allowzero"])?;
        let x = self.input(node, 0)?;
        let shape = self.constant(node, 1, "the target shape")?;
        let Some(shape) = shape.i64() else {
            return Err(node.unsupported("the target shape must be integers"));
        };
        let width = match &x {
            Value::Label { .. } => return Ok(x),
            Value::Input { .. } => self.p,
            Value::Affine(a) => a.width,
            Value::Hidden(k) => self.blocks[*k].width,
            other => return Err(node.unsupported(format!("reshaping {}", other.kind()))),
        };
        let keeps_batch = |b: i64| b == 0 || b == -1 || Some(b) == self.batch;
        let flat = match shape {
            [b, w] => keeps_batch(*b) && (*w == width as i64 || (*w == -1 && *b != -1)),
            _ => false,
        };
        if !flat {
            return Err(node.unsupported(format!(
                "only a reshape to [batch, {width}] (a flattening) is supported, not to {shape:?}"
            )));
        }
        Ok(match x {
            Value::Input { .. } => Value::Input { flat: true },
            v => v,
        })
    }

    /// Assembles the implicit model: blocks stacked in creation order, so `A` is strictly block lower-triangular.
    fn build(
        &self,
        logits: &Affine,
        labels: Vec<String>,
        training: serde_json::Value,
        options: &ImportOptions,
    ) -> Result<ModelFile, OnnxError> {
        let p = self.p;
        let q = logits.width;
        let mut offsets = Vec::with_capacity(self.blocks.len());
        let mut n = 0usize;
        for b in &self.blocks {
            offsets.push(n);
            n += b.width;
        }
        // A model without hidden layers (a linear classifier) still needs one hidden unit: it stays zero.
        let n_stored = n.max(1);
        let entries = (n_stored + q).checked_mul(n_stored + p);
        if entries.is_none_or(|e| e > MAX_DENSE) {
            return Err(OnnxError::Graph(format!(
                "the network is too large to import ({n} hidden units, {p} inputs, {q} outputs)"
            )));
        }
        let mut a = vec![0.0f32; n_stored * n_stored];
        let mut bm = vec![0.0f32; n_stored * p];
        let mut c = vec![0.0f32; q * n_stored];
        let mut d = vec![0.0f32; q * p];
        let mut bias_x = vec![0.0f32; n_stored];
        let place = |rows_at: usize,
                     term: &Term,
                     width: usize,
                     input: &mut [f32],
                     hidden: &mut [f32],
                     cols_n: usize| {
            let (dst, cols, col0) = match term.source {
                Source::Input => (input, p, 0),
                Source::Hidden(j) => (hidden, cols_n, offsets[j]),
            };
            let fan_in = term.weights.len() / width.max(1);
            for i in 0..width {
                for k in 0..fan_in {
                    dst[(rows_at + i) * cols + col0 + k] += term.weights[i * fan_in + k];
                }
            }
        };
        for (k, block) in self.blocks.iter().enumerate() {
            for t in &block.terms {
                debug_assert!(
                    matches!(t.source, Source::Input)
                        || matches!(t.source, Source::Hidden(j) if j < k)
                );
                place(offsets[k], t, block.width, &mut bm, &mut a, n_stored);
            }
            bias_x[offsets[k]..offsets[k] + block.width].copy_from_slice(&block.bias);
        }
        for t in &logits.terms {
            place(0, t, q, &mut d, &mut c, n_stored);
        }
        let kappa = a
            .chunks(n_stored)
            .map(|row| row.iter().map(|v| f64::from(v.abs())).sum::<f64>())
            .fold(0.0f64, f64::max);
        let mut meta = Metadata::new(n_stored as u32, p as u32, q as u32);
        meta.kappa = kappa as f32;
        meta.labels = labels;
        meta.provenance.training = training.into();
        let store = |rows: usize, cols: usize, values: Vec<f32>| -> Option<StoredMatrix> {
            let nnz = values.iter().filter(|v| **v != 0.0).count();
            if nnz == 0 {
                return None;
            }
            let matrix = if nnz as f32 > options.dense_above * (rows * cols) as f32 {
                Matrix::Dense { rows, cols, values }
            } else {
                Matrix::csr_from_dense(rows, cols, &values)
            };
            Some(StoredMatrix::new(matrix, options.dtype))
        };
        let mut file = ModelFile::new(meta);
        file.a = store(n_stored, n_stored, a);
        file.b = store(n_stored, p, bm);
        file.c = store(q, n_stored, c);
        file.d = store(q, p, d);
        if bias_x.iter().any(|v| *v != 0.0) {
            file.bias_x = bias_x;
        }
        if logits.bias.iter().any(|v| *v != 0.0) {
            file.bias_y = logits.bias.clone();
        }
        // Validate now (the writer parses what it encodes), so a bad import is reported here, not on write.
        file.to_bytes()?;
        Ok(file)
    }
}

/// Row-major `r x k` to `k x r`.
fn transpose(v: &[f32], r: usize, k: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; v.len()];
    for i in 0..r {
        for j in 0..k {
            t[j * r + i] = v[i * k + j];
        }
    }
    t
}

use wolfpack_benches::random_model;
use wolfpack_runtime::format::ValueType;
use wolfpack_runtime::{Model, Session};
fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let (nnz, batch, reps) = (args[0], args[1], args[2]);
    let dtype = if args.len() > 3 {
        ValueType::F16
    } else {
        ValueType::F32
    };
    let bytes = random_model(nnz, dtype, 42);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut s = Session::with_batch(&model, batch);
    let inputs: Vec<f32> = (0..batch * model.n_inputs())
        .map(|i| ((i * 7919) % 255) as f32 / 255.0)
        .collect();
    let mut out = vec![0.0; batch * model.n_outputs()];
    let t = std::time::Instant::now();
    for _ in 0..reps {
        s.predict_batch(&model, &inputs, batch, &mut out).unwrap();
    }
    println!("{:?} per call", t.elapsed() / reps as u32);
}

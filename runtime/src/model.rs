//! [`Model`]: a validated `.wpk` model whose weights stay where they were loaded (a memory map, the caller's
//! bytes, or one aligned copy), ready for the kernels.

use std::path::Path;

use wolfpack_format::{AlignedBytes, Metadata, ModelView, Role, Structure};

use crate::blocks::{BlockStructure, Blocks};
use crate::error::Error;
use crate::fold::Fold;
use crate::kernels::groups::RowGroups;
use crate::kernels::{DenseColumns, DenseCopy, Kernels, MatRef};
use crate::session::Session;
use crate::solve::{SolveOptions, SolveStats};

/// Where the bytes of a model live. The weight slices of a [`Model`] point into them.
enum Backing<'a> {
    /// The caller's bytes (already 4-byte aligned).
    Borrowed(&'a [u8]),
    /// One aligned copy (for misaligned or short-lived input).
    Owned(AlignedBytes),
    /// A read-only memory map of the file.
    Mapped(memmap2::Mmap),
}

impl Backing<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Backing::Borrowed(b) => b,
            Backing::Owned(b) => b,
            Backing::Mapped(m) => m,
        }
    }
}

/// What the solver reads: the parsed view and its matrices as kernel-ready [`MatRef`]s.
#[derive(Debug)]
pub(crate) struct Plan<'a> {
    pub(crate) view: ModelView<'a>,
    pub(crate) n: usize,
    pub(crate) p: usize,
    pub(crate) q: usize,
    pub(crate) a: Option<MatRef<'a>>,
    pub(crate) b: Option<MatRef<'a>>,
    pub(crate) c: Option<MatRef<'a>>,
    pub(crate) d: Option<MatRef<'a>>,
    /// The block-triangular plan of a dense or CSR `A` with stored weights.
    pub(crate) blocks: Option<Blocks>,
    /// The preprocessing folded into `B`, for single inputs (see `fold.rs`).
    pub(crate) fold: Option<Fold>,
    /// The slot-major copy of a short-rowed CSR `A` for grouped sweeps, when single inputs take them (see
    /// `solve::row_groups`).
    pub(crate) groups: Option<RowGroups>,
    /// A dense copy of `C` for single inputs, when `C` is dense enough for it to pay: column-major when it fits
    /// (`kernels/dense_columns.rs`: the outputs of a classifier, `q <= 32`, in registers), else row-major
    /// (`kernels/dense_copy.rs`).
    pub(crate) c_columns: Option<DenseColumns>,
    /// See `c_columns`.
    pub(crate) c_dense: Option<DenseCopy>,
    /// A column-major copy of `B` for single inputs, when `B` is dense enough (small input layers: the random
    /// 1,000-weight model's is 32 x 64, 39% dense; `kernels/dense_columns.rs`).
    pub(crate) b_dense: Option<DenseColumns>,
}

impl<'a> Plan<'a> {
    /// Parses and validates `bytes` (the format crate's [`ModelView::parse`]) and plans the solve.
    ///
    /// Parsing and conversion happen together here so that the views [`MatRef::from_parsed`] trusts are those
    /// `parse` has just checked.
    fn parse(bytes: &'a [u8]) -> Result<Plan<'a>, Error> {
        let view = ModelView::parse(bytes)?;
        let dims = view.meta.dims;
        let mat = |role: Role| view.matrix(role).map(MatRef::from_parsed).transpose();
        let (a, b, c, d) = (mat(Role::A)?, mat(Role::B)?, mat(Role::C)?, mat(Role::D)?);
        let blocks = a.as_ref().filter(|a| a.stored() > 0).and_then(Blocks::new);
        let packed = |m: &Option<MatRef<'a>>| m.filter(|_| crate::solve::PACKED);
        let b_dense = packed(&b).as_ref().and_then(DenseColumns::of);
        let c_columns = packed(&c).as_ref().and_then(DenseColumns::of);
        let c_dense = packed(&c)
            .filter(|_| c_columns.is_none())
            .as_ref()
            .and_then(DenseCopy::of);
        let mut plan = Plan {
            blocks,
            b_dense,
            c_columns,
            c_dense,
            fold: None,
            groups: None,
            n: dims.hidden as usize,
            p: dims.inputs as usize,
            q: dims.outputs as usize,
            a,
            b,
            c,
            d,
            view,
        };
        // The detected kernels: the scalar ones widened f16 in integer code and took ~25 us of the load.
        plan.fold = Fold::new(&plan, Kernels::detect());
        plan.groups = crate::solve::row_groups(&plan);
        Ok(plan)
    }

    /// Largest low-rank scratch any product needs for `batch` columns.
    pub(crate) fn scratch_len(&self, batch: usize) -> usize {
        [&self.a, &self.b, &self.c, &self.d]
            .iter()
            .filter_map(|m| m.as_ref())
            .map(|m| m.scratch_len(batch))
            .max()
            .unwrap_or(0)
    }
}

/// A loaded implicit model `y = C x + D u + c`, `x = relu(A x + B u + b)`: immutable, `Send + Sync`, shared
/// by any number of threads, each with its own [`Session`].
///
/// Loading validates the whole file once (the format crate's [`ModelView::parse`]: bounds, checksums,
/// structure, finite values, well-posedness of `A`) and copies nothing: the weights are read in place from the
/// memory map or the caller's bytes. The fastest kernel backend of the CPU is detected here, once.
///
/// ```
/// use wolfpack_runtime::{Model, Session};
/// let bytes = wolfpack_format::sample::sample_model().to_bytes().unwrap();
/// let model = Model::from_bytes(&bytes).unwrap();
/// let mut session = Session::new(&model);
/// let input = vec![1.0; model.n_inputs()];
/// let mut output = vec![0.0; model.n_outputs()];
/// let stats = session.predict(&model, &input, &mut output).unwrap();
/// assert!(stats.residual <= model.metadata().solver.tolerance);
/// ```
pub struct Model<'a> {
    // Field order matters: `plan` borrows from `backing`'s heap buffer or mapping and is dropped first.
    plan: Plan<'a>,
    kernels: Kernels,
    #[allow(dead_code)] // held for `plan`'s borrows
    backing: Backing<'a>,
}

impl Model<'static> {
    /// Memory-maps and validates the model at `path`. Nothing is copied: weights are read from the mapping.
    ///
    /// The file must not be modified or truncated while the model is alive (as with any memory map: the
    /// operating system would show the change, or raise `SIGBUS`, behind the validated view).
    pub fn open(path: impl AsRef<Path>) -> Result<Model<'static>, Error> {
        let path = path.as_ref();
        let io = |e: std::io::Error| Error::Io(format!("{}: {e}", path.display()));
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the map is read-only and private to this model; the documented contract above (the file is not
        // modified while mapped) is the one every memory-mapped loader relies on.
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) }.map_err(io)?;
        Model::from_backing(Backing::Mapped(map))
    }

    /// Loads a model from bytes that live for the whole program (`include_bytes!`, flash), without copying
    /// unless they are misaligned (see [`Model::from_bytes`]).
    pub fn from_static(bytes: &'static [u8]) -> Result<Model<'static>, Error> {
        Model::from_bytes(bytes)
    }

    /// Loads a model from a copy of `bytes` (one aligned copy; for buffers that do not outlive the call).
    pub fn from_bytes_copied(bytes: &[u8]) -> Result<Model<'static>, Error> {
        Model::from_backing(Backing::Owned(AlignedBytes::copy_from(bytes)))
    }
}

impl<'a> Model<'a> {
    /// Loads a model from the caller's bytes (an Android asset, embedded flash, a network buffer).
    ///
    /// The weights are borrowed in place when `bytes` starts on a 4-byte boundary (a memory map or any `Vec`
    /// from the system allocator does); otherwise the bytes are copied once into an aligned buffer owned by
    /// the model, because `f32`/`u32` arrays cannot be viewed in place at odd addresses.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Model<'a>, Error> {
        if bytes.as_ptr().align_offset(4) == 0 {
            Model::from_backing(Backing::Borrowed(bytes))
        } else {
            Model::from_backing(Backing::Owned(AlignedBytes::copy_from(bytes)))
        }
    }

    fn from_backing(backing: Backing<'a>) -> Result<Model<'a>, Error> {
        let bytes: *const [u8] = backing.bytes();
        // SAFETY: `bytes` points into memory that `backing` owns (a heap buffer or a memory map, whose address
        // does not change when `backing` is moved into the model) or borrows for 'a. The model keeps `backing`
        // unchanged for its whole life and drops `plan` (the only holder of views into it) first, and every
        // accessor hands out views tied to `&self`, never to 'a, so no view outlives the bytes.
        // `model_outlives_its_loader` and `models_move_across_threads` (tests) exercise moves and drops.
        let bytes: &'a [u8] = unsafe { &*bytes };
        let plan = Plan::parse(bytes)?;
        Ok(Model {
            plan,
            kernels: Kernels::detect(),
            backing,
        })
    }

    /// Uses the given kernel backend instead of the detected one (for tests and benchmarks).
    pub fn with_kernels(mut self, kernels: Kernels) -> Model<'a> {
        self.kernels = kernels;
        self
    }

    /// The kernel backend predictions run on.
    pub fn kernels(&self) -> Kernels {
        self.kernels
    }

    pub(crate) fn plan(&self) -> &Plan<'_> {
        &self.plan
    }

    /// Length `p` of an input.
    pub fn n_inputs(&self) -> usize {
        self.plan.p
    }

    /// Length `q` of an output.
    pub fn n_outputs(&self) -> usize {
        self.plan.q
    }

    /// Length `n` of the hidden state.
    pub fn n_hidden(&self) -> usize {
        self.plan.n
    }

    /// The metadata (solver defaults, preprocessing, labels, provenance).
    pub fn metadata(&self) -> &Metadata {
        &self.plan.view.meta
    }

    /// Output class names (empty or `n_outputs` entries).
    pub fn labels(&self) -> &[String] {
        &self.plan.view.meta.labels
    }

    /// What the reader proved about `A`: its contraction bound and whether it is triangular in the stored order.
    pub fn structure(&self) -> Structure {
        self.plan.view.structure
    }

    /// The block-triangular structure of `A` found at load (strongly connected components of its sparsity graph;
    /// see `Method::Auto`), or `None` when `A` is absent, empty or low-rank.
    pub fn blocks(&self) -> Option<BlockStructure> {
        let (blocks, a) = (self.plan.blocks.as_ref()?, self.plan.a.as_ref()?);
        Some(blocks.summary(a))
    }

    /// The hidden units in the order the plan evaluates them: the rows of `A` without a weight (ascending), then
    /// the plan's units, dependencies first, each strongly connected component contiguous and each exact run by
    /// level (see [`Model::blocks`]); `None` when there is no plan (`A` absent, empty or low-rank).
    ///
    /// A writer that renumbers the hidden units in this order, `x' = P x` with `P` the permutation (`A' = P A
    /// P^T`, `B' = P B`, `b' = P b`, `C' = C P^T`: the same function), gives a file whose plan the runtime reads
    /// off the stored order in one pass at load instead of searching for it ([`BlockStructure::in_stored_order`]);
    /// `wolfpack compress` does.
    pub fn evaluation_order(&self) -> Option<Vec<u32>> {
        Some(self.plan.blocks.as_ref()?.evaluation_order(self.plan.n))
    }

    /// The parsed file (matrices, biases, order), borrowed from the model.
    pub fn view(&self) -> &ModelView<'_> {
        &self.plan.view
    }

    /// The matrix stored for `role`, ready for the kernels (`None`: that matrix is zero).
    pub fn matrix(&self, role: Role) -> Option<MatRef<'_>> {
        match role {
            Role::A => self.plan.a,
            Role::B => self.plan.b,
            Role::C => self.plan.c,
            Role::D => self.plan.d,
        }
    }

    /// Bytes of weights, indices, row pointers and scales one prediction streams (biases excluded).
    pub fn weight_bytes(&self) -> usize {
        Role::ALL
            .iter()
            .filter_map(|&r| self.matrix(r))
            .map(|m| m.bytes())
            .sum()
    }

    /// One prediction with a fresh [`Session`] (allocates; keep a session for repeated calls).
    pub fn predict(
        &self,
        input: &[f32],
        options: &SolveOptions,
    ) -> Result<(Vec<f32>, SolveStats), Error> {
        let mut output = vec![0.0; self.n_outputs()];
        let stats = Session::new(self).predict_with(self, input, &mut output, options)?;
        Ok((output, stats))
    }
}

impl core::fmt::Debug for Model<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Model")
            .field("n_hidden", &self.plan.n)
            .field("n_inputs", &self.plan.p)
            .field("n_outputs", &self.plan.q)
            .field("structure", &self.plan.view.structure)
            .field("kernels", &self.kernels.isa())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use wolfpack_format::{reseal, sample::sample_model, ModelView, Role};

    use crate::kernels::MatRef;

    /// Byte offsets in `bytes` of the row pointers (4-byte) and column indices (2-byte) of the sample's CSR `A`
    /// and `B`.
    fn csr_arrays(bytes: &[u8]) -> Vec<(usize, usize, usize)> {
        let view = ModelView::parse(bytes).unwrap();
        let at = |p: *const u8| p as usize - bytes.as_ptr() as usize;
        let mut arrays = Vec::new();
        for role in [Role::A, Role::B] {
            let Some(wolfpack_format::MatrixView::Csr(c)) = view.matrix(role) else {
                panic!("the sample's {role} is CSR");
            };
            let wolfpack_format::Indices::U16(idx) = c.col_idx else {
                panic!("the sample's {role} has u16 indices");
            };
            arrays.push((at(c.row_ptr.as_ptr().cast()), c.row_ptr.len(), 4));
            arrays.push((at(idx.as_ptr().cast()), idx.len(), 2));
        }
        arrays
    }

    proptest! {
        /// Whatever `ModelView::parse` accepts passes the full O(nnz) checks of `MatRef`'s public constructors,
        /// which `MatRef::from_parsed` skips: the sample with row pointers and column indices of its CSR matrices
        /// moved by a little, resealed so that the structural checks behind the checksums decide.
        #[test]
        fn parsed_views_pass_the_full_checks(edits in proptest::collection::vec((0usize..4, any::<u16>(), -3i32..4), 1..4)) {
            let mut bytes = sample_model().to_bytes().unwrap().to_vec();
            let arrays = csr_arrays(&bytes);
            for (array, element, delta) in edits {
                let (start, len, width) = arrays[array];
                let at = start + width * (usize::from(element) % len);
                let old = if width == 4 {
                    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
                } else {
                    u32::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]))
                };
                let new = old.wrapping_add_signed(delta).to_le_bytes();
                bytes[at..at + width].copy_from_slice(&new[..width]);
            }
            reseal(&mut bytes);
            let bytes = wolfpack_format::AlignedBytes::copy_from(&bytes);
            if let Ok(view) = ModelView::parse(&bytes) {
                for role in Role::ALL {
                    if let Some(m) = view.matrix(role) {
                        let full = MatRef::try_from(m);
                        prop_assert!(full.is_ok(), "{role}: {:?}", full);
                        prop_assert!(MatRef::from_parsed(m).is_ok());
                    }
                }
            }
        }
    }

    #[test]
    fn parsed_and_checked_views_agree() {
        let bytes = sample_model().to_bytes().unwrap();
        let view = ModelView::parse(&bytes).unwrap();
        for role in Role::ALL {
            let m = view.matrix(role).unwrap();
            let (trusted, full) = (
                MatRef::from_parsed(m).unwrap(),
                MatRef::try_from(m).unwrap(),
            );
            assert_eq!(format!("{trusted:?}"), format!("{full:?}"));
        }
    }
}

use std::arch::x86_64::*;
use std::time::Duration;
use wolfpack_benches::interleaved_rounds;
use wolfpack_runtime::format::Role;
use wolfpack_runtime::kernels::{Indices, Kernels, Storage, Values};
use wolfpack_runtime::Model;

struct Pairs {
    ptr: Vec<u32>,
    col: Vec<i32>,
    w: Vec<u16>,
}

#[target_feature(enable = "avx2,fma,f16c")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
    _mm_cvtss_f32(s)
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn pairs_matvec(p: &Pairs, x: &[f32], y: &mut [f32]) {
    const TAIL: [i64; 8] = [-1, -1, -1, -1, 0, 0, 0, 0];
    let xp = x.as_ptr() as *const f64;
    for (i, yi) in y.iter_mut().enumerate() {
        let (s, e) = (p.ptr[i] as usize, p.ptr[i + 1] as usize);
        let mut acc = _mm256_setzero_ps();
        let mut k = s;
        unsafe {
            while k + 4 <= e {
                let idx = _mm_loadu_si128(p.col.as_ptr().add(k) as *const __m128i);
                let g = _mm256_castpd_ps(_mm256_i32gather_pd::<4>(xp, idx));
                let w = _mm256_cvtph_ps(_mm_loadu_si128(p.w.as_ptr().add(2 * k) as *const __m128i));
                acc = _mm256_fmadd_ps(w, g, acc);
                k += 4;
            }
            let t = e - k;
            if t > 0 {
                let m = _mm256_loadu_si256(TAIL.as_ptr().add(4 - t) as *const __m256i);
                let idx = _mm_loadu_si128(p.col.as_ptr().add(k) as *const __m128i);
                let g = _mm256_castpd_ps(_mm256_mask_i32gather_pd::<4>(
                    _mm256_setzero_pd(),
                    xp,
                    idx,
                    _mm256_castsi256_pd(m),
                ));
                let w = _mm256_cvtph_ps(_mm_loadu_si128(p.w.as_ptr().add(2 * k) as *const __m128i));
                acc = _mm256_fmadd_ps(_mm256_and_ps(w, _mm256_castsi256_ps(m)), g, acc);
            }
        }
        *yi += hsum(acc);
    }
}

fn main() {
    let model = Model::open("/tmp/final/m10000.wpk").unwrap();
    let b = model.matrix(Role::B).unwrap();
    let Storage::Csr {
        row_ptr,
        col_idx: Indices::U16(idx),
        values: Values::F16(w),
    } = *b.storage()
    else {
        panic!()
    };
    let mut pr = Pairs {
        ptr: vec![0],
        col: vec![],
        w: vec![],
    };
    for r in 0..b.rows() {
        let (s, e) = (row_ptr[r] as usize, row_ptr[r + 1] as usize);
        let mut k = s;
        while k < e {
            let c = idx[k] as usize;
            let c0 = c.min(783 - 1);
            let mut ws = [0u16; 2];
            ws[c - c0] = w[k].to_bits();
            k += 1;
            if k < e && idx[k] as usize == c0 + 1 && c == c0 {
                ws[1] = w[k].to_bits();
                k += 1;
            }
            pr.col.push(c0 as i32);
            pr.w.extend_from_slice(&ws);
        }
        pr.ptr.push(pr.col.len() as u32);
    }
    // padding so the tail loads stay in bounds
    pr.col.extend_from_slice(&[0; 4]);
    pr.w.extend_from_slice(&[0; 8]);
    println!("pairs {}", pr.ptr.last().unwrap());
    let idxf = wolfpack::data::idx::read(std::path::Path::new(
        "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
    ))
    .unwrap();
    let p = 784;
    let count = 1000;
    let inputs: Vec<f32> = idxf
        .data
        .iter()
        .take(p * count)
        .map(|&v| f32::from(v) / 255.0)
        .collect();
    let k = Kernels::detect();
    // check
    let (mut z1, mut z2) = (vec![0.0f32; 256], vec![0.0f32; 256]);
    b.gemv_add(k, &inputs[..p], &mut z1, &mut []).unwrap();
    unsafe { pairs_matvec(&pr, &inputs[..p], &mut z2) };
    let err = z1
        .iter()
        .zip(&z2)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!("max diff {err}");
    let (mut za, mut zb) = (vec![0.0f32; 256], vec![0.0f32; 256]);
    let (mut na, mut nb) = (0usize, 0usize);
    let mut fa = || {
        let i = na % count;
        na += 1;
        za.fill(0.0);
        b.gemv_add(k, &inputs[i * p..(i + 1) * p], &mut za, &mut [])
            .unwrap();
        std::hint::black_box(&mut za);
    };
    let mut fb = || {
        let i = nb % count;
        nb += 1;
        zb.fill(0.0);
        unsafe { pairs_matvec(&pr, &inputs[i * p..(i + 1) * p], &mut zb) };
        std::hint::black_box(&mut zb);
    };
    let t = interleaved_rounds(&mut [&mut fa, &mut fb], 31, Duration::from_millis(20));
    println!(
        "csr avx2: best {:.3} median {:.3}; pairs: best {:.3} median {:.3}",
        t[0][0] * 1e6,
        t[0][15] * 1e6,
        t[1][0] * 1e6,
        t[1][15] * 1e6
    );
}

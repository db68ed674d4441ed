use std::arch::x86_64::*;
use std::time::Duration;
use wolfpack_benches::interleaved_rounds;
use wolfpack_runtime::format::Role;
use wolfpack_runtime::kernels::{Indices, Kernels, Storage, Values};
use wolfpack_runtime::Model;

#[target_feature(enable = "avx2,fma,f16c")]
fn hsum8(v: [__m256; 8]) -> __m256 {
    let t0 = _mm256_hadd_ps(v[0], v[1]);
    let t1 = _mm256_hadd_ps(v[2], v[3]);
    let t2 = _mm256_hadd_ps(v[4], v[5]);
    let t3 = _mm256_hadd_ps(v[6], v[7]);
    let u0 = _mm256_hadd_ps(t0, t1);
    let u1 = _mm256_hadd_ps(t2, t3);
    _mm256_add_ps(
        _mm256_permute2f128_ps::<0x20>(u0, u1),
        _mm256_permute2f128_ps::<0x31>(u0, u1),
    )
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn row_lanes<const NARROW: bool>(
    w: &[u16],
    idx: &[u16],
    x: &[f32],
    s: usize,
    e: usize,
) -> __m256 {
    const TAIL: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];
    let (wp, ip, xp) = (w.as_ptr(), idx.as_ptr(), x.as_ptr());
    let mut acc = _mm256_setzero_ps();
    let mut k = s;
    unsafe {
        while k + 8 <= e {
            let xv = _mm256_i32gather_ps::<4>(
                xp,
                _mm256_cvtepu16_epi32(_mm_loadu_si128(ip.add(k) as *const __m128i)),
            );
            acc = _mm256_fmadd_ps(
                _mm256_cvtph_ps(_mm_loadu_si128(wp.add(k) as *const __m128i)),
                xv,
                acc,
            );
            k += 8;
        }
        let t = e - k;
        if t > 0 {
            let mask = _mm256_castsi256_ps(_mm256_loadu_si256(
                TAIL.as_ptr().add(8 - t).cast::<__m256i>(),
            ));
            let iv = _mm256_cvtepu16_epi32(_mm_loadu_si128(ip.add(k) as *const __m128i));
            let xv = if NARROW && t <= 4 {
                let m4 = _mm256_castps256_ps128(mask);
                let g = _mm_mask_i32gather_ps::<4>(
                    _mm_setzero_ps(),
                    xp,
                    _mm256_castsi256_si128(iv),
                    m4,
                );
                _mm256_zextps128_ps256(g)
            } else {
                _mm256_mask_i32gather_ps::<4>(_mm256_setzero_ps(), xp, iv, mask)
            };
            let wv = _mm256_and_ps(
                _mm256_cvtph_ps(_mm_loadu_si128(wp.add(k) as *const __m128i)),
                mask,
            );
            acc = _mm256_fmadd_ps(wv, xv, acc);
        }
    }
    acc
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn matvec<const NARROW: bool>(
    row_ptr: &[u32],
    idx: &[u16],
    w: &[u16],
    x: &[f32],
    y: &mut [f32],
) {
    let rows = y.len();
    let mut i = 0;
    unsafe {
        while i + 8 <= rows {
            let mut acc = [_mm256_setzero_ps(); 8];
            for (r, a) in acc.iter_mut().enumerate() {
                *a = row_lanes::<NARROW>(
                    w,
                    idx,
                    x,
                    row_ptr[i + r] as usize,
                    row_ptr[i + r + 1] as usize,
                );
            }
            let yp = y.as_mut_ptr().add(i);
            _mm256_storeu_ps(yp, _mm256_add_ps(_mm256_loadu_ps(yp), hsum8(acc)));
            i += 8;
        }
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
    let mut idx = idx.to_vec();
    idx.extend_from_slice(&[0; 8]);
    let mut wb: Vec<u16> = w.iter().map(|v| v.to_bits()).collect();
    wb.extend_from_slice(&[0; 8]);
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
    let (mut z1, mut z2, mut z3) = (vec![0.0f32; 256], vec![0.0f32; 256], vec![0.0f32; 256]);
    b.gemv_add(k, &inputs[..p], &mut z1, &mut []).unwrap();
    unsafe {
        matvec::<true>(row_ptr, &idx, &wb, &inputs[..p], &mut z2);
        matvec::<false>(row_ptr, &idx, &wb, &inputs[..p], &mut z3)
    };
    println!(
        "diffs {} {}",
        z1.iter()
            .zip(&z2)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max),
        z1.iter()
            .zip(&z3)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max)
    );
    let (mut za, mut zb) = (vec![0.0f32; 256], vec![0.0f32; 256]);
    let (mut na, mut nb) = (0usize, 0usize);
    let (rp, ix, ww) = (row_ptr, &idx, &wb);
    let mut fa = || {
        let i = na % count;
        na += 1;
        za.fill(0.0);
        unsafe { matvec::<false>(rp, ix, ww, &inputs[i * p..(i + 1) * p], &mut za) };
        std::hint::black_box(&mut za);
    };
    let mut fb = || {
        let i = nb % count;
        nb += 1;
        zb.fill(0.0);
        unsafe { matvec::<true>(rp, ix, ww, &inputs[i * p..(i + 1) * p], &mut zb) };
        std::hint::black_box(&mut zb);
    };
    let t = interleaved_rounds(&mut [&mut fa, &mut fb], 31, Duration::from_millis(20));
    println!(
        "8-lane tails: best {:.3} median {:.3}; 4-lane short tails: best {:.3} median {:.3}",
        t[0][0] * 1e6,
        t[0][15] * 1e6,
        t[1][0] * 1e6,
        t[1][15] * 1e6
    );
}

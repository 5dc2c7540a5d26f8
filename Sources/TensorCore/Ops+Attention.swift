// Scaled dot-product attention with heads split along channels (head k owns channels [k·d, (k+1)·d)), as in
// PyTorch's F.scaled_dot_product_attention after diffusers/transformers head reshapes.
//
// Without a mask, the keys and values of every head are packed once (lcm_attention_pack_f32) and the threads
// split the query rows in multiples of 32, each running them through every head with the fused kernel
// lcm_attention_rows_f32 (Q·Kᵀ, softmax and P·V for 16 or 32 rows at a time, across the vector lanes, their
// scores in the core's cache). Against one BLAS GEMM pair per block of 256 rows shared by both threads (the
// scores went to memory three times, and packing the scores and the strided keys and values for every GEMM cost
// about as much as the products), the SD 1.5 UNet's self-attentions at 512² (two threads, fastest of 15 calls)
// took 0.128 s instead of 0.264 s (4096 tokens, 8 heads of 40) and 0.013 s instead of 0.025 s (1024 tokens, 8
// heads of 80) with the kernel's first version, which had the rows along the lanes (Kernels/attention_simd.h
// for the present one).
//
// The causal mask (CLIP's text encoder, 77 tokens) takes the BLAS path: items of (sample, head, block of query
// rows) whose score block fits in the L2 cache, S = Q·Kᵀ, P = exp(S·scale − rowmax) in place with its row sums,
// O = P·V, then O's rows divided by the sums.
import CKernels

/// Floats of one score block: 256 K floats, 1 MiB, half of a 2 MiB L2 (4096 keys → 64 query rows).
private let scoreBlockFloats = 1 << 18

/// q [B, Nq, H·d], k [B, Nk, H·d], v [B, Nk, H·dv] → [B, Nq, H·dv]. `scale` defaults to 1/sqrt(d).
/// `causal` masks key j > query i (CLIP text encoder).
public func attention(query q: Tensor, key k: Tensor, value v: Tensor, heads: Int, scale: Float? = nil,
                      causal: Bool = false) -> Tensor {
    precondition(q.rank == 3 && k.rank == 3 && v.rank == 3 && q.shape[0] == k.shape[0] && k.shape[0] == v.shape[0]
                 && k.shape[1] == v.shape[1] && q.shape[2] == k.shape[2]
                 && q.shape[2] % heads == 0 && v.shape[2] % heads == 0,
                 "attention: query \(q.shape), key \(k.shape), value \(v.shape) do not fit \(heads) heads")
    let (batch, nq, qkDim) = (q.shape[0], q.shape[1], q.shape[2])
    let (nk, vDim) = (k.shape[1], v.shape[2])
    let (d, dv) = (qkDim / heads, vDim / heads)
    let s = scale ?? 1 / Float(d).squareRoot()
    var out = Tensor(uninitialized: [batch, nq, vDim])
    FlopCounter.measure("attention \(nq)×\(nk)", multiplyAccumulates: batch * heads * nq * nk * (d + dv)) {
        if causal {
            causalAttention(q, k, v, heads: heads, scale: s, into: &out)
        } else {
            fusedAttention(q, k, v, heads: heads, scale: s, into: &out)
        }
    }
    return out
}

/// The attention with key j > query i masked, through BLAS; `out` is [B, Nq, H·dv].
private func causalAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, scale s: Float,
                             into out: inout Tensor) {
    let (batch, nq, qkDim) = (q.shape[0], q.shape[1], q.shape[2])
    let (nk, vDim) = (k.shape[1], v.shape[2])
    let (d, dv) = (qkDim / heads, vDim / heads)
    let block = max(1, min(nq, scoreBlockFloats / max(nk, 1)))
    let blocksPerHead = (nq + block - 1) / block
    out.withUnsafeMutableBufferPointer { buf in
        let o = buf.baseAddress!
        BLAS.withSingleThreadedCalls {
            ThreadPolicy.parallelFor(batch * heads * blocksPerHead) { items in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: block * nk + block)
                defer { scores.deallocate() }
                let sums = scores + block * nk
                for item in items {
                    let (bh, qb) = item.quotientAndRemainder(dividingBy: blocksPerHead)
                    let (b, h) = bh.quotientAndRemainder(dividingBy: heads)
                    let q0 = qb * block, rows = min(block, nq - q0)
                    let kBase = k.data + b * nk * qkDim + h * d
                    let vBase = v.data + b * nk * vDim + h * dv
                    let oBase = o + b * nq * vDim + q0 * vDim + h * dv
                    BLAS.sgemm(transB: true, m: rows, n: nk, k: d, a: q.data + b * nq * qkDim + q0 * qkDim + h * d,
                               lda: qkDim, b: kBase, ldb: qkDim, c: scores, ldc: nk)
                    for i in 0..<rows where q0 + i + 1 < nk {
                        (scores + i * nk + q0 + i + 1).update(repeating: -.infinity, count: nk - q0 - i - 1)
                    }
                    lcm_softmax_rows_f32(scores, rows, nk, s, sums)
                    BLAS.sgemm(m: rows, n: dv, k: nk, a: scores, lda: nk, b: vBase, ldb: vDim, c: oBase, ldc: vDim)
                    for i in 0..<rows { lcm_scale_f32(oBase + i * vDim, 1 / sums[i], oBase + i * vDim, dv) }
                }
            }
        }
    }
}

/// The unmasked attention through the fused kernel; `out` is [B, Nq, H·dv]. The keys and values of every
/// (sample, head) are packed first, then the threads take pieces of the query rows through all of them, one
/// scratch per piece.
private func fusedAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, scale: Float, into out: inout Tensor) {
    let (batch, nq, qkDim) = (q.shape[0], q.shape[1], q.shape[2])
    let (nk, vDim) = (k.shape[1], v.shape[2])
    let (d, dv) = (qkDim / heads, vDim / heads)
    let (keysPerHead, valuesPerHead) = (lcm_attention_packed_keys(nk, d), lcm_attention_packed_values(nk, dv))
    let keys = UnsafeMutablePointer<Float>.allocate(capacity: max(1, batch * heads * keysPerHead))
    let values = UnsafeMutablePointer<Float>.allocate(capacity: max(1, batch * heads * valuesPerHead))
    defer {
        keys.deallocate()
        values.deallocate()
    }
    ThreadPolicy.parallelFor(batch * heads) { items in
        for bh in items {
            let (b, h) = bh.quotientAndRemainder(dividingBy: heads)
            lcm_attention_pack_f32(k.data + b * nk * qkDim + h * d, qkDim, v.data + b * nk * vDim + h * dv, vDim,
                                   nk, d, dv, keys + bh * keysPerHead, values + bh * valuesPerHead)
        }
    }
    let scratchCount = lcm_attention_scratch_floats(nk, d, dv)
    out.withUnsafeMutableBufferPointer { buf in
        let o = buf.baseAddress!
        // whole tiles of 32 query rows per thread (the AVX-512 kernel's tile; two of the AVX2 kernel's)
        ThreadPolicy.parallelFor((nq + 31) / 32) { tiles in
            let rows = tiles.lowerBound * 32..<min(nq, tiles.upperBound * 32)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
            defer { scratch.deallocate() }
            for bh in 0..<(batch * heads) {
                let (b, h) = bh.quotientAndRemainder(dividingBy: heads)
                lcm_attention_rows_f32(q.data + (b * nq + rows.lowerBound) * qkDim + h * d, qkDim,
                                       keys + bh * keysPerHead, values + bh * valuesPerHead,
                                       o + (b * nq + rows.lowerBound) * vDim + h * dv, vDim, rows.count, nk, d, dv,
                                       scale, scratch)
            }
        }
    }
}

// Scaled dot-product attention with heads split along channels (head k owns channels [k·d, (k+1)·d)), as in
// PyTorch's F.scaled_dot_product_attention after diffusers/transformers head reshapes. Scores are computed one
// (sample, head, query block) at a time, so memory stays at one block of rows, never all heads' score matrices.
import CKernels

/// Query rows per score block: bounds the score buffer to about this many floats per block.
private let scoreBlockFloats = 1 << 20

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
    let block = max(1, min(nq, scoreBlockFloats / max(nk, 1)))
    FlopCounter.add(multiplyAccumulates: batch * heads * nq * nk * (d + dv))
    var out = Tensor(uninitialized: [batch, nq, vDim])
    let scores = UnsafeMutablePointer<Float>.allocate(capacity: block * nk)
    defer { scores.deallocate() }
    out.withUnsafeMutableBufferPointer { buf in
        let o = buf.baseAddress!
        for b in 0..<batch {
            for h in 0..<heads {
                let qBase = q.data + b * nq * qkDim + h * d
                let kBase = k.data + b * nk * qkDim + h * d
                let vBase = v.data + b * nk * vDim + h * dv
                var q0 = 0
                while q0 < nq {
                    let rows = min(block, nq - q0)
                    BLAS.sgemm(transB: true, m: rows, n: nk, k: d, a: qBase + q0 * qkDim, lda: qkDim,
                               b: kBase, ldb: qkDim, c: scores, ldc: nk)
                    if causal {
                        for i in 0..<rows where q0 + i + 1 < nk {
                            (scores + i * nk + q0 + i + 1).update(repeating: -.infinity, count: nk - q0 - i - 1)
                        }
                    }
                    ThreadPolicy.parallelFor(rows, minChunk: max(1, 4096 / max(nk, 1))) { r in
                        lcm_softmax_rows_f32(scores + r.lowerBound * nk, r.count, nk, s)
                    }
                    BLAS.sgemm(m: rows, n: dv, k: nk, a: scores, lda: nk, b: vBase, ldb: vDim,
                               c: o + b * nq * vDim + q0 * vDim + h * dv, ldc: vDim)
                    q0 += rows
                }
            }
        }
    }
    return out
}

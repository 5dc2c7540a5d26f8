// Dense layers and matrix products through BLAS, and embedding lookups; weights may be fp32 or half precision
// (Weight.swift).
import CKernels

/// y = x · Wᵀ + b over the last axis: x [..., in], weight [out, in] (PyTorch layout), bias [out] → [..., out].
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    linear(x, weight: Weight(weight), bias: bias)
}

/// The dense layer with fp32 or half-precision weights (widened for the duration of the call), plus `residual`
/// (the output's shape) when given: a transformer's skip connection added in the same pass as the bias.
public func linear(_ x: Tensor, weight: Weight, bias: Tensor? = nil, residual: Tensor? = nil) -> Tensor {
    precondition(weight.rank == 2 && x.shape.last == weight.shape[1],
                 "linear: input \(x.shape) does not fit weight \(weight.shape)")
    let (outF, inF) = (weight.shape[0], weight.shape[1])
    if let bias { precondition(bias.shape == [outF], "linear: bias \(bias.shape) does not fit weight \(weight.shape)") }
    let rows = x.count / max(inF, 1)
    var y = Tensor(uninitialized: Array(x.shape.dropLast()) + [outF])
    if let residual {
        precondition(residual.shape == y.shape, "linear: residual \(residual.shape) does not fit output \(y.shape)")
    }
    FlopCounter.measure("linear", multiplyAccumulates: rows * outF * inF) {
        y.withUnsafeMutableBufferPointer { out in
            let c = out.baseAddress!
            // The bias (and residual) first, then y += x · Wᵀ: one pass over y instead of OpenBLAS clearing it
            // (beta 0) and a second adding the bias, a third the residual.
            let beta = prefillRows(c, rows: rows, width: outF, bias: bias, residual: residual)
            weight.withFloat32 { w in
                BLAS.sgemm(transB: true, m: rows, n: outF, k: inF, a: x.data, lda: inF, b: w, ldb: inF,
                           beta: beta, c: c, ldc: outF)
            }
        }
    }
    return y
}

/// Batched matrix product over the last two axes: a [..., m, k] · b [..., k, n] → [..., m, n].
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.rank >= 2 && b.rank == a.rank && a.shape.dropLast(2) == b.shape.dropLast(2)
                 && a.shape[a.rank - 1] == b.shape[b.rank - 2],
                 "matmul: shapes \(a.shape) and \(b.shape) do not fit")
    let (m, k, n) = (a.shape[a.rank - 2], a.shape[a.rank - 1], b.shape[b.rank - 1])
    let batch = a.count / max(m * k, 1)
    FlopCounter.add(multiplyAccumulates: batch * m * n * k)
    var y = Tensor(uninitialized: Array(a.shape.dropLast(2)) + [m, n])
    y.withUnsafeMutableBufferPointer { out in
        for i in 0..<batch {
            BLAS.sgemm(m: m, n: n, k: k, a: a.data + i * m * k, lda: k, b: b.data + i * k * n, ldb: n,
                       c: out.baseAddress! + i * m * n, ldc: n)
        }
    }
    return y
}

/// Rows of `table` [V, D] picked by `ids` → [ids.count, D]. Ids must be in range (checked).
public func embedding(_ ids: [Int], table: Tensor) -> Tensor { embedding(ids, table: Weight(table)) }

/// The lookup in an fp32 or half-precision table: only the picked rows are widened.
public func embedding(_ ids: [Int], table: Weight) -> Tensor {
    precondition(table.rank == 2, "embedding: table \(table.shape) is not 2-D")
    let (v, d) = (table.shape[0], table.shape[1])
    var y = Tensor(uninitialized: [ids.count, d])
    y.withUnsafeMutableBufferPointer { out in
        for (row, id) in ids.enumerated() {
            precondition(id >= 0 && id < v, "embedding: id \(id) outside a table of \(v) rows")
            table.widen(id * d..<(id + 1) * d, into: out.baseAddress! + row * d)
        }
    }
    return y
}

/// Fills `rows` rows of `width` floats at c with residual + bias (bias repeated per row; either may be nil) before
/// a GEMM adds its product; returns the GEMM's beta: 1 when something was written, else 0.
func prefillRows(_ c: UnsafeMutablePointer<Float>, rows: Int, width: Int, bias: Tensor?, residual: Tensor?) -> Float {
    let bp = bias?.data, rp = residual?.data
    if bp == nil && rp == nil { return 0 }
    ThreadPolicy.parallelFor(rows, minChunk: max(1, elementwiseGrain / max(width, 1))) { r in
        for row in r {
            let dst = c + row * width
            switch (rp, bp) {
            case let (res?, b?): lcm_add_f32(res + row * width, b, dst, width)
            case let (res?, nil): dst.update(from: res + row * width, count: width)
            case let (nil, b?): dst.update(from: b, count: width)
            case (nil, nil): break
            }
        }
    }
    return 1
}

/// Fills `planes` planes of `plane` floats at c with residual + bias (plane p takes bias[p % bias.count]; either
/// may be nil) before a GEMM adds its product; returns the GEMM's beta: 1 when something was written, else 0.
func prefillPlanes(_ c: UnsafeMutablePointer<Float>, planes: Int, plane: Int, bias: Tensor?,
                   residual: Tensor?) -> Float {
    let bp = bias?.data, rp = residual?.data, channels = bias?.count ?? 1
    if bp == nil && rp == nil { return 0 }
    ThreadPolicy.parallelFor(planes, minChunk: max(1, elementwiseGrain / max(plane, 1))) { r in
        for p in r {
            let dst = c + p * plane
            switch (rp, bp) {
            case let (res?, b?):
                let (src, value) = (res + p * plane, b[p % channels])
                for i in 0..<plane { dst[i] = src[i] + value }
            case let (res?, nil): dst.update(from: res + p * plane, count: plane)
            case let (nil, b?): dst.update(repeating: b[p % channels], count: plane)
            case (nil, nil): break
            }
        }
    }
    return 1
}

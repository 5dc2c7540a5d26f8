// Shape and layout ops: concatenation, splitting, permutation, nearest-neighbour upsampling.
import CKernels

/// Concatenates tensors along `axis`; all other dimensions must agree.
public func concat(_ parts: [Tensor], axis: Int) -> Tensor {
    FlopCounter.measure("concat") { () -> Tensor in
        precondition(!parts.isEmpty, "concat: no tensors")
        let rank = parts[0].rank
        precondition(axis >= 0 && axis < rank, "concat: axis \(axis) outside rank \(rank)")
        for p in parts {
            precondition(p.rank == rank && p.shape[..<axis] == parts[0].shape[..<axis]
                         && p.shape[(axis + 1)...] == parts[0].shape[(axis + 1)...],
                         "concat: shapes \(parts.map(\.shape)) do not fit along axis \(axis)")
        }
        var shape = parts[0].shape
        shape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        var y = Tensor(uninitialized: shape)
        y.withUnsafeMutableBufferPointer { buf in
            let dst = buf.baseAddress!
            let rowOut = shape[axis] * inner
            var offset = 0
            for p in parts {
                let rowIn = p.shape[axis] * inner
                for o in 0..<outer { (dst + o * rowOut + offset).update(from: p.data + o * rowIn, count: rowIn) }
                offset += rowIn
            }
        }
        return y
    }
}

/// Splits along `axis` into pieces of the given sizes (they must add up to that dimension).
public func split(_ x: Tensor, axis: Int, sizes: [Int]) -> [Tensor] {
    precondition(axis >= 0 && axis < x.rank && sizes.reduce(0, +) == x.shape[axis],
                 "split: sizes \(sizes) do not add up to axis \(axis) of \(x.shape)")
    let outer = x.shape[..<axis].reduce(1, *)
    let inner = x.shape[(axis + 1)...].reduce(1, *)
    let rowIn = x.shape[axis] * inner
    var offset = 0
    return sizes.map { size in
        var shape = x.shape
        shape[axis] = size
        let rowOut = size * inner
        let part = Tensor(shape: shape) { buf in
            for o in 0..<outer {
                (buf.baseAddress! + o * rowOut).update(from: x.data + o * rowIn + offset, count: rowOut)
            }
        }
        offset += rowOut
        return part
    }
}

/// Reorders axes: result.shape[i] = x.shape[order[i]].
public func permute(_ x: Tensor, _ order: [Int]) -> Tensor {
    FlopCounter.measure("permute") { () -> Tensor in
        precondition(order.sorted() == Array(0..<x.rank), "permute: \(order) is not a permutation of \(x.rank) axes")
        let outShape = order.map { x.shape[$0] }
        var inStrides = [Int](repeating: 1, count: x.rank)
        for i in stride(from: x.rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * x.shape[i + 1] }
        let strides = order.map { inStrides[$0] }
        var y = Tensor(uninitialized: outShape)
        if x.count == 0 { return y }
        y.withUnsafeMutableBufferPointer { buf in
            let dst = buf.baseAddress!
            let src = x.data
            let last = x.rank - 1
            let (n, step) = (outShape[last], strides[last])
            let rows = x.count / max(n, 1)
            ThreadPolicy.parallelFor(rows, minChunk: max(1, elementwiseGrain / max(n, 1))) { r in
                for row in r {
                    var rem = row
                    var base = 0
                    for axis in stride(from: last - 1, through: 0, by: -1) {
                        base += (rem % outShape[axis]) * strides[axis]
                        rem /= outShape[axis]
                    }
                    let out = dst + row * n
                    for i in 0..<n { out[i] = src[base + i * step] }
                }
            }
        }
        return y
    }
}

/// Nearest-neighbour upsampling of [B, C, H, W] to [B, C, outH, outW]: src = floor(dst · in / out).
public func upsampleNearest(_ x: Tensor, height outH: Int, width outW: Int) -> Tensor {
    FlopCounter.measure("upsample") { () -> Tensor in
        precondition(x.rank == 4, "upsampleNearest: input \(x.shape) is not NCHW")
        let (planes, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        var y = Tensor(uninitialized: [x.shape[0], x.shape[1], outH, outW])
        y.withUnsafeMutableBufferPointer { buf in
            let dst = buf.baseAddress!
            let src = x.data
            if outH == 2 * h && outW == 2 * w {
                ThreadPolicy.parallelFor(planes) { r in
                    lcm_upsample_nearest2x_f32(src + r.lowerBound * h * w, dst + r.lowerBound * outH * outW, r.count,
                                               h, w)
                }
            } else {
                ThreadPolicy.parallelFor(planes) { r in
                    for p in r {
                        for oy in 0..<outH {
                            let iy = oy * h / outH
                            for ox in 0..<outW {
                                dst[(p * outH + oy) * outW + ox] = src[(p * h + iy) * w + ox * w / outW]
                            }
                        }
                    }
                }
            }
        }
        return y
    }
}

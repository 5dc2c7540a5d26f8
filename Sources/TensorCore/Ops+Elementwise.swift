// Elementwise ops and activations over whole tensors, split across the thread policy's workers.
import CKernels

/// Work smaller than this many elements per worker is not worth a thread hop.
let elementwiseGrain = 1 << 15

@inline(__always)
func parallelElements(_ count: Int, _ body: (Int, Int) -> Void) {
    FlopCounter.measure("elementwise") {
        ThreadPolicy.parallelFor(count, minChunk: elementwiseGrain) { r in body(r.lowerBound, r.count) }
    }
}

private func checkSameShape(_ op: String, _ a: Tensor, _ b: Tensor) {
    precondition(a.shape == b.shape, "\(op): shapes \(a.shape) and \(b.shape) differ")
}

private typealias UnaryKernel = (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void

private func mapUnary(_ x: Tensor, _ kernel: UnaryKernel) -> Tensor {
    var y = Tensor(uninitialized: x.shape)
    let src = x.data
    y.withUnsafeMutableBufferPointer { out in
        let dst = out.baseAddress!
        parallelElements(x.count) { lo, n in kernel(src + lo, dst + lo, n) }
    }
    return y
}

private func applyUnaryInPlace(_ x: inout Tensor, _ kernel: UnaryKernel) {
    x.withUnsafeMutableBufferPointer { buf in
        let p = buf.baseAddress!
        parallelElements(buf.count) { lo, n in kernel(p + lo, p + lo, n) }
    }
}

public func silu(_ x: Tensor) -> Tensor { mapUnary(x, lcm_silu_f32) }
public func gelu(_ x: Tensor) -> Tensor { mapUnary(x, lcm_gelu_f32) }
public func geluTanh(_ x: Tensor) -> Tensor { mapUnary(x, lcm_gelu_tanh_f32) }
public func quickGelu(_ x: Tensor) -> Tensor { mapUnary(x, lcm_quick_gelu_f32) }
public func relu(_ x: Tensor) -> Tensor { mapUnary(x, reluKernel) }

/// max(x, 0), NaN kept (as torch.relu). A plain loop: it is memory-bound and the compiler vectorises it.
private func reluKernel(_ x: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>?, _ n: Int) {
    guard let x, let y else { return }
    for i in 0..<n {
        let v = x[i]
        y[i] = v < 0 ? 0 : v
    }
}

public enum Activation: String, Sendable, Codable {
    case silu, gelu, geluTanh = "gelu_pytorch_tanh", quickGelu = "quick_gelu", relu

    /// Accepts the spellings used by diffusers and transformers configs ("silu"/"swish", "gelu", "quick_gelu",
    /// "relu", …).
    public init?(configName: String) {
        switch configName {
        case "silu", "swish": self = .silu
        case "gelu": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        case "quick_gelu": self = .quickGelu
        case "relu": self = .relu
        default: return nil
        }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .silu: TensorCore.silu(x)
        case .gelu: TensorCore.gelu(x)
        case .geluTanh: TensorCore.geluTanh(x)
        case .quickGelu: TensorCore.quickGelu(x)
        case .relu: TensorCore.relu(x)
        }
    }

    public func applyInPlace(_ x: inout Tensor) {
        switch self {
        case .silu: applyUnaryInPlace(&x, lcm_silu_f32)
        case .gelu: applyUnaryInPlace(&x, lcm_gelu_f32)
        case .geluTanh: applyUnaryInPlace(&x, lcm_gelu_tanh_f32)
        case .quickGelu: applyUnaryInPlace(&x, lcm_quick_gelu_f32)
        case .relu: applyUnaryInPlace(&x, reluKernel)
        }
    }
}

/// GEGLU over the last axis: x = [a | g] → a · gelu(g); the last dimension halves.
public func geglu(_ x: Tensor) -> Tensor {
    let last = x.shape.last ?? 0
    precondition(last % 2 == 0, "geglu: last dimension of \(x.shape) is odd")
    let cols = last / 2
    let rows = x.count / max(last, 1)
    var y = Tensor(uninitialized: Array(x.shape.dropLast()) + [cols])
    let src = x.data
    y.withUnsafeMutableBufferPointer { out in
        let dst = out.baseAddress!
        FlopCounter.measure("geglu") {
            ThreadPolicy.parallelFor(rows, minChunk: max(1, elementwiseGrain / max(cols, 1))) { r in
                lcm_geglu_f32(src + r.lowerBound * last, dst + r.lowerBound * cols, r.count, cols)
            }
        }
    }
    return y
}

/// a + b into a new tensor, one pass (not a copy of a, then a second pass adding b).
public func + (a: Tensor, b: Tensor) -> Tensor {
    checkSameShape("add", a, b)
    var y = Tensor(uninitialized: a.shape)
    let (pa, pb) = (a.data, b.data)
    y.withUnsafeMutableBufferPointer { buf in
        let p = buf.baseAddress!
        parallelElements(buf.count) { lo, n in lcm_add_f32(pa + lo, pb + lo, p + lo, n) }
    }
    return y
}

public func += (a: inout Tensor, b: Tensor) {
    checkSameShape("add", a, b)
    let src = b.data
    a.withUnsafeMutableBufferPointer { buf in
        let p = buf.baseAddress!
        parallelElements(buf.count) { lo, n in lcm_add_f32(p + lo, src + lo, p + lo, n) }
    }
}

public func * (a: Tensor, b: Tensor) -> Tensor {
    checkSameShape("mul", a, b)
    var y = a
    let src = b.data
    y.withUnsafeMutableBufferPointer { buf in
        let p = buf.baseAddress!
        parallelElements(buf.count) { lo, n in lcm_mul_f32(p + lo, src + lo, p + lo, n) }
    }
    return y
}

public func * (a: Tensor, s: Float) -> Tensor {
    var y = a
    y *= s
    return y
}

public func *= (a: inout Tensor, s: Float) {
    a.withUnsafeMutableBufferPointer { buf in
        let p = buf.baseAddress!
        parallelElements(buf.count) { lo, n in lcm_scale_f32(p + lo, s, p + lo, n) }
    }
}

/// x [B, C, …] += bias [B, C] broadcast over the trailing (spatial) axes: one value per (sample, channel).
public func addPerChannel(_ x: inout Tensor, _ bias: Tensor) {
    precondition(x.rank >= 2 && bias.shape == [x.shape[0], x.shape[1]],
                 "addPerChannel: bias \(bias.shape) does not fit \(x.shape)")
    let (b, c) = (x.shape[0], x.shape[1])
    let plane = x.count / max(b * c, 1)
    let src = bias.data
    x.withUnsafeMutableBufferPointer { buf in
        let p = buf.baseAddress!
        for i in 0..<b { lcm_bias_planes_f32(p + i * c * plane, src + i * c, c, plane) }
    }
}

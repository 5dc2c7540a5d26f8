// 2-D convolution (cross-correlation, zero padding) for NCHW tensors and PyTorch [O, C, kh, kw] weights:
// 1×1 as one GEMM per image; 3×3 as im2col in row tiles (bounded memory) followed by GEMM.
import CKernels

public struct Padding2D: Sendable, Equatable {
    public var top, left, bottom, right: Int
    public init(top: Int, left: Int, bottom: Int, right: Int) {
        (self.top, self.left, self.bottom, self.right) = (top, left, bottom, right)
    }
    public static func same(_ p: Int) -> Padding2D { Padding2D(top: p, left: p, bottom: p, right: p) }
}

/// Largest im2col tile, in floats (64 MiB).
private let im2colBudget = 16 << 20

public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) -> Tensor {
    conv2d(x, weight: weight, bias: bias, stride: stride, padding: .same(padding))
}

public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: Padding2D) -> Tensor {
    precondition(x.rank == 4 && weight.rank == 4 && weight.shape[1] == x.shape[1],
                 "conv2d: input \(x.shape) does not fit weight \(weight.shape)")
    let (batch, cin, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (cout, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
    precondition((kh == 1 && kw == 1) || (kh == 3 && kw == 3),
                 "conv2d: only 1×1 and 3×3 kernels are supported, weight is \(weight.shape)")
    if let bias { precondition(bias.shape == [cout], "conv2d: bias \(bias.shape) does not fit weight \(weight.shape)") }
    let oh = (h + padding.top + padding.bottom - kh) / stride + 1
    let ow = (w + padding.left + padding.right - kw) / stride + 1
    precondition(oh > 0 && ow > 0, "conv2d: input \(x.shape) is too small for weight \(weight.shape)")
    FlopCounter.add(multiplyAccumulates: batch * cout * oh * ow * cin * kh * kw)
    var y = Tensor(uninitialized: [batch, cout, oh, ow])
    let direct1x1 = kh == 1 && stride == 1 && padding == .same(0)
    y.withUnsafeMutableBufferPointer { out in
        let dst = out.baseAddress!
        if direct1x1 {
            for b in 0..<batch {
                BLAS.sgemm(m: cout, n: h * w, k: cin, a: weight.data, lda: cin, b: x.data + b * cin * h * w,
                           ldb: h * w, c: dst + b * cout * h * w, ldc: h * w)
            }
        } else {
            precondition(kh == 3, "conv2d: 1×1 kernels with stride or padding are not supported")
            let kdim = cin * 9
            let tileRows = max(1, min(oh, im2colBudget / max(kdim * ow, 1)))
            let col = UnsafeMutablePointer<Float>.allocate(capacity: kdim * tileRows * ow)
            defer { col.deallocate() }
            for b in 0..<batch {
                let src = x.data + b * cin * h * w
                var oy0 = 0
                while oy0 < oh {
                    let oy1 = min(oh, oy0 + tileRows)
                    ThreadPolicy.parallelFor(cin) { cr in
                        lcm_im2col3x3_f32(src, col + cr.lowerBound * 9 * (oy1 - oy0) * ow, cr.lowerBound,
                                          cr.upperBound, h, w, stride, padding.top, padding.left, oh, ow, oy0, oy1)
                    }
                    BLAS.sgemm(m: cout, n: (oy1 - oy0) * ow, k: kdim, a: weight.data, lda: kdim, b: col,
                               ldb: (oy1 - oy0) * ow, c: dst + b * cout * oh * ow + oy0 * ow, ldc: oh * ow)
                    oy0 = oy1
                }
            }
        }
        if let bias {
            for b in 0..<batch { lcm_bias_planes_f32(dst + b * cout * oh * ow, bias.data, cout, oh * ow) }
        }
    }
    return y
}

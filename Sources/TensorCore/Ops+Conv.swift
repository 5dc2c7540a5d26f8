// 2-D convolution (cross-correlation, zero padding) for NCHW tensors and PyTorch [O, C, kh, kw] weights
// (torch.nn.functional.conv2d): 1×1 as one GEMM per image; 3×3 with stride 1 and padding 1 on enough channels
// and pixels by Winograd F(4×4, 3×3), on smaller maps F(2×2, 3×3) (Winograd.swift); 3×3 with stride 1 and
// padding 1 onto at most 8 output channels by a direct C kernel; other 3×3 as im2col in row tiles (bounded
// memory) + GEMM. A 3×3 convolution of a nearest-2× upsampled map (upsampleNearest2xConv2d) on large enough maps by
// Winograd F(4×4, 2×2) of its four output phases on the map before upsampling (Winograd.swift).
// Half-precision weights are widened to fp32 for the duration of the call (Weight.withFloat32).
import CKernels
import Foundation

public struct Padding2D: Sendable, Equatable {
    public var top, left, bottom, right: Int
    public init(top: Int, left: Int, bottom: Int, right: Int) {
        (self.top, self.left, self.bottom, self.right) = (top, left, bottom, right)
    }
    public static func same(_ p: Int) -> Padding2D { Padding2D(top: p, left: p, bottom: p, right: p) }
}

/// How a 3×3 convolution is computed.
public enum ConvolutionAlgorithm: String, Sendable {
    /// What `ConvolutionAlgorithm.choose` picks.
    case automatic
    /// im2col in row tiles + GEMM: any stride and padding (1×1 kernels: one GEMM per image).
    case im2col
    /// Winograd F(4×4, 3×3): stride 1, padding 1 only.
    case winograd
    /// Winograd F(2×2, 3×3): stride 1, padding 1 only.
    case winograd2x2
    /// Direct convolution (`lcm_conv3x3_direct_f32`): stride 1, padding 1, at most `directMaximumOutputs` output
    /// channels. A GEMM with 3 rows (a VAE's RGB conv_out) cannot use the machine: at 512² its im2col took 0.39 s,
    /// the direct kernel 0.04 s (two threads).
    case direct

    /// Most output channels the direct kernel takes.
    public static let directMaximumOutputs = 8

    /// LCM_CONV=im2col makes `automatic` always mean im2col (read once).
    static let forcedIm2col = ProcessInfo.processInfo.environment["LCM_CONV"] == "im2col"

    /// Fewest tiles per image for which `automatic` picks Winograd F(4×4), else F(2×2) (per image, so that an
    /// image's result does not depend on the batch it is computed in): below, the GEMMs are so thin that
    /// transforming and reading the 4× (F(4×4)) or 1.8× (F(2×2)) larger transformed weights costs more than the
    /// multiplications saved. 1280 channels, one thread: F(4×4) at 8×8 2× slower than im2col, at 16×16 even, at
    /// 32×32 1.65× faster. Two threads, fastest of 7, twice, each path forced in a scratch program (rerunnable
    /// figures for the 16×16 shapes in Kernels/README.md): F(2×2) at 16×16 (64 tiles) 1280 → 1280 channels
    /// 28.9–29.5 → 19.3–22.9 ms, 2560 → 1280 59.2–60.5 → 39.8–40.6 ms, 640 → 1280 14.5–15.7 → 10.6–16.6 ms; at 8×8
    /// (16 tiles) 1280 → 1280 10.4–10.9 → 12.0–12.9 ms; at 32×32 640 → 640 F(4×4) 11.9–13.7 ms, F(2×2) 17.9 ms,
    /// im2col 28.3–28.8 ms.
    static let minimumWinogradTiles = 64

    /// True when Winograd (F(4×4, 3×3) or F(2×2, 3×3)) can compute this convolution: 3×3, stride 1, padding 1.
    public static func winogradApplies(weight: [Int], stride: Int, padding: Padding2D) -> Bool {
        weight.count == 4 && weight[2] == 3 && weight[3] == 3 && stride == 1 && padding == .same(1)
    }

    /// What `automatic` runs, unless LCM_CONV=im2col: where Winograd's stride and padding apply, the direct kernel
    /// for at most `directMaximumOutputs` output channels; with at least 16 input and output channels Winograd
    /// F(4×4) if that makes `minimumWinogradTiles` tiles, else F(2×2) if that does; else im2col.
    public static func choose(input: [Int], weight: [Int], stride: Int, padding: Padding2D) -> ConvolutionAlgorithm {
        guard !forcedIm2col, winogradApplies(weight: weight, stride: stride, padding: padding) else { return .im2col }
        if weight[0] <= directMaximumOutputs { return .direct }
        guard weight[0] >= 16, weight[1] >= 16 else { return .im2col }
        let tiles = { (size: Int) in ((input[2] + size - 1) / size) * ((input[3] + size - 1) / size) }
        if tiles(4) >= minimumWinogradTiles { return .winograd }
        return tiles(2) >= minimumWinogradTiles ? .winograd2x2 : .im2col
    }
}

public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) -> Tensor {
    conv2d(x, weight: Weight(weight), bias: bias, stride: stride, padding: .same(padding))
}

/// `algorithm` other than `automatic` forces a path (tests, benchmarks).
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: Padding2D,
                   algorithm: ConvolutionAlgorithm = .automatic) -> Tensor {
    conv2d(x, weight: Weight(weight), bias: bias, stride: stride, padding: padding, algorithm: algorithm)
}

/// The convolution with fp32 or half-precision weights (widened for the duration of the call).
public func conv2d(_ x: Tensor, weight: Weight, bias: Tensor?, stride: Int, padding: Padding2D,
                   algorithm: ConvolutionAlgorithm = .automatic) -> Tensor {
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
    let macs = batch * cout * oh * ow * cin * kh * kw
    let chosen = algorithm == .automatic
        ? ConvolutionAlgorithm.choose(input: x.shape, weight: weight.shape, stride: stride, padding: padding)
        : algorithm
    var y = Tensor(uninitialized: [batch, cout, oh, ow])
    let kind = kh == 1 ? "conv1x1" : "conv3x3 \(chosen.rawValue) \(h)x\(w)"
    FlopCounter.measure(kind, multiplyAccumulates: macs) {
        y.withUnsafeMutableBufferPointer { out in
            switch chosen {
            case .winograd, .winograd2x2:
                precondition(ConvolutionAlgorithm.winogradApplies(weight: weight.shape, stride: stride,
                                                                  padding: padding),
                             "conv2d: Winograd needs a 3×3 kernel, stride 1, padding 1; got \(weight.shape), "
                             + "stride \(stride)")
                winogradConv2d(x, weight: weight, outputChannels: cout, bias: bias,
                               tile: chosen == .winograd ? .f4x4 : .f2x2, into: out.baseAddress!)
            case .direct:
                precondition(ConvolutionAlgorithm.winogradApplies(weight: weight.shape, stride: stride,
                                                                  padding: padding)
                             && cout <= ConvolutionAlgorithm.directMaximumOutputs,
                             "conv2d: the direct kernel needs a 3×3 kernel, stride 1, padding 1 and at most "
                             + "\(ConvolutionAlgorithm.directMaximumOutputs) outputs; got \(weight.shape), "
                             + "stride \(stride)")
                weight.withFloat32 { wp in
                    directConv2d(x, weight: wp, outputChannels: cout, bias: bias, into: out.baseAddress!)
                }
            case .automatic, .im2col:
                weight.withFloat32 { wp in
                    gemmConv2d(x, weight: wp, outputChannels: cout, kernel: kh, bias: bias, stride: stride,
                               padding: padding, oh: oh, ow: ow, into: out.baseAddress!)
                }
            }
        }
    }
    return y
}

/// y = conv3×3(x) + bias, stride 1, padding 1, for few output channels, split by output rows.
private func directConv2d(_ x: Tensor, weight: UnsafePointer<Float>, outputChannels cout: Int, bias: Tensor?,
                          into y: UnsafeMutablePointer<Float>) {
    let (batch, cin, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    for b in 0..<batch {
        let src = x.data + b * cin * h * w, image = y + b * cout * h * w
        ThreadPolicy.parallelFor(h, minChunk: 4) { rows in
            lcm_conv3x3_direct_f32(src, weight, bias?.data, image, cin, cout, h, w, rows.lowerBound, rows.upperBound)
        }
    }
}

/// y = conv(x) + bias through GEMMs: a 1×1 kernel (stride 1, no padding) as one GEMM per image, a 3×3 one by
/// im2col tiles. The bias goes in first and the GEMMs add to it: one pass over y instead of OpenBLAS clearing it
/// (beta 0) and a second adding the bias.
private func gemmConv2d(_ x: Tensor, weight: UnsafePointer<Float>, outputChannels cout: Int, kernel: Int,
                        bias: Tensor?, stride: Int, padding: Padding2D, oh: Int, ow: Int,
                        into y: UnsafeMutablePointer<Float>) {
    let (batch, cin, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let beta = prefillPlanes(y, planes: batch * cout, plane: oh * ow, bias: bias, residual: nil)
    if kernel == 1 && stride == 1 && padding == .same(0) {
        for b in 0..<batch {
            BLAS.sgemm(m: cout, n: h * w, k: cin, a: weight, lda: cin, b: x.data + b * cin * h * w, ldb: h * w,
                       beta: beta, c: y + b * cout * h * w, ldc: h * w)
        }
    } else {
        precondition(kernel == 3, "conv2d: 1×1 kernels with stride or padding are not supported")
        im2colConv2d(x, weight: weight, outputChannels: cout, stride: stride, padding: padding, oh: oh, ow: ow,
                     beta: beta, into: y)
    }
}

/// Largest im2col tile, in floats (64 MiB).
private let im2colBudget = 16 << 20

/// dst = conv3×3(x) + beta · dst, through im2col tiles of whole output rows and one GEMM per tile; `weight` is
/// [cout, C_in, 3, 3] in fp32.
private func im2colConv2d(_ x: Tensor, weight: UnsafePointer<Float>, outputChannels cout: Int, stride: Int,
                          padding: Padding2D, oh: Int, ow: Int, beta: Float, into dst: UnsafeMutablePointer<Float>) {
    let (batch, cin, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let kdim = cin * 9
    let tileRows = max(1, min(oh, im2colBudget / max(kdim * ow, 1)))
    WorkBuffer.convolution.with(count: kdim * tileRows * ow) { col in
        for b in 0..<batch {
            let src = x.data + b * cin * h * w
            var oy0 = 0
            while oy0 < oh {
                let oy1 = min(oh, oy0 + tileRows)
                ThreadPolicy.parallelFor(cin) { cr in
                    lcm_im2col3x3_f32(src, col + cr.lowerBound * 9 * (oy1 - oy0) * ow, cr.lowerBound,
                                      cr.upperBound, h, w, stride, padding.top, padding.left, oh, ow, oy0, oy1)
                }
                BLAS.sgemm(m: cout, n: (oy1 - oy0) * ow, k: kdim, a: weight, lda: kdim, b: col,
                           ldb: (oy1 - oy0) * ow, beta: beta, c: dst + b * cout * oh * ow + oy0 * ow, ldc: oh * ow)
                oy0 = oy1
            }
        }
    }
}

extension ConvolutionAlgorithm {
    /// Fewest 4×4 tiles per image (before upsampling) for which `automatic` computes `upsampleNearest2xConv2d` on
    /// the map before upsampling: its transformed weights are 100 points per kernel against F(4×4, 3×3)'s 36, so on
    /// small maps transforming them costs more than the multiplications saved. Two threads, fastest of 5, both
    /// paths alternated two to four times (`Weights/tools/upsample_compare.sh`, separate → folded): 1280 → 1280
    /// channels at 16² → 32² (16 tiles) 60–64 → 115–124 ms; 640 → 640 at 32² → 64² (64 tiles) 39–41 → 40–42 ms
    /// and 1280 → 1280 at 32² → 64² 161–176 → 155–174 ms, even; 512 → 512 at 64² → 128² (256 tiles) 114–118 →
    /// 77–85 ms, at 128² → 256² 451–521 → 277–309 ms, 256 → 256 at 256² → 512² 376–410 → 268–283 ms; at SDXL's
    /// sizes 640 → 640 at 64² → 128² 193–208 → 132–138 ms, 320 → 320 at 128² → 256² 145–155 → 124–125 ms.
    static let minimumFoldedTiles = 256

    /// True when `automatic` computes `upsampleNearest2xConv2d` on the map before upsampling (Winograd F(4×4, 2×2)
    /// of the four output phases), unless LCM_CONV=im2col: 3×3 kernels with at least 16 input and output channels on
    /// maps of at least `minimumFoldedTiles` tiles per image (a VAE decoder's three upsamplers at 512², none of the
    /// UNet's).
    public static func foldsUpsample(input: [Int], weight: [Int]) -> Bool {
        guard !forcedIm2col, weight.count == 4, weight[2] == 3, weight[3] == 3, weight[0] >= 16, weight[1] >= 16
        else { return false }
        return ((input[2] + 3) / 4) * ((input[3] + 3) / 4) >= minimumFoldedTiles
    }
}

/// y [B, C_out, 2H, 2W] = conv3×3(nearest2×(x [B, C_in, H, W])) + bias, stride 1, padding 1: diffusers'
/// Upsample2D (`F.interpolate(scale_factor=2.0, mode="nearest")`, then its conv; diffusers/models/upsampling.py).
/// `folded` nil: on x itself by Winograd F(4×4, 2×2) of the four output phases (Winograd.swift) where
/// `ConvolutionAlgorithm.foldsUpsample` says so, else upsampling and then `conv2d`; true or false forces either.
public func upsampleNearest2xConv2d(_ x: Tensor, weight: Weight, bias: Tensor?, folded: Bool? = nil) -> Tensor {
    precondition(x.rank == 4 && weight.rank == 4 && weight.shape[1] == x.shape[1] && weight.shape[2] == 3
                 && weight.shape[3] == 3,
                 "upsampleNearest2xConv2d: input \(x.shape) does not fit weight \(weight.shape)")
    let (batch, cin, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let cout = weight.shape[0]
    guard folded ?? ConvolutionAlgorithm.foldsUpsample(input: x.shape, weight: weight.shape) else {
        return conv2d(upsampleNearest(x, height: 2 * h, width: 2 * w), weight: weight, bias: bias, stride: 1,
                      padding: .same(1))
    }
    if let bias {
        precondition(bias.shape == [cout],
                     "upsampleNearest2xConv2d: bias \(bias.shape) does not fit weight \(weight.shape)")
    }
    var y = Tensor(uninitialized: [batch, cout, 2 * h, 2 * w])
    let macs = batch * cout * 4 * h * w * cin * 9  // of the 3×3 convolution of the upsampled map
    FlopCounter.measure("conv3x3 upsample4x4 \(2 * h)x\(2 * w)", multiplyAccumulates: macs) {
        y.withUnsafeMutableBufferPointer { out in
            winogradConv2d(x, weight: weight, outputChannels: cout, bias: bias, tile: .upsample4x4,
                           into: out.baseAddress!)
        }
    }
    return y
}

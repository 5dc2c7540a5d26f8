// The 3×3 convolution of a nearest-2× upsampled map computed on the map itself (Winograd F(4×4, 2×2) of the four
// output phases): the weight transform of single taps against exact values, and upsampleNearest2xConv2d's folded
// path against upsampling followed by a direct convolution in double and by conv2d. WinogradTests compares the
// AVX2 transform twins (Kernels/winograd_upsample_avx2.c) with the reference twins.
import CKernels
import Foundation
import Testing
import TestSupport
import TensorCore

@Suite struct WinogradUpsampleTests {
    /// A kernel with one tap set folds into one tap of some phases: the centre tap (1, 1) is tap (1, 1) of phase
    /// (0, 0), (1, 0) of (0, 1), (0, 1) of (1, 0) and (0, 0) of (1, 1), so U of phase (a, b) = G[·][1-a] G[·][1-b]ᵀ
    /// with G's columns (1, 1/2, -1/6, -1/3, 0) and (0, 1/2, 1/6, -1/6, 1/2); the corner tap (0, 0) is tap (0, 0) of
    /// every phase. Exact products, rounded once to float.
    @Test(arguments: [4, 0]) func weightTransformOfOneTap(tap: Int) {
        var g = [Float](repeating: 0, count: 9)
        g[tap] = 1
        var packed = [Float](repeating: sentinel, count: 100 * 12)
        packed.withUnsafeMutableBufferPointer {
            lcm_winograd_upsample_weights_panel_f32_ref(g, 1, 0, 1, $0.baseAddress!, 12)
        }
        let columns: [[Double]] = [[1, 0.5, -1.0 / 6, -1.0 / 3, 0], [0, 0.5, 1.0 / 6, -1.0 / 6, 0.5]]
        for a in 0..<2 {
            for b in 0..<2 {
                let (r, c) = tap == 4 ? (1 - a, 1 - b) : (0, 0)
                for i in 0..<5 {
                    for j in 0..<5 {
                        let got = packed[12 * (25 * (2 * a + b) + 5 * i + j)]
                        let want = Float(columns[r][i] * columns[c][j])
                        #expect(abs(got - want) <= want.ulp,
                                "tap \(tap) phase (\(a), \(b)) U[\(i)][\(j)] = \(got), want \(want)")
                    }
                }
            }
        }
    }

    /// Error of the folded path relative to the largest output, against upsampling + direct double convolution
    /// (or + conv2d on the larger shapes): F(4×4, 2×2)'s transforms (row sums of |Bᵀ| up to 6, of |Aᵀ| up to 11) on
    /// kernels whose taps are sums of up to four, measured from 3.6e-7 (16 channels, 1×1) to 1.0e-5 (1040 channels,
    /// 4×4, against im2col), growing with the channel count, as F(4×4, 3×3) on the upsampled map
    /// (`WinogradTests.relativeBound`).
    static let relativeBound = 2e-5

    @Test(arguments: [
        [1, 16, 16, 7, 9], [2, 17, 19, 13, 5], [1, 16, 24, 1, 1], [2, 32, 24, 32, 32], [1, 64, 64, 33, 31],
        [2, 24, 24, 250, 240],  // three chunks of 42 tile rows: the second spans images 0 and 1
        [1, 1040, 528, 4, 4],  // two blocks of transformed weights (272 and 256 output channels)
        [1, 16, 16, 9, 260],  // the per-thread schedule (≥ 253 columns, one block)
    ])
    func foldedMatchesUpsampledConvolution(shape: [Int]) {
        let (batch, cin, cout, h, w) = (shape[0], shape[1], shape[2], shape[3], shape[4])
        let (x, weight, bias) = randomConv3x3(shape)
        let folded = upsampleNearest2xConv2d(x, weight: Weight(weight), bias: bias, folded: true)
        let upsampled = upsampleNearest(x, height: 2 * h, width: 2 * w)
        let separate = conv2d(upsampled, weight: weight, bias: bias, stride: 1, padding: .same(1))
        #expect(folded.shape == [batch, cout, 2 * h, 2 * w])
        let (vsAbs, vsRel) = maxErrors(folded.scalars, separate.scalars.map(Double.init))
        #expect(vsRel <= Self.relativeBound + WinogradTests.relativeBound,
                "folded vs upsampled conv2d \(shape): \(vsRel)")
        var line = "upsample fold \(shape): vs conv2d max abs \(vsAbs) rel \(vsRel)"
        if batch * cin * cout * h * w * 36 <= 200_000_000 {  // the double-precision reference takes seconds beyond
            let (wAbs, wRel) = maxErrors(folded.scalars, directConv3x3(upsampled, weight, bias))
            line += "; vs double abs \(wAbs) rel \(wRel)"
            #expect(wRel <= Self.relativeBound, "folded \(shape): \(wRel) of the largest output")
        }
        print(line)
    }

    @Test func automaticChoice() {
        let forced = ProcessInfo.processInfo.environment["LCM_CONV"] == "im2col"
        let folds = { (input: [Int], weight: [Int]) in
            ConvolutionAlgorithm.foldsUpsample(input: input, weight: weight)
        }
        #expect(folds([1, 512, 64, 64], [512, 512, 3, 3]) == !forced)  // a VAE's upsamplers at 512²
        #expect(folds([2, 256, 61, 64], [256, 256, 3, 3]) == !forced)  // 16 × 16 tiles per image
        #expect(!folds([1, 256, 60, 64], [256, 256, 3, 3]))  // 15 × 16 tiles
        #expect(!folds([1, 640, 32, 32], [640, 640, 3, 3]))  // the UNet's last one: 64 tiles
        #expect(!folds([4, 1280, 16, 16], [1280, 1280, 3, 3]))  // 16 tiles per image, in any batch
        #expect(!folds([1, 8, 64, 64], [8, 8, 3, 3]))  // few channels
        #expect(!folds([1, 320, 64, 64], [320, 320, 1, 1]))
    }
}

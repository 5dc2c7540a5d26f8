// Winograd F(4×4, 3×3) and F(2×2, 3×3) convolution: the AVX2 transform twins (Kernels/winograd_avx2.c, and those of
// F(4×4, 2×2) of an upsampled map, Kernels/winograd_upsample_avx2.c) against the reference twins (bit for bit, odd
// sizes, writes outside the target region), and conv2d's Winograd paths against
// a direct convolution in double precision and against the im2col path; likewise the direct kernel for few
// outputs. F(2×2)'s input and output transforms have no SIMD twin (0.37 % of a UNet step's samples, Kernels/README.md):
// the convolution tests check them.
import CKernels
import Foundation
import Testing
import TestSupport
import TensorCore

private func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

private extension Optional where Wrapped == [Float] {
    /// The elements' address, or nil for nil (a C kernel's optional input).
    func withUnsafeBufferPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let self else { return body(nil) }
        return self.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

private let cpuHasAVX2FMA = lcm_cpu_has("avx2") != 0 && lcm_cpu_has("fma") != 0

/// lcm_winograd*_weights_panel_f32's signature.
private typealias WeightPanel = @Sendable (UnsafePointer<Float>, Int, Int, Int, UnsafeMutablePointer<Float>, Int)
    -> Void
/// lcm_winograd*_input_f32's signature.
private typealias InputTransform = @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int, Int, Int,
                                              Int, Int, Int, Int) -> Void
/// lcm_winograd*_output_f32's signature.
private typealias OutputTransform = @Sendable (UnsafePointer<Float>, Int, Int, UnsafePointer<Float>?,
                                               UnsafeMutablePointer<Float>, Int, Int, Int, Int, Int, Int) -> Void

/// A Winograd variant's points, its output pixels per input pixel along each side, and its transforms' twins
/// (reference, AVX2); F(2×2)'s input and output transforms have none.
private struct Variant: CustomStringConvertible, Sendable {
    let description: String
    let points, scale: Int
    let weights: (reference: WeightPanel, avx2: WeightPanel)
    var input: (reference: InputTransform, avx2: InputTransform)? = nil
    var output: (reference: OutputTransform, avx2: OutputTransform)? = nil

    static let f4x4 = Variant(
        description: "F(4×4)", points: 36, scale: 1,
        weights: ({ lcm_winograd4x4_weights_panel_f32_ref($0, $1, $2, $3, $4, $5) },
                  { lcm_winograd4x4_weights_panel_f32_avx2($0, $1, $2, $3, $4, $5) }),
        input: ({ lcm_winograd4x4_input_f32_ref($0, $1, $2, $3, $4, $5, $6, $7, $8, $9) },
                { lcm_winograd4x4_input_f32_avx2($0, $1, $2, $3, $4, $5, $6, $7, $8, $9) }),
        output: ({ lcm_winograd4x4_output_f32_ref($0, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) },
                 { lcm_winograd4x4_output_f32_avx2($0, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) }))
    static let f2x2 = Variant(
        description: "F(2×2)", points: 16, scale: 1,
        weights: ({ lcm_winograd2x2_weights_panel_f32_ref($0, $1, $2, $3, $4, $5) },
                  { lcm_winograd2x2_weights_panel_f32_avx2($0, $1, $2, $3, $4, $5) }))
    /// F(4×4, 2×2) of the four phases of an upsampled map (WinogradUpsampleTests).
    static let upsample = Variant(
        description: "upsample F(4×4, 2×2)", points: 100, scale: 2,
        weights: ({ lcm_winograd_upsample_weights_panel_f32_ref($0, $1, $2, $3, $4, $5) },
                  { lcm_winograd_upsample_weights_panel_f32_avx2($0, $1, $2, $3, $4, $5) }),
        input: ({ lcm_winograd_upsample_input_f32_ref($0, $1, $2, $3, $4, $5, $6, $7, $8, $9) },
                { lcm_winograd_upsample_input_f32_avx2($0, $1, $2, $3, $4, $5, $6, $7, $8, $9) }),
        output: ({ lcm_winograd_upsample_output_f32_ref($0, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) },
                 { lcm_winograd_upsample_output_f32_avx2($0, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10) }))
}

@Suite struct WinogradTests {
    /// Image sizes of the parity tests: every tail of an 8-tile vector group, the 64-tile row chunk of the AVX2
    /// input transform (256 columns) and its neighbours, single rows and columns.
    static let sizes: [(h: Int, w: Int)] = [
        (1, 1), (1, 5), (2, 3), (3, 4), (4, 4), (5, 6), (6, 7), (7, 9), (9, 8), (13, 5), (8, 29), (5, 31), (4, 32),
        (3, 33), (6, 35), (2, 63), (9, 100), (5, 255), (4, 256), (3, 257), (2, 263), (1, 520),
    ]

    @Suite(.enabled(if: cpuHasAVX2FMA)) struct AVX2MatchesReference {
        /// Panels of every row count, starting at channel 0 and at odd channels, written point matrices a padded
        /// stride apart: bit for bit, every entry of the panel written, rows past the count +0, nothing else touched.
        @Test(arguments: [Variant.f4x4, .f2x2, .upsample])
        fileprivate func weightTransformIsBitExact(variant: Variant) {
            var rng = SplitMix64(state: 10)
            for (cout, cin) in [(1, 1), (3, 2), (5, 3), (12, 4), (13, 5), (17, 17), (25, 64), (14, 130)] {
                let g = uniform(cout * cin * 9, 2, &rng)
                for co0 in Set([0, 1, cout > 12 ? 12 : 0]) where co0 < cout {
                    let rows = min(12, cout - co0), pointStride = 12 * cin + 5
                    var ref = [Float](repeating: sentinel, count: variant.points * pointStride)
                    var avx = ref
                    ref.withUnsafeMutableBufferPointer {
                        variant.weights.reference(g, cin, co0, rows, $0.baseAddress!, pointStride)
                    }
                    avx.withUnsafeMutableBufferPointer {
                        variant.weights.avx2(g, cin, co0, rows, $0.baseAddress!, pointStride)
                    }
                    let name = "\(variant) weight panel \(cout)×\(cin) from \(co0)"
                    #expect(bits(avx) == bits(ref), "\(name)")
                    let inPanel = { (i: Int) in i % pointStride < 12 * cin }
                    #expect((0..<ref.count).allSatisfy { inPanel($0) != (ref[$0].bitPattern == sentinel.bitPattern) },
                            "\(name) wrote outside its panel or left entries unwritten")
                    #expect((0..<ref.count).allSatisfy { !inPanel($0) || $0 % pointStride % 12 < rows
                                                         || ref[$0].bitPattern == 0 }, "\(name): padding rows not +0")
                }
            }
        }

        /// The AVX2 direct-convolution twin against the reference twin on row ranges of odd sizes, with sentinels
        /// around the rows it must write (the twins differ by FMA rounding only).
        @Test func directConvolutionMatchesReference() {
            var rng = SplitMix64(state: 11)
            for (h, w) in WinogradTests.sizes {
                for cout in 1...8 {
                    let cin = 1 + (h * w + cout) % 11
                    let x = uniform(cin * h * w, 1, &rng), weight = uniform(cout * cin * 9, 0.3, &rng)
                    let bias: [Float]? = cout % 3 == 0 ? nil : uniform(cout, 0.5, &rng)
                    let (oy0, oy1) = (h / 3, h - h / 4)
                    var r = [Float](repeating: sentinel, count: cout * h * w), a = r
                    bias.withUnsafeBufferPointer { b in
                        lcm_conv3x3_direct_f32_ref(x, weight, b, &r, cin, cout, h, w, oy0, oy1)
                        lcm_conv3x3_direct_f32_avx2(x, weight, b, &a, cin, cout, h, w, oy0, oy1)
                    }
                    for i in r.indices where r[i].isNaN || a[i].isNaN {
                        #expect(r[i].bitPattern == a[i].bitPattern, "direct \(cout)×\(cin) \(h)×\(w): element \(i)")
                    }
                    let scale = r.filter { !$0.isNaN }.map { abs(Double($0)) }.max() ?? 0
                    let worst = zip(r, a).filter { !$0.0.isNaN }.map { abs(Double($0.0) - Double($0.1)) }.max() ?? 0
                    #expect(worst <= 1e-6 * max(scale, 1e-30), "direct \(cout)×\(cin) \(h)×\(w): \(worst)")
                }
            }
        }

        @Test(arguments: [Variant.f4x4, .upsample]) fileprivate func inputTransformIsBitExact(variant: Variant) {
            var rng = SplitMix64(state: 11)
            let (reference, avx2) = variant.input!
            for (h, w) in WinogradTests.sizes {
                let (channels, tilesY, tilesX) = (3, (h + 3) / 4, (w + 3) / 4)
                let x = uniform(channels * h * w, 8, &rng)
                // tile rows 1..<tilesY when there are several (a chunk not starting at the top), else all
                let ty0 = tilesY > 1 ? 1 : 0
                let tiles = (tilesY - ty0) * tilesX
                let ld = tiles + 3, pointStride = channels * ld + 5
                var ref = [Float](repeating: sentinel, count: variant.points * pointStride)
                var avx = ref
                ref.withUnsafeMutableBufferPointer {
                    reference(x, $0.baseAddress!, ld, pointStride, 1, 3, h, w, ty0, tilesY)
                }
                avx.withUnsafeMutableBufferPointer { avx2(x, $0.baseAddress!, ld, pointStride, 1, 3, h, w, ty0, tilesY) }
                #expect(bits(avx) == bits(ref), "\(variant) input transform \(h)×\(w)")
                // written: rows 1 and 2 (channels 1..<3), tiles 0..<tiles of every point; nothing else
                let written = (0..<variant.points).flatMap { p in
                    (1..<3).flatMap { c in (0..<tiles).map { p * pointStride + c * ld + $0 } }
                }
                let untouched = Set(0..<ref.count).subtracting(written)
                #expect(untouched.allSatisfy { ref[$0].bitPattern == sentinel.bitPattern },
                        "\(variant) input transform \(h)×\(w) wrote outside its tiles")
                #expect(written.allSatisfy { !ref[$0].isNaN },
                        "\(variant) input transform \(h)×\(w) left tiles unwritten")
            }
        }

        @Test(arguments: [Variant.f4x4, .upsample], [false, true])
        fileprivate func outputTransformIsBitExact(variant: Variant, withBias: Bool) {
            var rng = SplitMix64(state: withBias ? 12 : 13)
            let (reference, avx2) = variant.output!
            for (h, w) in WinogradTests.sizes {
                let (channels, tilesY, tilesX) = (3, (h + 3) / 4, (w + 3) / 4)
                let ty0 = tilesY > 1 ? 1 : 0
                let tiles = (tilesY - ty0) * tilesX
                let ld = tiles + 3, pointStride = channels * ld + 5
                let m = uniform(variant.points * pointStride, 8, &rng)
                let bias = withBias ? uniform(channels, 2, &rng) : nil
                let (outH, outW) = (variant.scale * h, variant.scale * w)
                var ref = [Float](repeating: sentinel, count: channels * outH * outW)
                var avx = ref
                bias.withUnsafeBufferPointer { b in
                    ref.withUnsafeMutableBufferPointer {
                        reference(m, ld, pointStride, b, $0.baseAddress!, 1, 3, h, w, ty0, tilesY)
                    }
                    avx.withUnsafeMutableBufferPointer {
                        avx2(m, ld, pointStride, b, $0.baseAddress!, 1, 3, h, w, ty0, tilesY)
                    }
                }
                #expect(bits(avx) == bits(ref), "\(variant) output transform \(h)×\(w) bias \(withBias)")
                // written: channels 1 and 2, output rows from those of tile row ty0 on; nothing else
                let plane = outH * outW
                let inside = { (i: Int) in i / plane >= 1 && (i % plane) / outW >= 4 * variant.scale * ty0 }
                #expect((0..<ref.count).allSatisfy { inside($0) != (ref[$0].bitPattern == sentinel.bitPattern) },
                        "\(variant) output transform \(h)×\(w) wrote outside its tiles or left pixels unwritten")
            }
        }
    }

    /// A kernel with only its centre tap set transforms to U[i][j] = G[i][1] G[j][1], G[·][1] = (0, -1/6, 1/6,
    /// 1/12, -1/12, 0) for F(4×4) and (0, 1/2, -1/2, 0) for F(2×2): the exact products, rounded once to float.
    @Test(arguments: [Variant.f4x4, .f2x2]) fileprivate func weightTransformOfCentreTap(variant: Variant) {
        let g: [Float] = [0, 0, 0, 0, 1, 0, 0, 0, 0]
        var packed = [Float](repeating: sentinel, count: variant.points * 12)
        packed.withUnsafeMutableBufferPointer { variant.weights.reference(g, 1, 0, 1, $0.baseAddress!, 12) }
        let u = (0..<variant.points).map { packed[12 * $0] }
        let column: [Double] = variant.points == 36 ? [0, -1.0 / 6, 1.0 / 6, 1.0 / 12, -1.0 / 12, 0] : [0, 0.5, -0.5, 0]
        let n = column.count
        for i in 0..<n {
            for j in 0..<n {
                let want = Float(column[i] * column[j])
                #expect(abs(u[n * i + j] - want) <= want.ulp,
                        "\(variant) U[\(i)][\(j)] = \(u[n * i + j]), want \(want)")
            }
        }
    }

    /// Largest error of the Winograd paths relative to the largest output, against direct double convolution and
    /// against im2col. F(4×4)'s transforms amplify rounding errors (row sums of |Bᵀ| up to 10, of |Aᵀ| up to 18), so
    /// it is about ten times less accurate than im2col; measured from 2e-6 (16 channels, 7×9) to 1.7e-5 (512
    /// → 600 channels, 88×88; 1.4–1.6e-5 for 1300 → 520 at 6×6), growing with the channel count and with the number
    /// of outputs. F(2×2) (row sums 2 and 3) measured 1e-7–9e-7, as accurate as im2col.
    static let relativeBound = 2e-5

    @Test(arguments: [
        [1, 16, 16, 7, 9], [2, 17, 19, 13, 5], [1, 16, 24, 1, 1], [2, 32, 24, 64, 64], [2, 64, 64, 128, 128],
        [3, 4, 4, 700, 700],  // two chunks of 263 tile rows: the first spans images 0 and 1
        [1, 640, 520, 8, 8],  // two blocks of transformed weights (272 and 248 output channels) for F(4×4)
        [1, 1300, 520, 6, 6],  // two blocks for F(2×2) (272 and 248), three for F(4×4)
        [1, 512, 600, 88, 88],  // two chunks, each with two blocks (304 and 296; compared with im2col only)
    ])
    func winogradMatchesDirectAndIm2col(shape: [Int]) {
        for algorithm in [ConvolutionAlgorithm.winograd, .winograd2x2] { winogradMatches(shape: shape, algorithm) }
    }

    func winogradMatches(shape: [Int], _ algorithm: ConvolutionAlgorithm) {
        let (batch, cin, cout, h, w) = (shape[0], shape[1], shape[2], shape[3], shape[4])
        let (x, weight, bias) = randomConv3x3(shape)
        let winograd = conv2d(x, weight: weight, bias: bias, stride: 1, padding: .same(1), algorithm: algorithm)
        let im2col = conv2d(x, weight: weight, bias: bias, stride: 1, padding: .same(1), algorithm: .im2col)
        #expect(winograd.shape == [batch, cout, h, w])
        let (vsAbs, vsRel) = maxErrors(winograd.scalars, im2col.scalars.map(Double.init))
        #expect(vsRel <= Self.relativeBound, "\(algorithm) vs im2col \(shape): \(vsRel) of the largest output")
        var line = "\(algorithm) \(shape): vs im2col max abs \(vsAbs) rel \(vsRel)"
        if batch * cin * cout * h * w <= 200_000_000 {  // the double-precision reference takes seconds beyond
            let exact = directConv3x3(x, weight, bias)
            let (wAbs, wRel) = maxErrors(winograd.scalars, exact)
            let (iAbs, iRel) = maxErrors(im2col.scalars, exact)
            line += "; vs double abs \(wAbs) rel \(wRel); im2col vs double abs \(iAbs) rel \(iRel)"
            #expect(wRel <= Self.relativeBound, "\(algorithm) \(shape): \(wRel) of the largest output")
            #expect(iRel <= 1e-6, "im2col \(shape): \(iRel) of the largest output")
        }
        print(line)
    }

    /// The direct kernel for few output channels: conv2d's direct path against the double-precision convolution and
    /// im2col, for every output count 1...8, odd sizes (single rows and columns, every tail of an 8-pixel chunk).
    @Test(arguments: [
        [1, 1, 1, 1, 1], [1, 3, 2, 1, 9], [2, 5, 3, 7, 1], [1, 16, 4, 5, 13], [1, 7, 5, 9, 16], [2, 9, 6, 3, 17],
        [1, 33, 7, 11, 23], [1, 128, 8, 12, 70], [1, 320, 4, 16, 16],
    ])
    func directMatchesDoubleAndIm2col(shape: [Int]) {
        let (batch, cin, cout, h, w) = (shape[0], shape[1], shape[2], shape[3], shape[4])
        var rng = SplitMix64(state: UInt64(cin * 100 + cout * 10 + w))
        let x = Tensor(shape: [batch, cin, h, w], values: uniform(batch * cin * h * w, 1, &rng))
        let weight = Tensor(shape: [cout, cin, 3, 3],
                            values: uniform(cout * cin * 9, Float(1 / (3 * Double(cin).squareRoot())), &rng))
        let bias = cout % 2 == 0 ? nil : Tensor(shape: [cout], values: uniform(cout, 0.5, &rng))
        let direct = conv2d(x, weight: weight, bias: bias, stride: 1, padding: .same(1), algorithm: .direct)
        let im2col = conv2d(x, weight: weight, bias: bias, stride: 1, padding: .same(1), algorithm: .im2col)
        let (dAbs, dRel) = maxErrors(direct.scalars, directConv3x3(x, weight, bias))
        let (_, vsIm2col) = maxErrors(direct.scalars, im2col.scalars.map(Double.init))
        print("direct \(shape): vs double abs \(dAbs) rel \(dRel); vs im2col rel \(vsIm2col)")
        #expect(direct.shape == [batch, cout, h, w])
        // one float accumulator per output over cin·9 terms (2880 at 320 channels): 1.1e-6 measured at the
        // largest sizes, where im2col's blocked GEMM sums reach 1e-6
        #expect(dRel <= 4e-6, "direct \(shape): \(dRel) of the largest output")
        #expect(vsIm2col <= 4e-6, "direct vs im2col \(shape): \(vsIm2col)")
    }

    @Test func automaticChoice() {
        let forced = ProcessInfo.processInfo.environment["LCM_CONV"] == "im2col"
        let choose = { (input: [Int], weight: [Int], stride: Int, padding: Int) in
            ConvolutionAlgorithm.choose(input: input, weight: weight, stride: stride, padding: .same(padding))
        }
        #expect(choose([1, 320, 64, 64], [320, 320, 3, 3], 1, 1) == (forced ? .im2col : .winograd))
        #expect(choose([2, 16, 32, 32], [16, 16, 3, 3], 1, 1) == (forced ? .im2col : .winograd))
        #expect(choose([1, 320, 64, 64], [320, 320, 3, 3], 2, 1) == .im2col)  // strided
        #expect(choose([1, 320, 64, 64], [320, 320, 3, 3], 1, 0) == .im2col)  // unpadded
        #expect(choose([1, 4, 64, 64], [320, 4, 3, 3], 1, 1) == .im2col)  // few input channels
        #expect(choose([1, 320, 64, 64], [3, 320, 3, 3], 1, 1) == (forced ? .im2col : .direct))  // few outputs
        #expect(choose([1, 128, 64, 64], [8, 128, 3, 3], 1, 1) == (forced ? .im2col : .direct))
        #expect(choose([1, 128, 64, 64], [9, 128, 3, 3], 1, 1) == .im2col)
        #expect(choose([1, 128, 64, 64], [3, 128, 3, 3], 2, 1) == .im2col)  // strided: not for the direct kernel
        #expect(choose([1, 1280, 8, 8], [1280, 1280, 3, 3], 1, 1) == .im2col)  // 4 or 16 tiles: weight-bound GEMMs
        #expect(choose([1, 1280, 16, 16], [1280, 1280, 3, 3], 1, 1) == (forced ? .im2col : .winograd2x2))
        #expect(choose([1, 1280, 15, 16], [1280, 1280, 3, 3], 1, 1) == (forced ? .im2col : .winograd2x2))
        #expect(choose([1, 1280, 14, 15], [1280, 1280, 3, 3], 1, 1) == .im2col)  // 7 × 8 tiles of F(2×2)...
        #expect(choose([4, 1280, 8, 8], [1280, 1280, 3, 3], 1, 1) == .im2col)  // ... or 16 per image in a batch
        #expect(choose([4, 1280, 16, 16], [1280, 1280, 3, 3], 1, 1) == (forced ? .im2col : .winograd2x2))
        #expect(choose([1, 640, 32, 32], [640, 640, 3, 3], 1, 1) == (forced ? .im2col : .winograd))
        #expect(choose([1, 320, 64, 64], [320, 320, 1, 1], 1, 0) == .im2col)
    }
}

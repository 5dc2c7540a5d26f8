// Parity of the AVX2 and AVX-512 kernel twins (Kernels/avx2.c, avx512.c) with the portable reference twins
// (Kernels/ref.c), and the reference twins themselves against hand-computed values.
import CKernels
import Testing
import TensorCore
import TestSupport


/// Elements at an address one element past an allocation (so never 32-byte aligned), followed by eight
/// sentinel elements that a kernel writing past the end would overwrite.
private final class Unaligned<T: BinaryInteger> {
    private let base: UnsafeMutablePointer<T>
    let p: UnsafeMutablePointer<T>
    let count: Int
    private static var sentinel: T { T(truncatingIfNeeded: 0x7FC0_5A5A) }

    init(_ values: [T]) {
        count = values.count
        base = .allocate(capacity: count + 9)
        base.initialize(repeating: Self.sentinel, count: count + 9)
        p = base + 1
        p.update(from: values, count: count)
    }

    var array: [T] { Array(UnsafeBufferPointer(start: p, count: count)) }
    var trailerIntact: Bool { (0..<8).allSatisfy { p[count + $0] == Self.sentinel } }
    deinit { base.deallocate() }
}

/// Float views of an Unaligned<UInt32> (the bit patterns, so NaN sentinels compare exactly).
private final class Floats {
    let bits: Unaligned<UInt32>
    init(_ values: [Float]) { bits = Unaligned(values.map(\.bitPattern)) }
    convenience init(count: Int) { self.init([Float](repeating: Float(bitPattern: 0x7FC0_0001), count: count)) }
    var p: UnsafeMutablePointer<Float> { UnsafeMutableRawPointer(bits.p).assumingMemoryBound(to: Float.self) }
    var array: [Float] { bits.array.map(Float.init(bitPattern:)) }
}

/// Lengths every parity test covers: all of 1...1025 (every tail length, many whole-vector counts).
private let lengths = Array(1...1025)

/// Activation inputs: mostly [-20, 20] (where the functions bend), some [-120, 120] (exp overflow and
/// underflow of x/(1+e^-kx)), some of magnitude 2^-24 ... 2^100 with either sign.
private func wideValues(_ count: Int, _ rng: inout SplitMix64) -> [Float] {
    (0..<count).map { _ in
        switch rng.next() % 8 {
        case 0:
            let v = Float(sign: .plus, exponent: Int.random(in: -24...100, using: &rng),
                          significand: Float.random(in: 1..<2, using: &rng))
            return Bool.random(using: &rng) ? v : -v
        case 1: return Float.random(in: -120...120, using: &rng)
        default: return Float.random(in: -20...20, using: &rng)
        }
    }
}

private func uniform(_ count: Int, _ range: ClosedRange<Float>, _ rng: inout SplitMix64) -> [Float] {
    (0..<count).map { _ in Float.random(in: range, using: &rng) }
}

/// max |a - r| / max(|r|, floor); NaN must meet NaN and infinities must be equal.
private func worstRelativeError(_ a: [Float], _ r: [Float], floor: Float) -> Double {
    var worst = 0.0
    for (x, y) in zip(a, r) where x != y {
        if x.isNaN && y.isNaN { continue }
        worst = worse(worst, abs(Double(x) - Double(y)) / Double(max(abs(y), floor)))
    }
    return a.count == r.count ? worst : .infinity
}

private func report(_ kernel: String, _ worst: Double) {
    print("kernel parity: \(kernel) worst relative error \(worst)")
}

typealias KernelUnary = (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void

private let cpuHasAVX2FMA = lcm_cpu_has("avx2") != 0 && lcm_cpu_has("fma") != 0
private let cpuHasAVX512 = KernelBenchmark.avx512Available

/// A fast activation twin against its reference on every length, in place too.
private func checkActivation(_ name: String, _ ref: KernelUnary, _ fast: KernelUnary) {
    var rng = SplitMix64(state: 3)
    var worst = 0.0
    for n in lengths {
        let x = Floats(wideValues(n, &rng))
        let r = Floats(count: n), a = Floats(count: n)
        ref(x.p, r.p, n)
        fast(x.p, a.p, n)
        #expect(a.bits.trailerIntact, "\(name) n=\(n) wrote past the end")
        worst = max(worst, worstRelativeError(a.array, r.array, floor: KernelParityTests.activationFloor))
        fast(x.p, x.p, n)  // y may alias x
        #expect(x.bits.array == a.bits.array, "\(name) n=\(n) in place")
    }
    report(name, worst)
    #expect(worst <= KernelParityTests.bound, "\(name)")
}

private typealias SoftmaxKernel = (UnsafeMutablePointer<Float>?, Int, Int, Float, UnsafeMutablePointer<Float>?) -> Void

/// A fast softmax twin against the reference on every length, normalised and unnormalised with sums.
private func checkSoftmax(_ name: String, _ fast: SoftmaxKernel) {
    var rng = SplitMix64(state: 5)
    var worst = 0.0
    for n in lengths {
        // attention-like rows, and rows spread so far that most terms underflow
        for (range, scale) in [(Float(-12)...12, Float(1)), (-300...300, 0.37)] {
            let values = uniform(2 * n, range, &rng)
            let r = Floats(values), a = Floats(values)
            lcm_softmax_rows_f32_ref(r.p, 2, n, scale, nil)
            fast(a.p, 2, n, scale, nil)
            #expect(a.bits.trailerIntact, "\(name) n=\(n) wrote past the end")
            worst = max(worst, worstRelativeError(a.array, r.array, floor: KernelParityTests.normalFloor))
            let ru = Floats(values), au = Floats(values)
            var sumsR: [Float] = [0, 0], sumsA: [Float] = [0, 0]
            lcm_softmax_rows_f32_ref(ru.p, 2, n, scale, &sumsR)
            fast(au.p, 2, n, scale, &sumsA)
            #expect(au.bits.trailerIntact, "unnormalised \(name) n=\(n) wrote past the end")
            worst = max(worst, worstRelativeError(au.array, ru.array, floor: KernelParityTests.normalFloor))
            worst = max(worst, worstRelativeError(sumsA, sumsR, floor: KernelParityTests.normalFloor))
        }
    }
    report(name, worst)
    #expect(worst <= KernelParityTests.bound)
}

private typealias GroupNormKernel = (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafePointer<Float>?,
                                     UnsafePointer<Float>?, Int, Int, Float, Int32) -> Void

/// A fast GroupNorm twin against the reference: three channels of every plane length, with and without
/// gamma, beta and the fused SiLU.
private func checkGroupNorm(_ name: String, _ fast: GroupNormKernel) {
    var rng = SplitMix64(state: 7)
    var worst = 0.0
    for n in lengths {
        // every fifth group far from zero (mean 1000.5, spread 1): the one-pass statistics of the SIMD twins
        let x = Floats(uniform(3 * n, n % 5 == 0 ? 1000...1001 : -3...7, &rng))
        let gamma = Floats(uniform(3, -2...2, &rng)), beta = Floats(uniform(3, -1...1, &rng))
        let g = n % 3 == 0 ? nil : gamma.p, b = n % 3 == 1 ? nil : beta.p
        let silu: Int32 = n % 2 == 0 ? 1 : 0
        let r = Floats(count: 3 * n), a = Floats(count: 3 * n)
        lcm_groupnorm_group_f32_ref(x.p, r.p, g, b, 3, n, 1e-6, silu)
        fast(x.p, a.p, g, b, 3, n, 1e-6, silu)
        #expect(a.bits.trailerIntact, "\(name) n=\(n) wrote past the end")
        worst = max(worst, worstRelativeError(a.array, r.array, floor: KernelParityTests.normalFloor))
    }
    report(name, worst)
    #expect(worst <= KernelParityTests.bound)
}

@Suite struct KernelParityTests {
    /// Bound for kernels that approximate exp/erf: |a - r| <= 1e-6 * max(|r|, floor).
    static let bound = 1e-6
    /// Floor of the activations: expf overflows above 88.72, so x / (1 + e^(-kx)) is exactly 0 once the true value
    /// falls below about |x| * 2^-128 (~1e-37), and erfc is subnormal below 1e-38; the two twins reach that cliff
    /// at slightly different arguments. Values under 1e-30 are therefore compared with an absolute tolerance of
    /// 1e-36 instead; everything above keeps the full 1e-6 relative bound.
    static let activationFloor: Float = 1e-30
    /// Floor of softmax and the norms: the smallest normal float. Below it results are subnormal and carry fewer
    /// than 24 significant bits, so only an absolute tolerance (1.2e-44, eight subnormal steps) is meaningful.
    static let normalFloor = Float.leastNormalMagnitude

    @Suite(.enabled(if: cpuHasAVX2FMA)) struct AVX2MatchesReference {
        @Test func halfPrecisionConversionIsBitExactForAllInputs() {
            let all = Unaligned((0...UInt16.max).map { $0 })
            for (name, ref, avx2) in [("f16", lcm_f16_to_f32_ref, lcm_f16_to_f32_avx2),
                                      ("bf16", lcm_bf16_to_f32_ref, lcm_bf16_to_f32_avx2)] {
                let r = Floats(count: all.count), a = Floats(count: all.count)
                ref(all.p, r.p, all.count)
                avx2(all.p, a.p, all.count)
                #expect(a.bits.array == r.bits.array, "\(name): all 65536 inputs")
                var rng = SplitMix64(state: 1)
                for n in lengths {
                    let src = Unaligned((0..<n).map { _ in UInt16(truncatingIfNeeded: rng.next()) })
                    let r = Floats(count: n), a = Floats(count: n)
                    ref(src.p, r.p, n)
                    avx2(src.p, a.p, n)
                    #expect(a.bits.array == r.bits.array && a.bits.trailerIntact, "\(name) n=\(n)")
                }
            }
        }

        @Test func elementwiseIsBitExact() {
            var rng = SplitMix64(state: 2)
            for n in lengths {
                let x = Floats(wideValues(n, &rng)), b = Floats(wideValues(n, &rng))
                let s = Float.random(in: -3...3, using: &rng)
                let cases: [(String, (UnsafeMutablePointer<Float>) -> Void, (UnsafeMutablePointer<Float>) -> Void)] = [
                    ("add", { lcm_add_f32_ref(x.p, b.p, $0, n) }, { lcm_add_f32_avx2(x.p, b.p, $0, n) }),
                    ("mul", { lcm_mul_f32_ref(x.p, b.p, $0, n) }, { lcm_mul_f32_avx2(x.p, b.p, $0, n) }),
                    ("scale", { lcm_scale_f32_ref(x.p, s, $0, n) }, { lcm_scale_f32_avx2(x.p, s, $0, n) }),
                ]
                for (name, ref, avx2) in cases {
                    let r = Floats(count: n), a = Floats(count: n)
                    ref(r.p)
                    avx2(a.p)
                    #expect(a.bits.array == r.bits.array && a.bits.trailerIntact, "\(name) n=\(n)")
                }
                let channelBias = Floats(wideValues(3, &rng))
                let planesRef = Floats(wideValues(3 * n, &rng)), planesAVX = Floats(planesRef.array)
                lcm_bias_planes_f32_ref(planesRef.p, channelBias.p, 3, n)
                lcm_bias_planes_f32_avx2(planesAVX.p, channelBias.p, 3, n)
                #expect(planesAVX.bits.array == planesRef.bits.array && planesAVX.bits.trailerIntact,
                        "bias_planes n=\(n)")
            }
        }

        enum Activation: String, CaseIterable, Sendable {
            case silu, gelu, geluTanh, quickGelu
            var twins: (ref: KernelUnary, avx2: KernelUnary) {
                switch self {
                case .silu: (lcm_silu_f32_ref, lcm_silu_f32_avx2)
                case .gelu: (lcm_gelu_f32_ref, lcm_gelu_f32_avx2)
                case .geluTanh: (lcm_gelu_tanh_f32_ref, lcm_gelu_tanh_f32_avx2)
                case .quickGelu: (lcm_quick_gelu_f32_ref, lcm_quick_gelu_f32_avx2)
                }
            }
        }

        @Test(arguments: Activation.allCases)
        func activationsWithinBound(_ activation: Activation) {
            checkActivation(activation.rawValue, activation.twins.0, activation.twins.1)
        }

        @Test func gegluWithinBound() {
            var rng = SplitMix64(state: 4)
            var worst = 0.0
            for n in lengths {
                // rows of [a | g]: gates over the wide activation range, values of hidden-state size (a huge `a`
                // would lift a subnormal gelu(g), which has few significant bits, above the floor)
                let x = Floats((0..<2).flatMap { _ in uniform(n, -20...20, &rng) + wideValues(n, &rng) })
                let r = Floats(count: 2 * n), a = Floats(count: 2 * n)
                lcm_geglu_f32_ref(x.p, r.p, 2, n)
                lcm_geglu_f32_avx2(x.p, a.p, 2, n)
                #expect(a.bits.trailerIntact, "geglu n=\(n) wrote past the end")
                worst = max(worst, worstRelativeError(a.array, r.array, floor: KernelParityTests.activationFloor))
            }
            report("geglu", worst)
            #expect(worst <= KernelParityTests.bound)
        }

        @Test func softmaxWithinBound() { checkSoftmax("softmax_rows", lcm_softmax_rows_f32_avx2) }

        @Test func layerNormWithinBound() {
            var rng = SplitMix64(state: 6)
            var worst = 0.0
            for n in lengths {
                let x = Floats(uniform(2 * n, -4...10, &rng))
                let gamma = Floats(uniform(n, -2...2, &rng)), beta = Floats(uniform(n, -1...1, &rng))
                let g = n % 3 == 0 ? nil : gamma.p, b = n % 3 == 1 ? nil : beta.p
                let r = Floats(count: 2 * n), a = Floats(count: 2 * n)
                lcm_layernorm_f32_ref(x.p, r.p, g, b, 2, n, 1e-5)
                lcm_layernorm_f32_avx2(x.p, a.p, g, b, 2, n, 1e-5)
                #expect(a.bits.trailerIntact, "layernorm n=\(n) wrote past the end")
                worst = max(worst, worstRelativeError(a.array, r.array, floor: KernelParityTests.normalFloor))
            }
            report("layernorm", worst)
            #expect(worst <= KernelParityTests.bound)
        }

        @Test func groupNormWithinBound() { checkGroupNorm("groupnorm_group", lcm_groupnorm_group_f32_avx2) }

        @Test func upsampleIsBitExact() {
            var rng = SplitMix64(state: 8)
            for w in lengths {
                let h = 1 + w % 3
                let x = Floats(wideValues(2 * h * w, &rng))
                let r = Floats(count: 8 * h * w), a = Floats(count: 8 * h * w)
                lcm_upsample_nearest2x_f32_ref(x.p, r.p, 2, h, w)
                lcm_upsample_nearest2x_f32_avx2(x.p, a.p, 2, h, w)
                #expect(a.bits.array == r.bits.array && a.bits.trailerIntact, "upsample h=\(h) w=\(w)")
            }
        }

        @Test func im2colIsBitExact() {
            var rng = SplitMix64(state: 9)
            let widths = Array(1...70) + [127, 128, 129, 255, 513, 1025]
            for w in widths {
                for h in [1, 2, 3, 4, 7] {
                    let x = Floats(wideValues(3 * h * w, &rng))
                    // (pad top/left, pad bottom/right): "same" 3x3, none, and the (0, 1) pad of strided downsampling
                    for stride in [1, 2] {
                        for (pad, padEnd) in [(1, 1), (0, 0), (0, 1)] where h + pad + padEnd >= 3 && w + pad + padEnd >= 3 {
                            let oh = (h + pad + padEnd - 3) / stride + 1, ow = (w + pad + padEnd - 3) / stride + 1
                            // all output rows, and a tile of rows in the middle
                            for (oy0, oy1) in oh >= 4 ? [(0, oh), (oh / 3, oh - oh / 4)] : [(0, oh)] {
                                let count = 2 * 9 * (oy1 - oy0) * ow
                                let r = Floats(count: count), a = Floats(count: count)
                                lcm_im2col3x3_f32_ref(x.p, r.p, 1, 3, h, w, stride, pad, pad, oh, ow, oy0, oy1)
                                lcm_im2col3x3_f32_avx2(x.p, a.p, 1, 3, h, w, stride, pad, pad, oh, ow, oy0, oy1)
                                #expect(a.bits.array == r.bits.array && a.bits.trailerIntact,
                                        "im2col h=\(h) w=\(w) stride=\(stride) pad=\(pad),\(padEnd) rows \(oy0)..<\(oy1)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// The AVX-512 twins (Kernels/avx512.c) of the exp-bound kernels, to the same bounds.
    @Suite(.enabled(if: cpuHasAVX512)) struct AVX512MatchesReference {
        @Test func siluWithinBound() { checkActivation("silu avx512", lcm_silu_f32_ref, lcm_silu_f32_avx512) }
        @Test func softmaxWithinBound() { checkSoftmax("softmax_rows avx512", lcm_softmax_rows_f32_avx512) }
        @Test func groupNormWithinBound() { checkGroupNorm("groupnorm_group avx512", lcm_groupnorm_group_f32_avx512) }
    }

    @Suite struct ReferenceValues {
        /// |a - e| <= tolerance * |e| elementwise.
        func expectClose(_ a: [Float], _ e: [Double], _ tolerance: Double, _ what: String) {
            #expect(a.count == e.count, "\(what)")
            for (x, y) in zip(a, e) { #expect(abs(Double(x) - y) <= tolerance * abs(y), "\(what): \(x) vs \(y)") }
        }

        func unary(_ f: KernelUnary, _ xs: [Float]) -> [Float] {
            var y = [Float](repeating: 0, count: xs.count)
            f(xs, &y, xs.count)
            return y
        }

        // Expected values from mpmath at 30 digits of the textbook formulas.
        @Test func activations() {
            let xs: [Float] = [1, -1, -3, 3, -10]
            expectClose(unary(lcm_gelu_f32_ref, xs), [0.84134474606854295, -0.15865525393145705,
                        -0.0040496940948902836, 2.9959503059051097, -7.6198530241605261e-23], 1e-6, "gelu")
            expectClose(unary(lcm_gelu_tanh_f32_ref, xs), [0.8411919906082767, -0.1588080093917233,
                        -0.0036373920817730188, 2.996362607918227, -1.204092348209806e-37], 1e-6, "gelu_tanh")
            let ys: [Float] = [1, -1, -20, 20]
            expectClose(unary(lcm_silu_f32_ref, ys), [0.73105857863000488, -0.26894142136999512,
                        -4.1223072363804072e-8, 19.999999958776928], 1e-6, "silu")
            expectClose(unary(lcm_quick_gelu_f32_ref, ys), [0.8457957659328213, -0.1542042340671787,
                        -3.2934102413993717e-14, 19.999999999999967], 1e-6, "quick_gelu")
            var geglu: [Float] = [2, -3, 1, -1], out: [Float] = [0, 0]  // one row: a = [2, -3], g = [1, -1]
            lcm_geglu_f32_ref(&geglu, &out, 1, 2)
            expectClose(out, [2 * 0.84134474606854295, -3 * -0.15865525393145705], 1e-6, "geglu")
        }

        @Test func softmaxRows() {
            var known: [Float] = [1, 2, 3]
            lcm_softmax_rows_f32_ref(&known, 1, 3, 1, nil)
            expectClose(known, [0.090030573170380458, 0.24472847105479765, 0.66524095577482189], 3e-7, "softmax")
            var equal: [Float] = [0, 0, 0, 0, 7, 7, 7, 7]  // two rows of four equal logits
            lcm_softmax_rows_f32_ref(&equal, 2, 4, 1, nil)
            expectClose(equal, [Double](repeating: 0.25, count: 8), 3e-7, "softmax of equal logits")
            var scaled: [Float] = [0, 0.5493061443340549, 0]  // scale 2 makes the logits [0, ln 3, 0]
            lcm_softmax_rows_f32_ref(&scaled, 1, 3, 2, nil)
            expectClose(scaled, [0.2, 0.6, 0.2], 3e-7, "scaled softmax")
            var unnormalised: [Float] = [0, 0.5493061443340549, 0], sum: Float = 0  // exp([0, ln 3, 0] − ln 3)
            lcm_softmax_rows_f32_ref(&unnormalised, 1, 3, 2, &sum)
            expectClose(unnormalised + [sum], [1.0 / 3, 1, 1.0 / 3, 5.0 / 3], 3e-7, "unnormalised softmax and sum")
        }

        @Test func layerNormAndGroupNorm() {
            let x: [Float] = [1, 2, 3, 4]
            var y = [Float](repeating: 0, count: 4)
            lcm_layernorm_f32_ref(x, &y, nil, nil, 1, 4, 1e-5)  // mean 2.5, variance 1.25
            expectClose(y, [-1.341635419968927, -0.44721180665630899, 0.44721180665630899, 1.341635419968927],
                        3e-7, "layernorm")
            let gamma: [Float] = [1, 2], beta: [Float] = [0, 1]  // two channels of a 2-element plane, one group
            lcm_groupnorm_group_f32_ref(x, &y, gamma, beta, 2, 2, 0, 0)
            expectClose(y, [-1.3416407864998738, -0.44721359549995794, 1.8944271909999159, 3.6832815729997476],
                        3e-7, "groupnorm")
            lcm_groupnorm_group_f32_ref(x, &y, gamma, beta, 2, 2, 0, 1)
            expectClose(y, [-0.27804212134497784, -0.17442379501975521, 1.646748818576201, 3.5929535022770317],
                        3e-7, "groupnorm+silu")
        }

        @Test func halfConversions() {
            let halves: [UInt16] = [0x3C00, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0xFC00, 0x8000, 0xC000]
            var f = [Float](repeating: 0, count: halves.count)
            lcm_f16_to_f32_ref(halves, &f, halves.count)
            let expected: [Float] = [1, 0x1p-24, 1023 * 0x1p-24, 0x1p-14, 65504, -.infinity, -0.0, -2]
            #expect(f.map(\.bitPattern) == expected.map(\.bitPattern))
            var nan: Float = 0
            lcm_f16_to_f32_ref([0x7D01], &nan, 1)  // signalling NaN keeps its payload
            #expect(nan.bitPattern == 0x7FA0_2000)
            var b = [Float](repeating: 0, count: 2)
            lcm_bf16_to_f32_ref([0x3F80, 0xC000], &b, 2)
            #expect(b == [1, -2])
            // f32 -> f16 rounds to nearest even, overflows to inf at 65520, and inverts f16 -> f32 exactly
            let ties: [Float] = [1 + 0x1p-11, 1 + 3 * 0x1p-11, 65520, 65519.996, 0x1p-25, 3 * 0x1p-25]
            var h = [UInt16](repeating: 0, count: ties.count)
            lcm_f32_to_f16_ref(ties, &h, ties.count)
            #expect(h == [0x3C00, 0x3C02, 0x7C00, 0x7BFF, 0x0000, 0x0002])
            let all = (0...UInt16.max).map { $0 }
            var wide = [Float](repeating: 0, count: all.count), back = [UInt16](repeating: 0, count: all.count)
            lcm_f16_to_f32_ref(all, &wide, all.count)
            lcm_f32_to_f16_ref(wide, &back, all.count)
            let mismatched = zip(all, back).filter { (($0.0 & 0x7C00) != 0x7C00 || ($0.0 & 0x3FF) == 0) && $0.0 != $0.1 }
            #expect(mismatched.isEmpty, "f16 -> f32 -> f16 round trip: \(mismatched.prefix(4))")
        }

        @Test func upsampleAndIm2col() {
            let x: [Float] = [1, 2, 3, 4]
            var up = [Float](repeating: 0, count: 16)
            lcm_upsample_nearest2x_f32_ref(x, &up, 1, 2, 2)
            #expect(up == [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
            let image: [Float] = (1...9).map(Float.init)  // 3x3, "same" padding: 9 taps of 9 outputs
            var col = [Float](repeating: -1, count: 81)
            lcm_im2col3x3_f32_ref(image, &col, 0, 1, 3, 3, 1, 1, 1, 3, 3, 0, 3)
            #expect(Array(col[0..<9]) == [0, 0, 0, 0, 1, 2, 0, 4, 5])  // tap (0, 0)
            #expect(Array(col[36..<45]) == image)  // centre tap
            #expect(Array(col[72..<81]) == [5, 6, 0, 8, 9, 0, 0, 0, 0])  // tap (2, 2)
            var tile = [Float](repeating: -1, count: 27)  // output row 2 only: 9 taps of 3 columns
            lcm_im2col3x3_f32_ref(image, &tile, 0, 1, 3, 3, 1, 1, 1, 3, 3, 2, 3)
            #expect(Array(tile[0..<3]) == [0, 4, 5] && Array(tile[24..<27]) == [0, 0, 0])  // taps (0, 0), (2, 2)
        }
    }
}

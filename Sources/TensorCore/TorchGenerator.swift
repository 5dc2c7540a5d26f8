// Port of torch's CPU generator and float32 sampling: aten/src/ATen/CPUGeneratorImpl.cpp (mt19937),
// aten/src/ATen/core/DistributionsHelper.h (uniform_real / normal_distribution<double>),
// aten/src/ATen/native/cpu/DistributionTemplates.h (normal_kernel, normal_fill_AVX2) and avx_mathfun.h.
import Foundation

/// Reproduces `torch.Generator()` on the CPU: `TorchGenerator(seed: s).randn(shape)` equals
/// `torch.randn(shape, generator=torch.Generator().manual_seed(s))` as computed by x86-64 torch builds
/// (AVX2 or AVX-512 kernels; torch built without them, e.g. on aarch64, rounds the ≥ 16-element path differently).
/// Successive calls continue one stream, as successive torch calls with the same generator do.
public struct TorchGenerator: Sendable {
    /// The seed given to `init(seed:)`; torch keeps all 64 bits but seeds MT19937 with the low 32.
    public let initialSeed: UInt64
    private var engine: MT19937
    /// Second value of the last double-precision Box–Muller pair (torch's `next_double_normal_sample`).
    private var cachedNormal: Double?

    public init(seed: UInt64) {
        initialSeed = seed
        engine = MT19937(seed: UInt32(truncatingIfNeeded: seed))
        cachedNormal = nil
    }

    /// `torch.randn(shape, generator=g)` for float32.
    public mutating func randn(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape) { normalFill($0) }
    }

    /// `torch.rand(shape, generator=g)` for float32: uniforms in [0, 1) with 24 random bits each.
    public mutating func rand(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape) { out in
            for i in out.indices { out[i] = nextUniformFloat() }
        }
    }

    // MARK: - Sampling (DistributionTemplates.h normal_kernel)

    private mutating func normalFill(_ data: UnsafeMutableBufferPointer<Float>) {
        let size = data.count
        guard size >= 16 else {
            // normal_distribution<double> per element, each Box–Muller pair giving two values.
            for i in 0..<size { data[i] = Float(nextNormalDouble()) }
            return
        }
        for i in 0..<size { data[i] = nextUniformFloat() }
        var start = 0
        while start + 16 <= size {
            Self.boxMuller16(data.baseAddress! + start)
            start += 16
        }
        if size % 16 != 0 {
            // Sixteen fresh uniforms replace the last 16 elements, overlapping the last full block.
            let tail = data.baseAddress! + (size - 16)
            for i in 0..<16 { tail[i] = nextUniformFloat() }
            Self.boxMuller16(tail)
        }
    }

    /// `uniform_real_distribution<float>(0, 1)`: the low 24 bits of one 32-bit draw, times 2^-24.
    private mutating func nextUniformFloat() -> Float {
        Float(engine.next() & 0x00FF_FFFF) * 0x1p-24
    }

    /// `uniform_real_distribution<double>(0, 1)`: the low 53 bits of two 32-bit draws (first is high), times 2^-53.
    private mutating func nextUniformDouble() -> Double {
        let high = UInt64(engine.next())
        let low = UInt64(engine.next())
        return Double(((high << 32) | low) & ((1 << 53) - 1)) * 0x1p-53
    }

    /// `normal_distribution<double>(0, 1)` with torch's one-value cache.
    private mutating func nextNormalDouble() -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached
        }
        let u1 = nextUniformDouble()
        let u2 = nextUniformDouble()
        let r = (-2.0 * Foundation.log1p(-u2)).squareRoot()
        let theta = 2.0 * Double.pi * u1
        cachedNormal = r * Foundation.sin(theta)
        return r * Foundation.cos(theta)
    }

    /// `normal_fill_16_AVX2`: values j and j+8 of a block become the Box–Muller pair of (1 − v[j], v[j+8]).
    private static func boxMuller16(_ block: UnsafeMutablePointer<Float>) {
        let twoPi = Float(2.0 * Double.pi)
        for j in 0..<8 {
            let u1 = 1 - block[j]
            let u2 = block[j + 8]
            let radius = (-2 * AVXMathFun.log(u1)).squareRoot()
            let (sine, cosine) = AVXMathFun.sincos(twoPi * u2)
            block[j] = radius * cosine
            block[j + 8] = radius * sine
        }
    }
}

/// The 32-bit Mersenne Twister with torch's seeding (`mt19937` in ATen/core/MT19937RNGEngine.h).
private struct MT19937: Sendable {
    private static let n = 624
    private static let m = 397
    private var state: [UInt32]
    private var index: Int

    init(seed: UInt32) {
        var state = [UInt32](repeating: 0, count: Self.n)
        state[0] = seed
        for i in 1..<Self.n {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
        self.state = state
        index = Self.n
    }

    mutating func next() -> UInt32 {
        if index >= Self.n { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        state.withUnsafeMutableBufferPointer { mt in
            for i in 0..<Self.n {
                let y = (mt[i] & 0x8000_0000) | (mt[(i + 1) % Self.n] & 0x7FFF_FFFF)
                mt[i] = mt[(i + Self.m) % Self.n] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908_B0DF : 0)
            }
        }
        index = 0
    }
}

/// Scalar replicas of `log256_ps` and `sincos256_ps` (Cephes polynomials, avx_mathfun.h) exactly as torch's
/// x86-64 build evaluates them: GCC contracts each multiply into the add or subtract that consumes it, the first
/// such multiply in source order winning when both operands are products. This reproduces torch's values bit for bit.
private enum AVXMathFun {
    private static let logCoefficients: [Float] = [
        -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1, 1.4249322787E-1,
        -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1,
    ]

    static func log(_ input: Float) -> Float {
        var x = max(input, Float(bitPattern: 0x0080_0000))
        let bits = x.bitPattern
        var e = Float(Int32(bitPattern: bits >> 23) - 0x7F) + 1
        x = Float(bitPattern: (bits & ~0x7F80_0000) | Float(0.5).bitPattern)
        let belowSqrtHalf = x < 0.707106781186547524
        let tmp: Float = belowSqrtHalf ? x : 0
        x -= 1
        if belowSqrtHalf { e -= 1 }
        x += tmp
        let z = x * x
        var y: Float = 7.0376836292E-2
        for p in logCoefficients { y = p.addingProduct(y, x) }
        y *= x
        y = (e * -2.12194440e-4).addingProduct(y, z)
        y = y.addingProduct(z, -0.5)
        x += y
        return x.addingProduct(e, 0.693359375)
    }

    static func sincos(_ input: Float) -> (sin: Float, cos: Float) {
        var x = abs(input)
        var j = Int32(x * 1.27323954473516)  // 4/π, truncated like cvttps
        j = (j &+ 1) & ~1
        let y = Float(j)
        let sinNegative = (input.sign == .minus) != ((j & 4) != 0)
        let cosNegative = (~(j &- 2) & 4) != 0
        let sinUsesSinePolynomial = (j & 2) == 0
        x = x.addingProduct(y, -0.78515625)
        x = x.addingProduct(y, -2.4187564849853515625e-4)
        x = x.addingProduct(y, -3.77489497744594108e-8)
        let z = x * x
        var cosPoly: Float = Float(-1.388731625493765E-003).addingProduct(2.443315711809948E-005, z)
        cosPoly = Float(4.166664568298827E-002).addingProduct(cosPoly, z)
        cosPoly *= z
        cosPoly = (-(z * 0.5)).addingProduct(cosPoly, z)
        cosPoly += 1
        var sinPoly: Float = Float(8.3321608736E-3).addingProduct(-1.9515295891E-4, z)
        sinPoly = Float(-1.6666654611E-1).addingProduct(sinPoly, z)
        sinPoly *= z
        sinPoly = x.addingProduct(sinPoly, x)
        let s = sinUsesSinePolynomial ? sinPoly : cosPoly
        let c = sinUsesSinePolynomial ? cosPoly : sinPoly
        return (sinNegative ? -s : s, cosNegative ? -c : c)
    }
}

// Shared by the test targets: where the fixtures are, and one tensor comparison that reports the worst element.
import Foundation
import TensorCore

public enum Fixtures {
    /// Tests/Fixtures in the source tree.
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    public static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// Opens a golden file, e.g. `golden("tiny-lcm/unet.safetensors")`.
    public static func golden(_ relative: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(contentsOf: root.appendingPathComponent("goldens").appendingPathComponent(relative))
    }

    /// A scratch folder under the system temporary directory, removed by the caller.
    public static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lcm-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// The outcome of comparing two tensors elementwise: passes when |got − want| ≤ atol + rtol·|want| everywhere.
public struct Closeness: CustomStringConvertible {
    public let ok: Bool
    public let maxAbsError: Float
    public let worst: (index: Int, got: Float, want: Float)?
    public let shapes: ([Int], [Int])

    public var description: String {
        guard shapes.0 == shapes.1 else { return "shapes differ: got \(shapes.0), want \(shapes.1)" }
        guard let worst else { return "max abs error 0" }
        return "max abs error \(maxAbsError) at flat index \(worst.index): got \(worst.got), want \(worst.want)"
    }
}

public func compare(_ got: Tensor, _ want: Tensor, atol: Float, rtol: Float = 0) -> Closeness {
    guard got.shape == want.shape else {
        return Closeness(ok: false, maxAbsError: .infinity, worst: nil, shapes: (got.shape, want.shape))
    }
    var ok = true
    var maxErr: Float = 0
    var worst: (Int, Float, Float)?
    got.withUnsafeBufferPointer { g in
        want.withUnsafeBufferPointer { w in
            for i in 0..<g.count {
                let err = abs(g[i] - w[i])
                if !(err <= atol + rtol * abs(w[i])) { ok = false }
                if err > maxErr || err.isNaN || (worst == nil && i == g.count - 1) {
                    if err > maxErr || err.isNaN { maxErr = err.isNaN ? .nan : err }
                    worst = (i, g[i], w[i])
                }
            }
        }
    }
    return Closeness(ok: ok, maxAbsError: maxErr, worst: worst, shapes: (got.shape, want.shape))
}

/// The largest difference between two uint8 images (pixel arrays); nil when their sizes differ.
public func worstPixelDifference(_ got: [UInt8], _ want: [UInt8]) -> Int? {
    guard got.count == want.count else { return nil }
    return zip(got, want).reduce(0) { max($0, abs(Int($1.0) - Int($1.1))) }
}

extension SafeTensorsFile {
    /// Little-endian I64 tensors (token ids, timesteps) as Ints.
    public func ints(_ name: String) throws -> [Int] {
        let raw = try bytes(name)
        return (0..<raw.count / 8).map { i in
            raw[(i * 8)..<(i * 8 + 8)].reversed().reduce(0) { $0 << 8 | Int($1) }
        }
    }
}

/// SplitMix64: a small seeded generator, so every run sees the same inputs.
public struct SplitMix64: RandomNumberGenerator {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A NaN payload no kernel produces: kernel tests fill memory a kernel must not write with it.
public let sentinel = Float(bitPattern: 0x7FC0_5A5A)

/// `count` floats uniform in ±bound.
public func uniform(_ count: Int, _ bound: Float, _ rng: inout SplitMix64) -> [Float] {
    (0..<count).map { _ in Float.random(in: -bound...bound, using: &rng) }
}

/// The larger of a running worst error and a new one, a NaN counting as infinite: Swift's max returns its first
/// argument when the second is NaN, so a kernel that wrote NaN would otherwise pass unseen.
public func worse<T: FloatingPoint>(_ worst: T, _ error: T) -> T { error.isNaN ? .infinity : max(worst, error) }

/// A 3×3 convolution problem of shape [batch, C_in, C_out, H, W]: input uniform in ±1, weights of scale
/// 1/(3√C_in), a bias in ±0.5 except with 17 input channels (the path without bias); seeded by C_in and H.
public func randomConv3x3(_ shape: [Int]) -> (x: Tensor, weight: Tensor, bias: Tensor?) {
    let (batch, cin, cout, h, w) = (shape[0], shape[1], shape[2], shape[3], shape[4])
    var rng = SplitMix64(state: UInt64(cin * 1000 + h))
    let x = Tensor(shape: [batch, cin, h, w], values: uniform(batch * cin * h * w, 1, &rng))
    let weight = Tensor(shape: [cout, cin, 3, 3],
                        values: uniform(cout * cin * 9, Float(1 / (3 * Double(cin).squareRoot())), &rng))
    let bias = cin == 17 ? nil : Tensor(shape: [cout], values: uniform(cout, 0.5, &rng))
    return (x, weight, bias)
}

/// Direct stride-1, padding-1 3×3 convolution in double.
public func directConv3x3(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?) -> [Double] {
    let (batch, cin, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let cout = weight.shape[0]
    let xs = x.scalars.map(Double.init), ws = weight.scalars.map(Double.init), bs = bias?.scalars ?? []
    var y = [Double](repeating: 0, count: batch * cout * h * w)
    for b in 0..<batch {
        for co in 0..<cout {
            let out = (b * cout + co) * h * w
            for i in 0..<(h * w) { y[out + i] = bs.isEmpty ? 0 : Double(bs[co]) }
            for ci in 0..<cin {
                let plane = (b * cin + ci) * h * w
                for ky in 0..<3 {
                    for kx in 0..<3 {
                        let k = ws[((co * cin + ci) * 3 + ky) * 3 + kx]
                        for oy in max(0, 1 - ky)..<min(h, h + 1 - ky) {
                            let row = plane + (oy + ky - 1) * w - 1 + kx
                            for ox in max(0, 1 - kx)..<min(w, w + 1 - kx) { y[out + oy * w + ox] += k * xs[row + ox] }
                        }
                    }
                }
            }
        }
    }
    return y
}

/// max |got - want| and that over max |want|.
public func maxErrors(_ got: [Float], _ want: [Double]) -> (abs: Double, rel: Double) {
    let worst = zip(got, want).reduce(0.0) { worse($0, abs(Double($1.0) - $1.1)) }
    let scale = want.map(abs).max() ?? 0
    return (worst, worst / max(scale, .leastNormalMagnitude))
}

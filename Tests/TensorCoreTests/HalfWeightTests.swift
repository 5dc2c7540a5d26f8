// Half-precision weights (Weight.swift): an F16/BF16 tensor of a safetensors file stays half precision in memory
// (a view of the mapped bytes, or an aligned half copy), and linear, conv2d (1×1, im2col, Winograd) and embedding
// on it give the same bits as on its values widened to an fp32 tensor, for odd sizes; mapped pages released from
// the resident set read back the same.
import Foundation
import Testing
import TestSupport
import TensorCore

private func uniform(_ shape: [Int], _ rng: inout SplitMix64) -> Tensor {
    Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &rng) })
}

private func bits(_ t: Tensor) -> [UInt32] { t.scalars.map(\.bitPattern) }

@Suite struct HalfWeightTests {
    /// Weights written as `dtype` and read back as stored, with their values as fp32 tensors.
    static func halfWeights(_ dtype: SafeTensorsDType, _ shapes: [String: [Int]],
                            in scratch: ScratchFolder) throws -> (SafeTensorsFile, [String: (Weight, Tensor)]) {
        var rng = SplitMix64(state: 7)
        let url = scratch.url.appendingPathComponent("\(dtype).safetensors")
        try SafeTensorsWriter.write(shapes.sorted { $0.key < $1.key }.map { ($0.key, uniform($0.value, &rng)) },
                                    dtype: dtype, to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        var result: [String: (Weight, Tensor)] = [:]
        for name in shapes.keys { result[name] = (try file.weight(name), try file.tensor(name)) }
        return (file, result)
    }

    @Test(arguments: [SafeTensorsDType.f16, .bf16])
    func halfWeightIsNotWidenedAtLoad(dtype: SafeTensorsDType) throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let (file, weights) = try Self.halfWeights(dtype, ["w": [37, 53]], in: scratch)
        let (w, t) = weights["w"]!
        #expect(w.dtype == dtype)
        #expect(w.shape == [37, 53])
        #expect(w.byteCount == 37 * 53 * 2)
        #expect(t.shape == [37, 53])
        #expect(bits(w.float32) == bits(t))
        #expect(w.reshaped([53, 37]).dtype == dtype)
        // The weight views the mapped bytes: widening reads them in place.
        let raw = try file.rawBytes("w")
        var widened = [Float](repeating: 0, count: 2)
        widened.withUnsafeMutableBufferPointer { w.widen(0..<2, into: $0.baseAddress!) }
        let firstBits = raw.loadUnaligned(as: UInt16.self)
        #expect(widened[0] == (dtype == .f16 ? Float(Float16(bitPattern: firstBits))
                                : Float(bitPattern: UInt32(firstBits) << 16)))
        // fp32 files stay fp32 views.
        let fp32 = try Self.halfWeights(.f32, ["w": [3, 5]], in: scratch).1["w"]!.0
        #expect(fp32.dtype == .f32 && fp32.byteCount == 60)
    }

    @Test func releasedPagesReadBackTheSame() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let (_, half) = try Self.halfWeights(.f16, ["w": [300, 700]], in: scratch)
        let (_, full) = try Self.halfWeights(.f32, ["w": [300, 700]], in: scratch)
        let before = (bits(half["w"]!.0.float32), bits(full["w"]!.0.float32))
        SafeTensorsFile.releaseResidentPages()
        #expect(bits(half["w"]!.0.float32) == before.0)
        #expect(bits(full["w"]!.0.float32) == before.1)
    }

    @Test func misalignedHalfDataStaysHalf() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let url = scratch.url.appendingPathComponent("odd.safetensors")
        let f16: [UInt16] = [0x3C00, 0xC000, 0x7BFF]  // 1, -2, 65504
        try SafeTensorsWriter.write(entries: [
            .init(name: "byte", dtype: .u8, shape: [1], bytes: [7]),
            .init(name: "f16", dtype: .f16, shape: [3], bytes: f16.withUnsafeBytes { Array($0) }),
        ], to: url)
        let w = try SafeTensorsFile(contentsOf: url).weight("f16")
        #expect(w.dtype == .f16 && w.byteCount == 6)
        #expect(w.float32.scalars == [1, -2, 65504])
    }

    @Test(arguments: [SafeTensorsDType.f16, .bf16])
    func opsOnHalfWeightsEqualFP32BitForBit(dtype: SafeTensorsDType) throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let shapes: [String: [Int]] = [
            "linear": [37, 53], "conv1": [19, 21, 1, 1], "conv3": [19, 21, 3, 3], "wide": [33, 17, 3, 3],
            "table": [29, 13], "blocks": [300, 1040, 3, 3],
        ]
        let (_, w) = try Self.halfWeights(dtype, shapes, in: scratch)
        var rng = SplitMix64(state: 11)

        let x = uniform([3, 5, 53], &rng)
        let bias = uniform([37], &rng)
        let (half, full) = w["linear"]!
        #expect(bits(linear(x, weight: half, bias: bias)) == bits(linear(x, weight: full, bias: bias)))
        #expect(bits(linear(x, weight: half)) == bits(linear(x, weight: full)))

        let image = uniform([2, 21, 11, 13], &rng)
        let b19 = uniform([19], &rng)
        let cases: [(String, Tensor, Int, Padding2D, ConvolutionAlgorithm)] = [
            ("conv1", image, 1, .same(0), .automatic),
            ("conv3", image, 1, .same(1), .im2col),
            ("conv3", image, 2, Padding2D(top: 0, left: 0, bottom: 1, right: 1), .im2col),
            ("conv3", image, 1, .same(1), .winograd),
            ("conv3", image, 1, .same(1), .winograd2x2),
            ("wide", uniform([1, 17, 41, 37], &rng), 1, .same(1), .automatic),  // Winograd by choice
            // two blocks of output channels, 160 and 140 (the weight transform's half-precision rows start past zero)
            ("blocks", uniform([1, 1040, 9, 7], &rng), 1, .same(1), .winograd),
        ]
        for (name, input, stride, padding, algorithm) in cases {
            let (half, full) = w[name]!
            let b = name == "conv1" || name == "conv3" ? b19 : nil
            let got = conv2d(input, weight: half, bias: b, stride: stride, padding: padding, algorithm: algorithm)
            let want = conv2d(input, weight: full, bias: b, stride: stride, padding: padding, algorithm: algorithm)
            #expect(bits(got) == bits(want), "\(name) stride \(stride) \(algorithm)")
        }

        let small = uniform([2, 17, 9, 11], &rng)  // the 3×3 convolution of the map upsampled 2×, folded
        #expect(bits(upsampleNearest2xConv2d(small, weight: w["wide"]!.0, bias: nil, folded: true))
                == bits(upsampleNearest2xConv2d(small, weight: Weight(w["wide"]!.1), bias: nil, folded: true)))

        let ids = [0, 28, 5, 5, 17]
        #expect(bits(embedding(ids, table: w["table"]!.0)) == bits(embedding(ids, table: w["table"]!.1)))
    }
}

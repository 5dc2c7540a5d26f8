// Tests of the safetensors reader and writer: round trips, a file written by the Python reference writer
// (Tests/Fixtures/io, made by Weights/tools/make_io_fixtures.py), opening speed, and malformed files.
import CKernels
import Foundation
import Testing
import TensorCore

/// A fresh temporary folder, removed by `cleanUp()`.
struct ScratchFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let file = url.appendingPathComponent(name)
        try Data(bytes).write(to: file)
        return file
    }

    func cleanUp() { try? FileManager.default.removeItem(at: url) }
}

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/io")

private func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

@Suite struct SafeTensorsRoundTripTests {
    static let specials: [Float] = [0, -0.0, 1, -2.5, .infinity, -.infinity, 65504, 1.0 / 3.0, 1 + 1.0 / 256, 1 + 3.0 / 256]

    @Test func f32RoundTripIsExactAndZeroCopy() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let url = scratch.url.appendingPathComponent("f32.safetensors")
        let a = Tensor(shape: [2, 5], values: Self.specials)
        let b = Tensor(shape: [], values: [42.5])
        let c = Tensor(zeros: [0, 3])
        try SafeTensorsWriter.write([("layer.a", a), ("b", b), ("empty", c)], metadata: ["format": "pt", "note": "ünï"],
                                    to: url)

        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.names == ["layer.a", "b", "empty"])
        #expect(file.metadata == ["format": "pt", "note": "ünï"])
        #expect(file.parameterCount == 11)
        #expect(file.info("layer.a") == TensorInfo(name: "layer.a", dtype: .f32, shape: [2, 5], dataOffset: 0, byteCount: 40))
        #expect(file.info("missing") == nil)
        let readA = try file.tensor("layer.a")
        #expect(readA.shape == [2, 5])
        #expect(bits(readA.scalars) == bits(Self.specials))
        #expect(UnsafeRawPointer(readA.data) == (try file.rawBytes("layer.a")).baseAddress, "aligned F32 is a view")
        #expect(try file.tensor("b").shape == [])
        #expect(try file.tensor("b").scalars == [42.5])
        #expect(try file.tensor("empty").shape == [0, 3])
        #expect(try file.tensor("empty").count == 0)

        // The header is padded so the data section starts on an 8-byte boundary.
        let headerLength = try Data(contentsOf: url).prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect(headerLength % 8 == 0)
    }

    @Test func f16AndBF16RoundTripRoundToNearestEven() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let source = Tensor(shape: [10], values: Self.specials)
        for dtype in [SafeTensorsDType.f16, .bf16] {
            let url = scratch.url.appendingPathComponent("\(dtype).safetensors")
            try SafeTensorsWriter.write([("x", source)], dtype: dtype, to: url)
            let file = try SafeTensorsFile(contentsOf: url)
            #expect(file.info("x")?.dtype == dtype)
            #expect(file.info("x")?.byteCount == 20)
            let expected: [Float] = dtype == .f16
                // 1/3 → 0x3555; 1 + 2^-8 and 1 + 3·2^-8 are exact in f16 (10-bit mantissa).
                ? [0, -0.0, 1, -2.5, .infinity, -.infinity, 65504, 0.333251953125, 1.00390625, 1.01171875]
                // bf16 keeps 7 mantissa bits: 65504 → 65536, 1/3 → 0.333984375, ties go to even.
                : [0, -0.0, 1, -2.5, .infinity, -.infinity, 65536, 0.333984375, 1.0, 1.015625]
            #expect(bits(try file.tensor("x").scalars) == bits(expected), "\(dtype)")
        }
    }

    @Test func bfloat16RoundingEdgeCases() {
        #expect(SafeTensorsWriter.bfloat16Bits(1.0) == 0x3F80)
        #expect(SafeTensorsWriter.bfloat16Bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie, even stays
        #expect(SafeTensorsWriter.bfloat16Bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // tie, odd rounds up
        #expect(SafeTensorsWriter.bfloat16Bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)  // above the tie
        #expect(SafeTensorsWriter.bfloat16Bits(.greatestFiniteMagnitude) == 0x7F80)  // overflows to +inf
        #expect(SafeTensorsWriter.bfloat16Bits(-.infinity) == 0xFF80)
        #expect(SafeTensorsWriter.bfloat16Bits(Float(bitPattern: 0x7F80_0001)) & 0x7FC0 == 0x7FC0)  // NaN stays NaN
    }

    @Test func rawEntriesRoundTripAndIntegerTensorsAreRefused() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let url = scratch.url.appendingPathComponent("raw.safetensors")
        let i64: [Int64] = [.min, -1, 0, (1 << 53) + 1, .max]
        let entries = [
            SafeTensorsWriter.Entry(name: "mask", dtype: .u8, shape: [3], bytes: [0, 128, 255]),
            SafeTensorsWriter.Entry(name: "ids", dtype: .i64, shape: [5], bytes: i64.withUnsafeBytes { Array($0) }),
            SafeTensorsWriter.Entry(name: "signed", dtype: .i8, shape: [2], bytes: [0x80, 0x7F]),
            SafeTensorsWriter.Entry(name: "i32", dtype: .i32, shape: [1, 1], bytes: [1, 2, 3, 4]),
        ]
        try SafeTensorsWriter.write(entries: entries, to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.names == ["mask", "ids", "signed", "i32"])
        for entry in entries {
            #expect(Array(try file.rawBytes(entry.name)) == entry.bytes, "\(entry.name)")
            #expect(file.info(entry.name)?.dtype == entry.dtype)
            #expect(file.info(entry.name)?.shape == entry.shape)
        }
        let error = #expect(throws: SafeTensorsError.self) { try file.tensor("ids") }
        #expect(error?.description == "\(url.path): tensor 'ids' is I64, not a floating-point tensor")
        #expect(throws: SafeTensorsError.self) { try file.tensor("nope") }
    }

    @Test func unalignedFloatDataIsCopied() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let url = scratch.url.appendingPathComponent("unaligned.safetensors")
        let f32: [Float] = [1.5, -2.25]
        let f16: [UInt16] = [0x3C00, 0xC000, 0x7BFF]  // 1, -2, 65504
        try SafeTensorsWriter.write(entries: [
            .init(name: "pad", dtype: .u8, shape: [1], bytes: [7]),
            .init(name: "f32", dtype: .f32, shape: [2], bytes: f32.withUnsafeBytes { Array($0) }),
            .init(name: "f16", dtype: .f16, shape: [3], bytes: f16.withUnsafeBytes { Array($0) }),
        ], to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        #expect(file.info("f32")?.dataOffset == 1)
        #expect(file.info("f16")?.dataOffset == 9)
        #expect(try file.tensor("f32").scalars == f32)
        #expect(try file.tensor("f16").scalars == [1, -2, 65504])
    }

    @Test func writerRejectsDuplicateNamesAndWrongByteCounts() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let url = scratch.url.appendingPathComponent("bad.safetensors")
        let t = Tensor(zeros: [2])
        #expect(throws: SafeTensorsError.self) { try SafeTensorsWriter.write([("a", t), ("a", t)], to: url) }
        #expect(throws: SafeTensorsError.self) {
            try SafeTensorsWriter.write(entries: [.init(name: "a", dtype: .i32, shape: [2], bytes: [1, 2, 3])], to: url)
        }
        #expect(!FileManager.default.fileExists(atPath: url.path))
        let unwritable = scratch.url.appendingPathComponent("no-such-folder/x.safetensors")
        #expect(throws: SafeTensorsError.self) { try SafeTensorsWriter.write([("a", t)], to: unwritable) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).isEmpty, "no temporary files left")
    }

    @Test func thousandTensorsOpenQuickly() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let url = scratch.url.appendingPathComponent("many.safetensors")
        let tensors = (0..<1000).map { i in
            (name: "model.layers.\(i).weight", tensor: Tensor(shape: [4, 8], repeating: Float(i)))
        }
        try SafeTensorsWriter.write(tensors, to: url)
        let clock = ContinuousClock()
        var file: SafeTensorsFile?
        let elapsed = try clock.measure { file = try SafeTensorsFile(contentsOf: url) }
        #expect(elapsed < .milliseconds(200), "opening took \(elapsed)")
        #expect(file?.names.count == 1000)
        #expect(file?.parameterCount == 32_000)
        #expect(try file?.tensor("model.layers.999.weight").scalars.allSatisfy { $0 == 999 } == true)
    }
}

/// The sidecar JSON of the Python-written golden file.
private struct PythonFixture: Decodable {
    /// A float value; non-finite values are stored as the strings "inf", "-inf", "nan".
    struct FloatValue: Decodable {
        let value: Float

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let x = try? container.decode(Double.self) {
                value = Float(x)
            } else {
                value = ["inf": .infinity, "-inf": -.infinity][try container.decode(String.self)] ?? .nan
            }
        }
    }

    struct Entry: Decodable {
        let dtype: String
        let shape: [Int]
        let floats: [Float]
        let integers: [Int64]

        enum CodingKeys: String, CodingKey { case dtype, shape, values }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            dtype = try container.decode(String.self, forKey: .dtype)
            shape = try container.decode([Int].self, forKey: .shape)
            let isFloat = ["F32", "F16", "BF16"].contains(dtype)
            floats = isFloat ? try container.decode([FloatValue].self, forKey: .values).map(\.value) : []
            integers = isFloat ? [] : try container.decode([Int64].self, forKey: .values)
        }
    }

    let metadata: [String: String]
    let names: [String]
    let tensors: [String: Entry]
}

@Test func readsFileWrittenByPythonSafetensors() throws {
    let file = try SafeTensorsFile(contentsOf: fixtures.appendingPathComponent("python_written.safetensors"))
    let expected = try JSONDecoder().decode(PythonFixture.self,
                                            from: Data(contentsOf: fixtures.appendingPathComponent("python_written.json")))
    #expect(file.names == expected.names)
    #expect(file.metadata == expected.metadata)
    #expect(file.metadata["producer"] == "Weights/tools/make_io_fixtures.py")
    for name in expected.names {
        let entry = expected.tensors[name]!
        let info = try #require(file.info(name))
        #expect(info.dtype.rawValue == entry.dtype, "\(name)")
        #expect(info.shape == entry.shape, "\(name)")
        if info.dtype.isFloatingPoint {
            let got = try file.tensor(name).scalars
            let want = entry.floats
            #expect(got.count == want.count, "\(name)")
            for (g, w) in zip(got, want) {
                #expect(w.isNaN ? g.isNaN : g.bitPattern == w.bitPattern, "\(name): \(g) vs \(w)")
            }
        } else {
            let raw = try file.rawBytes(name)
            let got: [Int64] = switch info.dtype {
            case .i8: raw.map { Int64(Int8(bitPattern: $0)) }
            case .u8: raw.map { Int64($0) }
            case .i32: (0..<info.elementCount).map { Int64(raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
            default: (0..<info.elementCount).map { raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self) }
            }
            #expect(got == entry.integers, "\(name)")
        }
    }
}

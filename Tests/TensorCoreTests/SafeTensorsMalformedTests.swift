// Malformed safetensors files: each must give one thrown, one-line error naming the file and the problem.
import Foundation
import Testing
import TensorCore

/// A malformed file and a fragment its error message must contain.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let expected: String

    var testDescription: String { name }

    init(_ name: String, _ bytes: [UInt8], _ expected: String) {
        self.name = name
        self.bytes = bytes
        self.expected = expected
    }

    /// A file with `header` as its JSON and `dataSize` zero bytes of data.
    init(_ name: String, header: String, dataSize: Int = 0, _ expected: String) {
        self.init(name, Self.file(Array(header.utf8), dataSize: dataSize), expected)
    }

    static func file(_ header: [UInt8], dataSize: Int) -> [UInt8] {
        littleEndian(UInt64(header.count)) + header + [UInt8](repeating: 0, count: dataSize)
    }

    static func littleEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    static let f32x4 = #"{"dtype":"F32","shape":[4],"data_offsets":"#

    static let all: [MalformedCase] = [
        MalformedCase("empty file", [], "file is 0 bytes, too short"),
        MalformedCase("7-byte file", [1, 0, 0, 0, 0, 0, 0], "file is 7 bytes, too short"),
        MalformedCase("truncated header", littleEndian(100) + Array(#"{"a":{"dtype":"F32""#.utf8),
                      "header length 100 runs past the end of the 27-byte file"),
        MalformedCase("truncated data", header: #"{"a":\#(f32x4)[0,16]}}"#, dataSize: 8,
                      "tensor 'a' data_offsets [0, 16] run past the 8-byte data section"),
        MalformedCase("header length past end", littleEndian(1000) + Array("{}".utf8),
                      "header length 1000 runs past the end of the 10-byte file"),
        MalformedCase("header length 2^63", littleEndian(1 << 63) + Array("{}".utf8),
                      "header length 9223372036854775808 exceeds the limit of 100000000 bytes"),
        MalformedCase("not JSON", header: "hello world", "header is not valid JSON: unexpected character 'h' at byte 0"),
        MalformedCase("trailing garbage", header: "{} x", "unexpected data after the JSON value at byte 3"),
        MalformedCase("trailing comma", header: #"{"a":1,}"#, "expected a string key at byte 7"),
        MalformedCase("unterminated string", header: #"{"a"#, "unterminated string"),
        MalformedCase("JSON array", header: "[1, 2]", "header is a JSON array, expected an object"),
        MalformedCase("leading whitespace", header: " {}", "header must begin with '{'"),
        MalformedCase("missing dtype", header: #"{"a":{"shape":[4],"data_offsets":[0,16]}}"#, dataSize: 16,
                      "tensor 'a' has no 'dtype'"),
        MalformedCase("missing shape", header: #"{"a":{"dtype":"F32","data_offsets":[0,16]}}"#, dataSize: 16,
                      "tensor 'a' has no 'shape'"),
        MalformedCase("missing data_offsets", header: #"{"a":{"dtype":"F32","shape":[4]}}"#, dataSize: 16,
                      "tensor 'a' has no 'data_offsets'"),
        MalformedCase("extra field", header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"x":1}}"#,
                      dataSize: 16, "tensor 'a' has unknown field 'x'"),
        MalformedCase("entry not an object", header: #"{"a":"F32"}"#, "tensor 'a' is a JSON string, expected an object"),
        MalformedCase("dtype a number", header: #"{"a":{"dtype":4,"shape":[4],"data_offsets":[0,16]}}"#, dataSize: 16,
                      "tensor 'a' 'dtype' is a JSON number, expected a string"),
        MalformedCase("shape a string", header: #"{"a":{"dtype":"F32","shape":"4","data_offsets":[0,16]}}"#,
                      dataSize: 16, "tensor 'a' 'shape' is a JSON string, expected an array of integers"),
        MalformedCase("offsets fractional", header: #"{"a":\#(f32x4)[0,16.0]}}"#, dataSize: 16,
                      "tensor 'a' 'data_offsets' entry 16.0 is not a non-negative integer"),
        MalformedCase("offsets with one entry", header: #"{"a":\#(f32x4)[16]}}"#, dataSize: 16,
                      "'data_offsets' has 1 entries, expected [begin, end]"),
        MalformedCase("unknown dtype", header: #"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}"#,
                      dataSize: 16, "tensor 'a': unsupported dtype 'F64'"),
        MalformedCase("negative shape", header: #"{"a":{"dtype":"F32","shape":[-2,2],"data_offsets":[0,16]}}"#,
                      dataSize: 16, "tensor 'a' 'shape' entry -2 is not a non-negative integer"),
        MalformedCase("shape too large for Int", header: #"{"a":{"dtype":"U8","shape":[99999999999999999999],"data_offsets":[0,1]}}"#,
                      dataSize: 1, "entry 99999999999999999999 is not a non-negative integer"),
        MalformedCase("shape product overflows",
                      header: #"{"a":{"dtype":"U8","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#,
                      dataSize: 16, "shape [4611686018427387904, 4] has too many elements to count"),
        MalformedCase("byte count overflows",
                      header: #"{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,16]}}"#,
                      dataSize: 16, "shape [4611686018427387904] of F32 has too many bytes to count"),
        MalformedCase("size mismatch", header: #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#, dataSize: 12,
                      "tensor 'a' data_offsets [0, 12] hold 12 bytes but shape [2, 2] of F32 needs 16"),
        MalformedCase("reversed offsets", header: #"{"a":\#(f32x4)[16,0]}}"#, dataSize: 16,
                      "tensor 'a' data_offsets [16, 0] are reversed"),
        MalformedCase("out-of-range offsets", header: #"{"a":\#(f32x4)[16,32]}}"#, dataSize: 16,
                      "tensor 'a' data_offsets [16, 32] run past the 16-byte data section"),
        MalformedCase("overlapping offsets", header: #"{"a":\#(f32x4)[0,16]},"b":\#(f32x4)[8,24]}}"#, dataSize: 24,
                      "tensor 'b' data_offsets [8, 24] overlap tensor 'a', which ends at 16"),
        MalformedCase("gap between tensors", header: #"{"a":\#(f32x4)[0,16]},"b":\#(f32x4)[20,36]}}"#, dataSize: 36,
                      "gap of 4 bytes after tensor 'a': tensor 'b' begins at 20, expected 16"),
        MalformedCase("gap at start", header: #"{"a":\#(f32x4)[4,20]}}"#, dataSize: 20,
                      "gap of 4 bytes at the start of the data section"),
        MalformedCase("trailing data", header: #"{"a":\#(f32x4)[0,16]}}"#, dataSize: 20,
                      "data section has 4 bytes after the last tensor"),
        MalformedCase("duplicate names", header: #"{"a":\#(f32x4)[0,16]},"a":\#(f32x4)[16,32]}}"#, dataSize: 32,
                      "duplicate tensor name 'a'"),
        MalformedCase("duplicate field", header: #"{"a":{"dtype":"F32","dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#,
                      dataSize: 16, "tensor 'a' has field 'dtype' twice"),
        MalformedCase("metadata value not a string", header: #"{"__metadata__":{"k":1}}"#,
                      "'__metadata__' entry 'k' is a JSON number, expected a string"),
        MalformedCase("metadata not an object", header: #"{"__metadata__":["k"]}"#,
                      "'__metadata__' is a JSON array, expected an object of strings"),
        MalformedCase("invalid UTF-8", file([0x7B, 0x22, 0x61, 0xFF, 0x22, 0x3A, 0x31, 0x7D], dataSize: 0),
                      "header is not valid UTF-8 (byte 3 of the header)"),
        MalformedCase("name with newline", header: #"{"a\nb":\#(f32x4)[0,16]}}"#, dataSize: 8, "tensor 'a\\nb'"),
        MalformedCase("50000-deep nesting",
                      header: #"{"a":"# + String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000) + "}",
                      "nesting deeper than 64 levels"),
    ]
}

@Test(arguments: MalformedCase.all)
func malformedFileThrowsOneLineError(_ malformed: MalformedCase) throws {
    let scratch = try ScratchFolder()
    defer { scratch.cleanUp() }
    let url = try scratch.file("model.safetensors", malformed.bytes)
    let error = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(contentsOf: url) }
    let message = error?.description ?? ""
    #expect(message.hasPrefix("\(url.path): "))
    #expect(message.contains(malformed.expected), "\(message)")
    #expect(!message.contains("\n"))
}

@Test func validEdgeCasesOpen() throws {
    let scratch = try ScratchFolder()
    defer { scratch.cleanUp() }
    let empty = try SafeTensorsFile(contentsOf: scratch.file("empty.safetensors", MalformedCase.file(Array("{}".utf8), dataSize: 0)))
    #expect(empty.names.isEmpty)
    #expect(empty.parameterCount == 0)
    // Zero-size tensors share an offset; whitespace padding and escapes in names are fine.
    let header = #"{"z":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}, "\u00e9\"":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}   "#
    let file = try SafeTensorsFile(contentsOf: scratch.file("ok.safetensors",
                                                            MalformedCase.file(Array(header.utf8), dataSize: 2)))
    #expect(file.names == ["z", "é\""])
    #expect(try file.tensor("é\"").scalars == [0])
}

@Test func missingFileAndFolderThrow() throws {
    let scratch = try ScratchFolder()
    defer { scratch.cleanUp() }
    let missing = scratch.url.appendingPathComponent("missing.safetensors")
    let error = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(contentsOf: missing) }
    #expect(error?.description == "\(missing.path): cannot open: No such file or directory")
    let folderError = #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(contentsOf: scratch.url) }
    #expect(folderError?.description == "\(scratch.url.path): is a directory")
}

// Writer for the safetensors format, laid out like huggingface/safetensors `serialize_to_file`: the JSON header is
// padded with spaces to a multiple of 8 bytes, data follows in the order given. Files are replaced atomically.
import CKernels
import Foundation

public enum SafeTensorsWriter {
    /// A tensor given as stored bytes, for any dtype (e.g. U8 masks or I64 position ids).
    public struct Entry {
        public let name: String
        public let dtype: SafeTensorsDType
        public let shape: [Int]
        public let bytes: [UInt8]

        public init(name: String, dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }
    }

    /// Writes fp32 tensors stored as `dtype` (.f32, .f16 or .bf16; narrowing rounds to nearest even).
    public static func write(_ tensors: [(name: String, tensor: Tensor)], dtype: SafeTensorsDType = .f32,
                             metadata: [String: String] = [:], to url: URL) throws {
        precondition(dtype.isFloatingPoint, "SafeTensorsWriter: \(dtype) is not a floating-point storage type")
        let layout = tensors.map { (name: $0.name, dtype: dtype, shape: $0.tensor.shape) }
        try write(layout, metadata: metadata, to: url) { index, file in
            try tensors[index].tensor.withUnsafeBufferPointer { try appendFloats($0, as: dtype, to: file) }
        }
    }

    /// Writes tensors given as raw little-endian bytes.
    public static func write(entries: [Entry], metadata: [String: String] = [:], to url: URL) throws {
        for entry in entries {
            let needed = entry.shape.reduce(1, *) * entry.dtype.byteSize
            guard entry.bytes.count == needed else {
                throw SafeTensorsError(file: url.path, "tensor \(quoted(entry.name)) has \(entry.bytes.count) bytes "
                    + "but shape \(entry.shape) of \(entry.dtype) needs \(needed)")
            }
        }
        let layout = entries.map { (name: $0.name, dtype: $0.dtype, shape: $0.shape) }
        try write(layout, metadata: metadata, to: url) { index, file in try file.append(entries[index].bytes) }
    }

    /// bfloat16 bits of `value`, rounded to nearest even; NaN stays a (quiet) NaN.
    public static func bfloat16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    private static func write(_ layout: [(name: String, dtype: SafeTensorsDType, shape: [Int])],
                              metadata: [String: String], to url: URL,
                              data: (Int, AtomicFile) throws -> Void) throws {
        var seen = Set<String>()
        for entry in layout {
            precondition(entry.shape.allSatisfy { $0 >= 0 }, "SafeTensorsWriter: negative dimension in \(entry.shape)")
            guard entry.name != "__metadata__" else {
                throw SafeTensorsError(file: url.path, "'__metadata__' cannot be a tensor name")
            }
            guard seen.insert(entry.name).inserted else {
                throw SafeTensorsError(file: url.path, "duplicate tensor name \(quoted(entry.name))")
            }
        }
        var header = Array(headerJSON(layout, metadata: metadata).utf8)
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))
        let lengthField = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(header.count) >> (8 * $0)) }
        do {
            let file = try AtomicFile(destination: url)
            try file.append(lengthField)
            try file.append(header)
            for index in layout.indices { try data(index, file) }
            try file.commit()
        } catch let error as FileWriteError {
            throw SafeTensorsError(file: error.file, error.problem)
        }
    }

    private static func headerJSON(_ layout: [(name: String, dtype: SafeTensorsDType, shape: [Int])],
                                   metadata: [String: String]) -> String {
        var parts: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            parts.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for entry in layout {
            let end = offset + entry.shape.reduce(1, *) * entry.dtype.byteSize
            let shape = entry.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonString(entry.name)):{\"dtype\":\"\(entry.dtype)\",\"shape\":[\(shape)],"
                + "\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    private static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Appends fp32 values stored as `dtype`, converting in chunks to bound the temporary memory.
    private static func appendFloats(_ values: UnsafeBufferPointer<Float>, as dtype: SafeTensorsDType,
                                     to file: AtomicFile) throws {
        if dtype == .f32 {
            try file.append(UnsafeRawBufferPointer(values))
            return
        }
        let chunk = 1 << 16
        var narrow = [UInt16](repeating: 0, count: min(chunk, values.count))
        var start = 0
        while start < values.count {
            let n = min(chunk, values.count - start)
            narrow.withUnsafeMutableBufferPointer { out in
                if dtype == .f16 {
                    lcm_f32_to_f16_ref(values.baseAddress! + start, out.baseAddress!, n)
                } else {
                    for i in 0..<n { out[i] = bfloat16Bits(values[start + i]) }
                }
            }
            try narrow.withUnsafeBytes { raw in
                try file.append(UnsafeRawBufferPointer(rebasing: raw[0..<n * 2]))
            }
            start += n
        }
    }
}

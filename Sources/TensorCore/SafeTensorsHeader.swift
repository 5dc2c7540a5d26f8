// Parsing and validation of the safetensors header, following the checks of the reference reader
// (huggingface/safetensors, safetensors/src/tensor.rs: `SafeTensors::read_metadata` and `Metadata::validate`).
// The JSON is read by `JSONParser` (StrictJSON.swift), whose nesting limit keeps hostile headers off the stack.

/// The validated header: tensors in data order plus the free-form metadata.
struct SafeTensorsHeader {
    /// Largest header the reference reader accepts.
    static let maxHeaderLength = 100_000_000

    let tensors: [TensorInfo]
    let metadata: [String: String]

    /// Parses and validates `header` (the JSON bytes) against a data section of `dataSize` bytes.
    /// Errors are plain problem descriptions; the caller adds the file name.
    init(header: UnsafeRawBufferPointer, dataSize: Int) throws(HeaderProblem) {
        if let bad = firstInvalidUTF8Offset(header) {
            throw HeaderProblem("header is not valid UTF-8 (byte \(bad) of the header)")
        }
        let root: JSONValue
        do {
            root = try JSONParser.parse(header)
        } catch {
            throw HeaderProblem("header is not valid JSON: \(error.message) at byte \(error.offset) of the header")
        }
        guard case .object(let members) = root else {
            throw HeaderProblem("header is a JSON \(root.kind), expected an object")
        }
        if header.first != UInt8(ascii: "{") {
            throw HeaderProblem("header must begin with '{' (found whitespace before it)")
        }

        var seen = Set<String>()
        var metadata: [String: String] = [:]
        var tensors: [TensorInfo] = []
        tensors.reserveCapacity(members.count)
        for member in members {
            let (key, value) = (member.key, member.value)
            guard seen.insert(key).inserted else {
                throw HeaderProblem(key == "__metadata__" ? "header has '__metadata__' twice"
                                                          : "duplicate tensor name \(quoted(key))")
            }
            if key == "__metadata__" {
                metadata = try Self.metadataMap(value)
            } else {
                tensors.append(try Self.tensorEntry(name: key, value, dataSize: dataSize))
            }
        }
        try Self.checkTiling(&tensors, dataSize: dataSize)
        self.tensors = tensors
        self.metadata = metadata
    }

    private static func metadataMap(_ value: JSONValue) throws(HeaderProblem) -> [String: String] {
        guard case .object(let members) = value else {
            throw HeaderProblem("'__metadata__' is a JSON \(value.kind), expected an object of strings")
        }
        var map: [String: String] = [:]
        for member in members {
            let (key, item) = (member.key, member.value)
            guard case .string(let text) = item else {
                throw HeaderProblem("'__metadata__' entry \(quoted(key)) is a JSON \(item.kind), expected a string")
            }
            guard map.updateValue(text, forKey: key) == nil else {
                throw HeaderProblem("'__metadata__' has key \(quoted(key)) twice")
            }
        }
        return map
    }

    private static func tensorEntry(name: String, _ value: JSONValue, dataSize: Int) throws(HeaderProblem) -> TensorInfo {
        let what = "tensor \(quoted(name))"
        guard case .object(let members) = value else {
            throw HeaderProblem("\(what) is a JSON \(value.kind), expected an object")
        }
        var fields: [String: JSONValue] = [:]
        for member in members {
            let (key, item) = (member.key, member.value)
            guard ["dtype", "shape", "data_offsets"].contains(key) else {
                throw HeaderProblem("\(what) has unknown field \(quoted(key))")
            }
            guard fields.updateValue(item, forKey: key) == nil else {
                throw HeaderProblem("\(what) has field '\(key)' twice")
            }
        }
        for required in ["dtype", "shape", "data_offsets"] where fields[required] == nil {
            throw HeaderProblem("\(what) has no '\(required)'")
        }

        guard case .string(let dtypeName) = fields["dtype"]! else {
            throw HeaderProblem("\(what) 'dtype' is a JSON \(fields["dtype"]!.kind), expected a string")
        }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw HeaderProblem("\(what): unsupported dtype \(quoted(dtypeName))")
        }
        let shape = try integers(fields["shape"]!, field: "shape", of: what)
        let offsets = try integers(fields["data_offsets"]!, field: "data_offsets", of: what)
        guard offsets.count == 2 else {
            throw HeaderProblem("\(what) 'data_offsets' has \(offsets.count) entries, expected [begin, end]")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else {
            throw HeaderProblem("\(what) data_offsets [\(begin), \(end)] are reversed (begin > end)")
        }
        guard end <= dataSize else {
            throw HeaderProblem("\(what) data_offsets [\(begin), \(end)] run past the \(dataSize)-byte data section")
        }
        var elements = 1
        for dim in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw HeaderProblem("\(what) shape \(shape) has too many elements to count") }
            elements = product
        }
        let (needed, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else { throw HeaderProblem("\(what) shape \(shape) of \(dtype) has too many bytes to count") }
        guard end - begin == needed else {
            throw HeaderProblem("\(what) data_offsets [\(begin), \(end)] hold \(end - begin) bytes "
                + "but shape \(shape) of \(dtype) needs \(needed)")
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, dataOffset: begin, byteCount: needed)
    }

    /// A JSON array of non-negative integers that fit in Int.
    private static func integers(_ value: JSONValue, field: String, of what: String) throws(HeaderProblem) -> [Int] {
        guard case .array(let items) = value else {
            throw HeaderProblem("\(what) '\(field)' is a JSON \(value.kind), expected an array of integers")
        }
        var result: [Int] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard case .number(let literal) = item else {
                throw HeaderProblem("\(what) '\(field)' holds a JSON \(item.kind), expected integers")
            }
            guard let n = Int(literal), n >= 0, !literal.hasPrefix("-") else {
                throw HeaderProblem("\(what) '\(field)' entry \(literal) is not a non-negative integer")
            }
            result.append(n)
        }
        return result
    }

    /// Sorted by data offset, the tensors must tile the data section: no gap, no overlap, nothing left over.
    private static func checkTiling(_ tensors: inout [TensorInfo], dataSize: Int) throws(HeaderProblem) {
        tensors.sort { ($0.dataOffset, $0.dataOffset + $0.byteCount) < ($1.dataOffset, $1.dataOffset + $1.byteCount) }
        var position = 0
        var previous: TensorInfo?
        for tensor in tensors {
            if tensor.dataOffset > position {
                let after = previous.map { "after tensor \(quoted($0.name))" } ?? "at the start of the data section"
                throw HeaderProblem("gap of \(tensor.dataOffset - position) bytes \(after): tensor "
                    + "\(quoted(tensor.name)) begins at \(tensor.dataOffset), expected \(position)")
            }
            if tensor.dataOffset < position, let previous {
                throw HeaderProblem("tensor \(quoted(tensor.name)) data_offsets [\(tensor.dataOffset), "
                    + "\(tensor.dataOffset + tensor.byteCount)] overlap tensor \(quoted(previous.name)), "
                    + "which ends at \(position)")
            }
            position = tensor.dataOffset + tensor.byteCount
            previous = tensor
        }
        if position != dataSize {
            throw HeaderProblem("data section has \(dataSize - position) bytes after the last tensor "
                + "(tensors end at \(position), file data is \(dataSize) bytes)")
        }
    }
}

/// One problem found in a header, before the file name is attached.
struct HeaderProblem: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Offset of the first byte that breaks UTF-8, or nil when the bytes are valid UTF-8.
private func firstInvalidUTF8Offset(_ bytes: UnsafeRawBufferPointer) -> Int? {
    // Fast path: plain ASCII is by far the common case.
    if !bytes.contains(where: { $0 >= 0x80 }) { return nil }
    var decoder = UTF8()
    var iterator = bytes.makeIterator()
    var offset = 0
    var consumed = 0
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue(let scalar):
            offset += UTF8.width(scalar)
            consumed = offset
        case .emptyInput:
            return nil
        case .error:
            return consumed
        }
    }
}

/// A name for an error message: single-quoted, control characters escaped, very long names shortened.
func quoted(_ name: String) -> String {
    var text = ""
    for scalar in name.unicodeScalars.prefix(200) {
        if scalar.value < 0x20 || scalar.value == 0x7F {
            text += scalar.escaped(asASCII: true)
        } else {
            text.unicodeScalars.append(scalar)
        }
    }
    return "'\(text)\(name.unicodeScalars.count > 200 ? "…" : "")'"
}

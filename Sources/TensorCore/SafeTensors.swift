// Reader for the safetensors format (huggingface/safetensors, docs/safetensors format):
// 8-byte little-endian header length N, N bytes of JSON header, then the tensor data.
// The file is memory-mapped; opening it reads only the header, tensors are viewed or converted on demand.
import Foundation

/// Element types we read and write.
public enum SafeTensorsDType: String, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", i8 = "I8", u8 = "U8", i32 = "I32", i64 = "I64"

    public var byteSize: Int {
        switch self {
        case .f32, .i32: 4
        case .f16, .bf16: 2
        case .i8, .u8: 1
        case .i64: 8
        }
    }

    public var isFloatingPoint: Bool { self == .f32 || self == .f16 || self == .bf16 }

    public var description: String { rawValue }
}

/// What the header says about one tensor.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Offset of the first byte within the data section.
    public let dataOffset: Int
    public let byteCount: Int

    public init(name: String, dtype: SafeTensorsDType, shape: [Int], dataOffset: Int, byteCount: Int) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.dataOffset = dataOffset
        self.byteCount = byteCount
    }

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A safetensors file that cannot be read or written; `description` is one line naming the file and the problem.
public struct SafeTensorsError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let problem: String

    public init(file: String, _ problem: String) {
        self.file = file
        self.problem = problem
    }

    public var description: String {
        "\(file): \(problem)".replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
    }
}

/// A memory-mapped safetensors file. Immutable after opening, so it may be shared across threads.
public final class SafeTensorsFile: @unchecked Sendable {
    public let url: URL
    /// Tensor names in the order of their data offsets.
    public let names: [String]
    /// Header entries in data order.
    public let tensorInfos: [TensorInfo]
    public let metadata: [String: String]
    /// Sum of the element counts of all tensors.
    public let parameterCount: Int

    private let infos: [String: TensorInfo]
    private let mapping: UnsafeRawPointer
    private let mappedLength: Int
    /// Offset of the data section within the file (8 + header length).
    private let dataStart: Int

    public init(contentsOf url: URL) throws {
        self.url = url
        let path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SafeTensorsError(file: path, "cannot open: \(errnoText())") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw SafeTensorsError(file: path, "cannot stat: \(errnoText())") }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            let kind = (status.st_mode & S_IFMT) == S_IFDIR ? "is a directory" : "is not a regular file"
            throw SafeTensorsError(file: path, kind)
        }
        let size = Int(status.st_size)
        guard size >= 8 else {
            throw SafeTensorsError(file: path, "file is \(size) bytes, too short for the 8-byte header length")
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw SafeTensorsError(file: path, "cannot map \(size) bytes: \(errnoText())")
        }
        let mapped = UnsafeRawPointer(base)
        do {
            let (header, dataStart) = try Self.readHeader(mapped, size: size, path: path)
            mapping = mapped
            mappedLength = size
            self.dataStart = dataStart
            tensorInfos = header.tensors
            names = header.tensors.map(\.name)
            metadata = header.metadata
            infos = Dictionary(uniqueKeysWithValues: header.tensors.map { ($0.name, $0) })
            parameterCount = header.tensors.reduce(0) { $0 + $1.elementCount }
        } catch {
            munmap(base, size)
            throw error
        }
        OpenMappings.shared.add(ObjectIdentifier(self), mapped, size)
    }

    deinit {
        OpenMappings.shared.remove(ObjectIdentifier(self))
        munmap(UnsafeMutableRawPointer(mutating: mapping), mappedLength)
    }

    /// Drops the pages of every open file's mapping from this process's resident set (madvise MADV_DONTNEED on
    /// read-only mappings, so nothing is lost): the data stays in the page cache and is mapped again, without disk
    /// reads while the kernel keeps it cached, when next read. For weights not needed for a while, e.g. the UNet's
    /// while the VAE decodes; fp16 weights are read through their mapping at every use (Weight.swift).
    public static func releaseResidentPages() { OpenMappings.shared.release() }

    private static func readHeader(_ base: UnsafeRawPointer, size: Int,
                                   path: String) throws(SafeTensorsError) -> (SafeTensorsHeader, dataStart: Int) {
        let length = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard length <= UInt64(SafeTensorsHeader.maxHeaderLength) else {
            throw SafeTensorsError(file: path,
                                   "header length \(length) exceeds the limit of \(SafeTensorsHeader.maxHeaderLength) bytes")
        }
        let headerLength = Int(length)
        guard 8 + headerLength <= size else {
            throw SafeTensorsError(file: path, "header length \(headerLength) runs past the end of the \(size)-byte file")
        }
        do {
            let header = try SafeTensorsHeader(header: UnsafeRawBufferPointer(start: base + 8, count: headerLength),
                                               dataSize: size - 8 - headerLength)
            return (header, 8 + headerLength)
        } catch {
            throw SafeTensorsError(file: path, error.message)
        }
    }

    /// The header entry for `name`, or nil when the file has no such tensor.
    public func info(_ name: String) -> TensorInfo? { infos[name] }

    /// A copy of the stored bytes of a tensor (safe to keep after the file object is gone).
    public func bytes(_ name: String) throws -> [UInt8] {
        try withExtendedLifetime(self) { Array(try rawBytes(name)) }
    }

    /// The stored bytes of a tensor; valid while this file object is alive.
    public func rawBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let info = try lookup(name)
        return UnsafeRawBufferPointer(start: mapping + dataStart + info.dataOffset, count: info.byteCount)
    }

    /// A floating-point tensor as fp32: a zero-copy view for aligned F32 data, otherwise a converted copy
    /// (F16/BF16 widened).
    public func tensor(_ name: String) throws -> Tensor { try weight(name).float32 }

    /// A floating-point tensor as stored: F32 as a tensor (a zero-copy view when aligned), F16/BF16 as a
    /// half-precision weight viewing the mapped bytes (copied, still half, when they are not 2-byte aligned).
    public func weight(_ name: String) throws -> Weight {
        let info = try lookup(name)
        let source = mapping + dataStart + info.dataOffset
        let stored = UnsafeRawBufferPointer(start: source, count: info.byteCount)
        switch info.dtype {
        case .f32:
            if Int(bitPattern: source) % MemoryLayout<Float>.alignment == 0 {
                let floats = source.assumingMemoryBound(to: Float.self)
                return Weight(Tensor(shape: info.shape, viewing: floats, owner: self))
            }
            return Weight(Tensor(shape: info.shape) { UnsafeMutableRawBufferPointer($0).copyMemory(from: stored) })
        case .f16, .bf16:
            if Int(bitPattern: source) % MemoryLayout<UInt16>.alignment == 0 {
                return Weight(shape: info.shape, viewingHalf: source.assumingMemoryBound(to: UInt16.self),
                              dtype: info.dtype, owner: self)
            }
            let copy = HalfCopy(stored)
            return Weight(shape: info.shape, viewingHalf: copy.pointer, dtype: info.dtype, owner: copy)
        case .i8, .u8, .i32, .i64:
            throw SafeTensorsError(file: url.path, "tensor \(quoted(name)) is \(info.dtype), not a floating-point tensor")
        }
    }

    private func lookup(_ name: String) throws -> TensorInfo {
        guard let info = infos[name] else { throw SafeTensorsError(file: url.path, "no tensor named \(quoted(name))") }
        return info
    }
}

/// The mappings of the open files, for `SafeTensorsFile.releaseResidentPages()`.
private final class OpenMappings: @unchecked Sendable {
    static let shared = OpenMappings()
    private let lock = NSLock()
    private var mappings: [ObjectIdentifier: (start: UnsafeRawPointer, length: Int)] = [:]

    func add(_ file: ObjectIdentifier, _ start: UnsafeRawPointer, _ length: Int) {
        lock.withLock { mappings[file] = (start, length) }
    }

    func remove(_ file: ObjectIdentifier) { lock.withLock { _ = mappings.removeValue(forKey: file) } }

    /// Under the lock, so no file unmaps its range meanwhile.
    func release() {
        lock.withLock {
            for (start, length) in mappings.values {
                madvise(UnsafeMutableRawPointer(mutating: start), length, MADV_DONTNEED)
            }
        }
    }
}

/// The current `errno` as text.
func errnoText() -> String { String(cString: strerror(errno)) }

// The Tensor value type: a shape and float32 storage, contiguous and row-major.
// Copy-on-write: copies share storage until one of them is mutated. Storage may be owned memory or a read-only
// view into memory owned by someone else (a memory-mapped weights file); writing to a view copies it first.
import Foundation

/// Float32 storage shared between tensor copies; owned memory comes from and goes back to `StoragePool`.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    /// Floats at `pointer` (at least `count`: a reused buffer may be larger).
    let capacity: Int
    /// Keeps the memory of a view alive (e.g. a mapped file); nil when this storage owns `pointer`.
    let owner: AnyObject?

    /// Owned, uninitialised memory for `count` floats.
    init(uninitializedCount count: Int) {
        self.count = count
        (pointer, capacity) = StoragePool.shared.allocate(count)
        self.owner = nil
    }

    /// A read-only view of memory that `owner` keeps alive.
    init(viewing pointer: UnsafePointer<Float>, count: Int, owner: AnyObject) {
        self.pointer = UnsafeMutablePointer(mutating: pointer)
        self.count = count
        self.capacity = count
        self.owner = owner
    }

    var isView: Bool { owner != nil }

    deinit {
        if owner == nil { StoragePool.shared.release(pointer, capacity: capacity) }
    }
}

public struct Tensor: @unchecked Sendable {
    public private(set) var shape: [Int]
    @usableFromInline var storage: TensorStorage

    public var count: Int { storage.count }
    public var rank: Int { shape.count }

    /// Zero-filled tensor.
    public init(zeros shape: [Int]) {
        self.init(uninitialized: shape)
        storage.pointer.initialize(repeating: 0, count: storage.count)
    }

    /// Tensor whose contents the caller must fill before reading.
    public init(uninitialized shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        self.shape = shape
        self.storage = TensorStorage(uninitializedCount: shape.reduce(1, *))
    }

    public init(shape: [Int], repeating value: Float) {
        self.init(uninitialized: shape)
        storage.pointer.initialize(repeating: value, count: storage.count)
    }

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count,
                     "Tensor: \(values.count) values do not fill shape \(shape)")
        self.init(uninitialized: shape)
        values.withUnsafeBufferPointer { storage.pointer.initialize(from: $0.baseAddress!, count: values.count) }
    }

    /// A read-only view over `count` floats kept alive by `owner` (no copy).
    public init(shape: [Int], viewing pointer: UnsafePointer<Float>, owner: AnyObject) {
        self.shape = shape
        self.storage = TensorStorage(viewing: pointer, count: shape.reduce(1, *), owner: owner)
    }

    /// Builds a tensor by filling uninitialised memory.
    public init(shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
        self.init(uninitialized: shape)
        try fill(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
    }

    public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: count)) }

    /// Read access to the elements.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Raw read pointer, valid while `self` is alive and unmodified.
    public var data: UnsafePointer<Float> { UnsafePointer(storage.pointer) }

    /// Write access; copies first when the storage is shared or a read-only view.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: storage.count))
    }

    mutating func makeUnique() {
        if storage.isView || !isKnownUniquelyReferenced(&storage) {
            let copy = TensorStorage(uninitializedCount: storage.count)
            copy.pointer.initialize(from: storage.pointer, count: storage.count)
            storage = copy
        }
    }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var dims = newShape
        if let inferred = dims.firstIndex(of: -1) {
            let known = dims.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshape: cannot infer \(newShape) from \(shape)")
            dims[inferred] = count / known
        }
        precondition(dims.reduce(1, *) == count, "reshape: \(shape) (\(count) elements) cannot become \(dims)")
        var t = self
        t.shape = dims
        return t
    }

    public subscript(flat index: Int) -> Float {
        get { storage.pointer[index] }
        set {
            makeUnique()
            storage.pointer[index] = newValue
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = scalars.prefix(6).map { String(format: "%.5g", $0) }.joined(separator: ", ")
        return "Tensor\(shape)[\(head)\(count > 6 ? ", …" : "")]"
    }
}

// Layer weights as the checkpoint stores them. fp32 weights are a Tensor (a zero-copy view of a mapped F32 file);
// F16/BF16 weights stay a zero-copy view of the mapped half-precision bytes and are widened to fp32 only while an
// operation uses them (`withFloat32`), into a work buffer reused between calls, so a half-precision checkpoint
// takes its file size in memory, not twice that. linear, conv2d and embedding take weights in either form.
import CKernels

public struct Weight: @unchecked Sendable {
    public let shape: [Int]
    let storage: Storage

    enum Storage {
        /// fp32 elements.
        case float(Tensor)
        /// F16 or BF16 bits kept alive by `owner` (a mapped file, or a `HalfCopy`).
        case half(UnsafePointer<UInt16>, SafeTensorsDType, owner: AnyObject)
    }

    /// An fp32 weight (no copy).
    public init(_ tensor: Tensor) {
        shape = tensor.shape
        storage = .float(tensor)
    }

    /// A read-only view of `shape`'s element count of F16 or BF16 values that `owner` keeps alive (no copy).
    public init(shape: [Int], viewingHalf pointer: UnsafePointer<UInt16>, dtype: SafeTensorsDType, owner: AnyObject) {
        precondition(dtype == .f16 || dtype == .bf16, "Weight: \(dtype) is not a half-precision type")
        precondition(shape.allSatisfy { $0 >= 0 }, "Weight: negative dimension in \(shape)")
        self.shape = shape
        storage = .half(pointer, dtype, owner: owner)
    }

    public var count: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }

    /// How the elements are stored: .f32, .f16 or .bf16.
    public var dtype: SafeTensorsDType {
        switch storage {
        case .float: .f32
        case .half(_, let dtype, _): dtype
        }
    }

    /// Bytes the elements take in memory (2 per element for half-precision storage).
    public var byteCount: Int { count * dtype.byteSize }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Weight {
        switch storage {
        case .float(let t): return Weight(t.reshaped(newShape))
        case .half(let pointer, let dtype, let owner):
            precondition(newShape.reduce(1, *) == count, "reshape: \(shape) cannot become \(newShape)")
            return Weight(shape: newShape, viewingHalf: pointer, dtype: dtype, owner: owner)
        }
    }

    /// The elements as an fp32 tensor: the stored tensor itself, or a widened copy of half-precision storage.
    public var float32: Tensor {
        switch storage {
        case .float(let t): return t
        case .half:
            return Tensor(shape: shape) { out in widen(0..<count, into: out.baseAddress!) }
        }
    }

    /// The fp32 elements in place, or nil for half-precision storage.
    var float32Pointer: UnsafePointer<Float>? {
        if case .float(let t) = storage { return t.data }
        return nil
    }

    /// Calls `body` with the elements as fp32: the tensor's own memory, or half-precision storage widened into a
    /// work buffer that is reused by the next call (valid only during `body`).
    public func withFloat32<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        switch storage {
        case .float(let t):
            return try withExtendedLifetime(t) { try body(t.data) }
        case .half:
            return try WorkBuffer.weights.with(count: count) { buffer in
                widen(0..<count, into: buffer)
                return try body(buffer)
            }
        }
    }

    /// Writes elements `range` (flat indices) as fp32 to `dst`, split across the thread policy's workers unless
    /// `parallel` is false (a caller already running on one of them).
    public func widen(_ range: Range<Int>, into dst: UnsafeMutablePointer<Float>, parallel: Bool = true) {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "Weight: \(range) outside \(count) elements")
        switch storage {
        case .float(let t):
            dst.update(from: t.data + range.lowerBound, count: range.count)
        case .half(let pointer, let dtype, let owner):
            let convert = dtype == .f16 ? lcm_f16_to_f32 : lcm_bf16_to_f32
            let src = pointer + range.lowerBound
            withExtendedLifetime(owner) {
                if !parallel { return convert(src, dst, range.count) }
                ThreadPolicy.parallelFor(range.count, minChunk: elementwiseGrain) { r in
                    convert(src + r.lowerBound, dst + r.lowerBound, r.count)
                }
            }
        }
    }
}

/// Owned, 2-byte aligned half-precision bits (for stored bytes that are not aligned).
final class HalfCopy {
    let pointer: UnsafeMutablePointer<UInt16>

    init(_ bytes: UnsafeRawBufferPointer) {
        pointer = .allocate(capacity: max(1, bytes.count / 2))
        UnsafeMutableRawBufferPointer(start: pointer, count: bytes.count).copyMemory(from: bytes)
    }

    deinit { pointer.deallocate() }
}

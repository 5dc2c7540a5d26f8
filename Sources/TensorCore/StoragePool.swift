// Freed activation buffers kept for reuse: a network allocates the same few sizes of activation again and again,
// and a fresh multi-megabyte allocation is fresh mmap'ed pages, whose faults and zeroing by the kernel took about
// 8 % of a VAE decode's CPU time. Buffers of at least `minimumFloats` go back here when their tensor dies and are
// handed out again for the same size; the least recently returned ones are freed beyond `budgetFloats`.
import Foundation

public enum StoragePool {
    /// Smaller buffers go straight back to malloc (which keeps them itself).
    static let minimumFloats = 1 << 18
    /// Floats kept at most: 384 MiB, three of the largest SD 1.5 VAE activations at 512² (128 channels, 512×512).
    static let budgetFloats = 96 << 20

    private static let lock = NSLock()
    nonisolated(unsafe) private static var kept: [(count: Int, pointer: UnsafeMutablePointer<Float>)] = []
    nonisolated(unsafe) private static var keptFloats = 0

    /// A kept buffer of exactly `count` floats, else a new one.
    static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count >= minimumFloats {
            lock.lock()
            if let i = kept.lastIndex(where: { $0.count == count }) {
                let p = kept.remove(at: i).pointer
                keptFloats -= count
                lock.unlock()
                return p
            }
            lock.unlock()
        }
        return .allocate(capacity: max(count, 1))
    }

    /// Takes back a buffer from `allocate`.
    static func release(_ pointer: UnsafeMutablePointer<Float>, count: Int) {
        guard count >= minimumFloats, count <= budgetFloats else { return pointer.deallocate() }
        var evicted: [UnsafeMutablePointer<Float>] = []
        lock.lock()
        kept.append((count, pointer))
        keptFloats += count
        while keptFloats > budgetFloats {
            let oldest = kept.removeFirst()
            keptFloats -= oldest.count
            evicted.append(oldest.pointer)
        }
        lock.unlock()
        evicted.forEach { $0.deallocate() }
    }

    /// Frees every kept buffer (between networks whose activations have other sizes, e.g. before a VAE decode).
    public static func drain() {
        lock.lock()
        let all = kept
        kept = []
        keptFloats = 0
        lock.unlock()
        all.forEach { $0.pointer.deallocate() }
    }
}

// Freed activation buffers kept for reuse. A network allocates the same few sizes of activation again and again,
// and a fresh multi-megabyte allocation is fresh mmap'ed pages, whose faults and zeroing by the kernel cost
// 2–3 µs a page here (after a large process such as PyTorch or OpenVINO has run, twice that: the host backs the
// pages anew). Buffers of at least `minimumFloats` go back here when their tensor dies; a request takes the
// smallest kept buffer that holds it and is less than twice its size (best fit), else a new one; beyond
// `budgetFloats` the least recently returned buffers are freed.
//
// Page faults per VAE decode at 512² after the first one in a process (`perf stat -e page-faults lcm bench --arch
// sd15 --stage vae --warmup 1 --repeats N`, N = 3 against N = 1, halved): exact-size reuse within 384 MiB 429 k,
// best fit within 1.5 GiB 1.1 k.
import Foundation

public final class StoragePool: @unchecked Sendable {
    /// The pool behind every tensor: buffers from 1 MiB (smaller ones go straight back to malloc, which keeps them
    /// itself), 1.5 GiB kept at most (the activations of an SD 1.5 VAE decode at 512²).
    public static let shared = StoragePool(minimumFloats: 1 << 18, budgetFloats: 384 << 20)

    let minimumFloats, budgetFloats: Int
    private let lock = NSLock()
    private var kept: [(pointer: UnsafeMutablePointer<Float>, capacity: Int)] = []
    private var keptFloats = 0

    init(minimumFloats: Int, budgetFloats: Int) {
        (self.minimumFloats, self.budgetFloats) = (minimumFloats, budgetFloats)
    }

    deinit { drain() }

    /// A buffer of at least `count` floats and its capacity: a kept one (best fit, under twice `count`), else new.
    func allocate(_ count: Int) -> (pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        if count >= minimumFloats {
            lock.lock()
            var best: Int?
            for (i, k) in kept.enumerated() where k.capacity >= count && k.capacity < 2 * count {
                if best == nil || k.capacity < kept[best!].capacity { best = i }
            }
            if let best {
                let k = kept.remove(at: best)
                keptFloats -= k.capacity
                lock.unlock()
                return k
            }
            lock.unlock()
        }
        return (.allocate(capacity: max(count, 1)), count)
    }

    /// Takes back a buffer from `allocate`, with the capacity it came with.
    func release(_ pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        guard capacity >= minimumFloats, capacity <= budgetFloats else { return pointer.deallocate() }
        var evicted: [UnsafeMutablePointer<Float>] = []
        lock.lock()
        kept.append((pointer, capacity))
        keptFloats += capacity
        while keptFloats > budgetFloats {
            let oldest = kept.removeFirst()
            keptFloats -= oldest.capacity
            evicted.append(oldest.pointer)
        }
        lock.unlock()
        evicted.forEach { $0.deallocate() }
    }

    /// Floats held in kept buffers.
    var keptCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return keptFloats
    }

    /// Frees every kept buffer (between networks whose activations have other sizes, e.g. before a VAE decode).
    public func drain() {
        lock.lock()
        let all = kept
        kept = []
        keptFloats = 0
        lock.unlock()
        all.forEach { $0.pointer.deallocate() }
    }
}

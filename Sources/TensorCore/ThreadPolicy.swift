// The one thread policy: how many cores OpenBLAS and our own parallel loops use (default: all cores;
// LCM_THREADS or an explicit setting overrides). Our loops run on the calling thread plus Dispatch workers
// while BLAS is idle, so the two never oversubscribe the cores.
import COpenBLAS
import Dispatch
import Foundation
import Synchronization

public enum ThreadPolicy {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var current: Int = {
        let fromEnv = ProcessInfo.processInfo.environment["LCM_THREADS"].flatMap { Int($0) }
        let n = fromEnv.map { max(1, $0) } ?? ProcessInfo.processInfo.activeProcessorCount
        BLAS.selectKernels()
        BLAS.shortenThreadSpin()
        openblas_set_num_threads(Int32(n))
        return n
    }()

    /// Threads used by BLAS and by `parallelFor`.
    public static var threads: Int {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    /// Sets the thread count for BLAS and our loops; nil restores the default (LCM_THREADS or all cores).
    public static func setThreads(_ n: Int?) {
        let value = max(1, n ?? ProcessInfo.processInfo.environment["LCM_THREADS"].flatMap { Int($0) }
            ?? ProcessInfo.processInfo.activeProcessorCount)
        lock.lock()
        current = value
        lock.unlock()
        openblas_set_num_threads(Int32(value))
    }

    /// Runs body(i) for i in 0..<count on up to `threads` workers. The range is cut into up to
    /// `piecesPerWorker` contiguous pieces per worker (none below `minChunk`), which the workers take in turn as
    /// they finish: a worker the host slows down hands its share to the others instead of holding them at the end.
    public static func parallelFor(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let pieceLimit = max(1, count / max(1, minChunk))
        let workers = min(threads, pieceLimit)
        if workers <= 1 || count <= 1 {
            body(0..<count)
            return
        }
        let pieces = min(pieceLimit, workers * piecesPerWorker)
        let next = Atomic<Int>(0)
        withoutActuallyEscaping(body) { escapable in
            let chunk = SendableBody(run: escapable)
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while case let i = next.add(1, ordering: .relaxed).oldValue, i < pieces {
                    chunk.run(count * i / pieces..<count * (i + 1) / pieces)
                }
            }
        }
    }
}

/// Pieces per worker of a `parallelFor`.
private let piecesPerWorker = 4

/// The chunks of a `parallelFor` touch disjoint data by contract, so the body may cross threads.
private struct SendableBody: @unchecked Sendable {
    let run: (Range<Int>) -> Void
}

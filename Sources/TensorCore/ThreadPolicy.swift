// The one thread policy: how many cores OpenBLAS and our own parallel loops use (default: all cores;
// LCM_THREADS or an explicit setting overrides). Our loops run on the calling thread plus Dispatch workers
// while BLAS is idle, so the two never oversubscribe the cores.
import COpenBLAS
import Dispatch
import Foundation

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

    /// Runs body(i) for i in 0..<count, spread over `threads` workers in contiguous chunks.
    public static func parallelFor(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        let workers = min(threads, max(1, count / max(1, minChunk)))
        if workers <= 1 || count <= 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            let chunk = SendableBody(run: escapable)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let lo = count * w / workers
                let hi = count * (w + 1) / workers
                if lo < hi { chunk.run(lo..<hi) }
            }
        }
    }
}

/// The chunks of a `parallelFor` touch disjoint data by contract, so the body may cross threads.
private struct SendableBody: @unchecked Sendable {
    let run: (Range<Int>) -> Void
}

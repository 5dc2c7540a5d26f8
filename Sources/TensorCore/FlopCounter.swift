// Counts the floating-point operations of the matrix products (GEMM, convolutions, attention) that ops run, in
// the standard way (2 per multiply-accumulate of the direct algorithm), so a faster algorithm shows as a higher
// GFLOP/s rather than as less work.
import Foundation

public enum FlopCounter {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var count: Double = 0

    static func add(multiplyAccumulates macs: Int) {
        lock.lock()
        count += 2 * Double(macs)
        lock.unlock()
    }

    /// FLOP counted since the last reset.
    public static var total: Double {
        lock.lock()
        defer { lock.unlock() }
        return count
    }

    public static func reset() {
        lock.lock()
        count = 0
        lock.unlock()
    }
}

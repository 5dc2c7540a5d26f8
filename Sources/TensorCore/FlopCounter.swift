// Counts the floating-point operations of the matrix products (GEMM, convolutions, attention) that ops run, in
// the standard way (2 per multiply-accumulate of the direct algorithm), so a faster algorithm shows as a higher
// GFLOP/s rather than as less work. With `profiling` on, also the wall time and FLOP per kind of operation
// (`lcm bench --profile`).
import Foundation

public enum FlopCounter {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var count: Double = 0
    nonisolated(unsafe) private static var kinds: [String: Entry] = [:]
    nonisolated(unsafe) private static var enabled = false

    /// Seconds, FLOP and calls of one kind of operation.
    public struct Entry: Sendable {
        public var seconds = 0.0, flop = 0.0, calls = 0
    }

    static func add(multiplyAccumulates macs: Int) {
        lock.lock()
        count += 2 * Double(macs)
        lock.unlock()
    }

    /// Runs `body`, counting `macs` and, when profiling, its wall time under `kind`.
    @inline(__always)
    static func measure<R>(_ kind: @autoclosure () -> String, multiplyAccumulates macs: Int = 0,
                           _ body: () throws -> R) rethrows -> R {
        if macs > 0 { add(multiplyAccumulates: macs) }
        guard profiling else { return try body() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let name = kind()
        lock.lock()
        kinds[name, default: Entry()].seconds += seconds
        kinds[name, default: Entry()].flop += 2 * Double(macs)
        kinds[name, default: Entry()].calls += 1
        lock.unlock()
        return result
    }

    /// Whether `measure` records time per kind (off by default: it reads the clock twice per operation).
    public static var profiling: Bool {
        get { lock.lock(); defer { lock.unlock() }; return enabled }
        set { lock.lock(); enabled = newValue; lock.unlock() }
    }

    /// Time and FLOP per kind of operation since the last reset (empty unless profiling).
    public static var profile: [String: Entry] {
        lock.lock()
        defer { lock.unlock() }
        return kinds
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
        kinds = [:]
        lock.unlock()
    }
}

// ThreadPolicy.parallelFor: every index once, pieces no smaller than minChunk, and pieces handed out as workers
// finish, so a worker held up hands the rest of the range to the others.
import Foundation
import Testing
import TensorCore

@Suite struct ThreadPolicyTests {
    /// The pieces a parallelFor called its body with, and the thread that ran each.
    private final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var pieces: [(range: Range<Int>, thread: UInt)] = []
        func add(_ range: Range<Int>) {
            lock.lock()
            pieces.append((range, UInt(bitPattern: Int(bitPattern: pthread_self()))))
            lock.unlock()
        }
    }

    @Test(arguments: [(0, 1), (1, 1), (2, 1), (7, 1), (9, 1), (33, 4), (1000, 1), (1000, 300), (5, 8)])
    func coversEveryIndexOnceInPiecesOfAtLeastMinChunk(count: Int, minChunk: Int) {
        let log = Log()
        ThreadPolicy.parallelFor(count, minChunk: minChunk) { log.add($0) }
        let indices = log.pieces.flatMap { Array($0.range) }.sorted()
        #expect(indices == Array(0..<count))
        if count >= minChunk {
            #expect(log.pieces.allSatisfy { $0.range.count >= minChunk })
        }
        #expect(log.pieces.count <= max(1, ThreadPolicy.threads * 4))
    }

    @Test func aHeldUpWorkerLeavesTheRestToTheOthers() {
        let log = Log()
        ThreadPolicy.parallelFor(64) { range in
            if range.contains(0) { Thread.sleep(forTimeInterval: 0.3) }
            log.add(range)
        }
        let held = log.pieces.first { $0.range.contains(0) }!.thread
        // With one thread (or no second worker free) everything runs on the caller: nothing to check.
        if Set(log.pieces.map(\.thread)).count > 1 {
            // one piece, smaller than an even share (which a fixed split would have given it)
            let mine = log.pieces.filter { $0.thread == held }
            #expect(mine.count == 1 && mine[0].range.count < 64 / ThreadPolicy.threads)
        }
    }
}

// The activation pool: best-fit reuse of freed buffers (the smallest that holds a request and is under twice its
// size), least recently returned freed beyond the budget, small buffers never kept. A pool of the test's own, so
// tensors of tests running at the same time cannot take its buffers.
import Testing
@testable import TensorCore

@Suite struct StoragePoolTests {
    @Test func reusesTheSmallestKeptBufferUnderTwiceTheRequest() {
        let pool = StoragePool(minimumFloats: 100, budgetFloats: 10_000)
        let a = pool.allocate(1000), b = pool.allocate(700)
        #expect(a.capacity == 1000 && b.capacity == 700)
        pool.release(a.pointer, capacity: a.capacity)
        pool.release(b.pointer, capacity: b.capacity)
        #expect(pool.keptCount == 1700)

        let c = pool.allocate(600)  // 700 and 1000 both hold it: the smaller one
        #expect(c.pointer == b.pointer && c.capacity == 700)
        let d = pool.allocate(400)  // 1000 is 2.5× the request: a new buffer
        #expect(d.pointer != a.pointer && d.capacity == 400)
        let e = pool.allocate(1001)  // nothing kept is large enough
        #expect(e.pointer != a.pointer && e.capacity == 1001)
        #expect(pool.keptCount == 1000)
        for x in [c, d, e] { pool.release(x.pointer, capacity: x.capacity) }
        #expect(pool.keptCount == 1000 + 700 + 400 + 1001)
    }

    @Test func freesTheOldestBeyondTheBudgetAndNeverKeepsSmallBuffers() {
        let pool = StoragePool(minimumFloats: 100, budgetFloats: 3000)
        let a = pool.allocate(1000), b = pool.allocate(1500), c = pool.allocate(1000), small = pool.allocate(50)
        for x in [a, b, c, small] { pool.release(x.pointer, capacity: x.capacity) }
        #expect(pool.keptCount == 2500)  // a (returned first) freed; the small one not kept
        let again = pool.allocate(1000)
        #expect(again.pointer == c.pointer)
        pool.release(again.pointer, capacity: again.capacity)
        let big = pool.allocate(4000)  // over the budget: freed on release, not kept
        pool.release(big.pointer, capacity: big.capacity)
        #expect(pool.keptCount == 2500)
        pool.drain()
        #expect(pool.keptCount == 0)
    }
}

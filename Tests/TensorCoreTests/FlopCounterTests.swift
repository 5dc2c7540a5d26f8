// The per-operation profile behind `lcm bench --profile`: kinds named by path and shape, calls and FLOP counted
// for the direct algorithm. Shapes no other test uses, so tests running at the same time cannot add to them.
import Testing
import TestSupport
import TensorCore

@Suite struct FlopCounterTests {
    @Test func profileNamesKindsAndCountsTheirWork() {
        var rng = SplitMix64(state: 31)
        let values = { (n: Int) in (0..<n).map { _ in Float.random(in: -1...1, using: &rng) } }
        let x = Tensor(shape: [1, 16, 37, 41], values: values(16 * 37 * 41))
        let wide = Tensor(shape: [16, 16, 3, 3], values: values(16 * 16 * 9))
        let few = Tensor(shape: [3, 16, 3, 3], values: values(3 * 16 * 9))
        let q = Tensor(shape: [1, 29, 12], values: values(29 * 12)), k = Tensor(shape: [1, 31, 12], values: values(31 * 12))
        FlopCounter.profiling = true
        defer { FlopCounter.profiling = false }
        for _ in 0..<2 { _ = conv2d(x, weight: wide, bias: nil, stride: 1, padding: .same(1), algorithm: .winograd) }
        _ = conv2d(x, weight: few, bias: nil, stride: 1, padding: .same(1), algorithm: .direct)
        _ = attention(query: q, key: k, value: k, heads: 3)
        let profile = FlopCounter.profile
        let winograd = profile["conv3x3 winograd 37x41"], direct = profile["conv3x3 direct 37x41"]
        let attn = profile["attention 29×31"]
        #expect(winograd?.calls == 2 && winograd?.flop == 2 * 2 * Double(16 * 16 * 9 * 37 * 41))
        #expect(direct?.calls == 1 && direct?.flop == 2 * Double(3 * 16 * 9 * 37 * 41))
        #expect(attn?.calls == 1 && attn?.flop == 2 * Double(29 * 31 * (12 + 12)))
        #expect([winograd, direct, attn].allSatisfy { ($0?.seconds ?? -1) >= 0 })
    }
}

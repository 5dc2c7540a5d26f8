// The fused attention kernel (Kernels/attention_simd.c, ref.c): the reference twin against attention computed in
// double, the AVX2 and AVX-512 twins against the reference on odd sizes (row strides wider than the head, writes
// only inside each head's columns), and the attention op on its fused path against double.
import CKernels
import Foundation
import Testing
import TestSupport
import TensorCore

/// softmax(scale · q kᵀ) v in double for rows of q [rows, ldq] (first d used), k [nk, ldk], v [nk, ldv].
private func attentionInDouble(_ q: [Float], ldq: Int, _ k: [Float], ldk: Int, _ v: [Float], ldv: Int, rows: Int,
                               nk: Int, d: Int, dv: Int, scale: Double) -> [Double] {
    var out = [Double](repeating: 0, count: rows * dv)
    for i in 0..<rows {
        let s = (0..<nk).map { j in scale * (0..<d).reduce(0.0) { $0 + Double(q[i * ldq + $1]) * Double(k[j * ldk + $1]) } }
        let m = s.max() ?? 0
        let e = s.map { Foundation.exp($0 - m) }
        let sum = e.reduce(0, +)
        for c in 0..<dv { out[i * dv + c] = (0..<nk).reduce(0.0) { $0 + e[$1] * Double(v[$1 * ldv + c]) } / sum }
    }
    return out
}

private typealias AttentionRows = (UnsafePointer<Float>?, Int, UnsafePointer<Float>?, UnsafePointer<Float>?,
                                   UnsafeMutablePointer<Float>?, Int, Int, Int, Int, Int, Float,
                                   UnsafeMutablePointer<Float>?) -> Void

/// Runs one twin on packed keys/values; the output rows are ldo = dv + 3 wide, the extra columns sentinels.
private func run(_ kernel: AttentionRows, _ q: [Float], ldq: Int, _ k: [Float], _ v: [Float], rows: Int, nk: Int,
                 d: Int, dv: Int, scale: Float) -> (out: [Float], ldo: Int) {
    var kb = [Float](repeating: .nan, count: lcm_attention_packed_keys(nk, d))
    var vp = [Float](repeating: .nan, count: max(1, lcm_attention_packed_values(nk, dv)))
    lcm_attention_pack_f32(k, d + 1, v, dv + 2, nk, d, dv, &kb, &vp)
    var scratch = [Float](repeating: .nan, count: lcm_attention_scratch_floats(nk, d, dv))
    let ldo = dv + 3
    var out = [Float](repeating: sentinel, count: rows * ldo)
    kernel(q, ldq, kb, vp, &out, ldo, rows, nk, d, dv, scale, &scratch)
    return (out, ldo)
}

@Suite struct AttentionKernelTests {
    /// (rows, keys, d, dv): row counts around the 16- and 32-row tiles, key counts around the 12-key blocks and
    /// the 128-key blocks of P·V, head sizes around the 6- and 12-column register tiles (40, 80, 160 as in SD 1.5).
    static let shapes: [(Int, Int, Int, Int)] = [
        (1, 1, 1, 1), (2, 5, 3, 7), (3, 11, 8, 15), (4, 12, 17, 6), (5, 13, 40, 12), (6, 77, 40, 40), (7, 64, 80, 80),
        (11, 100, 13, 33), (13, 96, 160, 160), (17, 257, 64, 48), (12, 1024, 40, 40), (31, 128, 24, 13),
        (33, 129, 40, 40), (45, 300, 7, 5), (64, 30, 80, 25),
    ]

    /// Queries (rows wider than the head), keys and values of one head, uniform in ±bound (values in ±1).
    private struct Inputs {
        let q, k, v: [Float]
        let ldq: Int
        let scale: Float
        init(rows: Int, nk: Int, d: Int, dv: Int, bound: Float, _ rng: inout SplitMix64) {
            ldq = d + 5
            q = uniform(rows * ldq, bound, &rng)
            k = uniform(nk * (d + 1), bound, &rng)
            v = uniform(nk * (dv + 2), 1, &rng)
            scale = 1 / Float(d).squareRoot()
        }
    }

    /// The largest |out − want| over the first dv columns of each row (infinite where either is NaN); the columns
    /// after them must be untouched.
    private func worstDifference(_ out: [Float], ldo: Int, rows: Int, dv: Int, _ name: String,
                                 _ want: (Int, Int) -> Double) -> Double {
        var worst = 0.0
        for i in 0..<rows {
            for c in 0..<dv { worst = worse(worst, abs(Double(out[i * ldo + c]) - want(i, c))) }
            for c in dv..<ldo { #expect(out[i * ldo + c].bitPattern == sentinel.bitPattern, "\(name) wrote past dv") }
        }
        return worst
    }

    @Test func referenceMatchesDouble() {
        var rng = SplitMix64(state: 21)
        for (rows, nk, d, dv) in Self.shapes {
            let x = Inputs(rows: rows, nk: nk, d: d, dv: dv, bound: 1, &rng)
            let (out, ldo) = run(lcm_attention_rows_f32_ref, x.q, ldq: x.ldq, x.k, x.v, rows: rows, nk: nk, d: d,
                                 dv: dv, scale: x.scale)
            let want = attentionInDouble(x.q, ldq: x.ldq, x.k, ldk: d + 1, x.v, ldv: dv + 2, rows: rows, nk: nk, d: d,
                                         dv: dv, scale: Double(x.scale))
            let worst = worstDifference(out, ldo: ldo, rows: rows, dv: dv, "reference") { want[$0 * dv + $1] }
            #expect(worst <= 2e-6, "reference \(rows)×\(nk)×\(d)×\(dv): \(worst)")
        }
    }

    private func checkTwin(_ name: String, _ kernel: AttentionRows) {
        var rng = SplitMix64(state: 22)
        var worstAll = 0.0
        for (rows, nk, d, dv) in Self.shapes {
            let x = Inputs(rows: rows, nk: nk, d: d, dv: dv, bound: 2, &rng)
            let (r, ldo) = run(lcm_attention_rows_f32_ref, x.q, ldq: x.ldq, x.k, x.v, rows: rows, nk: nk, d: d, dv: dv,
                               scale: x.scale)
            let (a, _) = run(kernel, x.q, ldq: x.ldq, x.k, x.v, rows: rows, nk: nk, d: d, dv: dv, scale: x.scale)
            let worst = worstDifference(a, ldo: ldo, rows: rows, dv: dv, name) { Double(r[$0 * ldo + $1]) }
            // outputs are averages of values in [-1, 1]; the twins differ by FMA and exp rounding
            #expect(worst <= 2e-6, "\(name) \(rows)×\(nk)×\(d)×\(dv): \(worst)")
            worstAll = max(worstAll, worst)
        }
        print("attention kernel \(name): worst absolute difference from the reference \(worstAll)")
    }

    @Test(.enabled(if: lcm_cpu_has("avx2") != 0 && lcm_cpu_has("fma") != 0))
    func avx2MatchesReference() { checkTwin("avx2", lcm_attention_rows_f32_avx2) }

    @Test(.enabled(if: KernelBenchmark.avx512Available))
    func avx512MatchesReference() { checkTwin("avx512", lcm_attention_rows_f32_avx512) }

    /// Scores far below zero (−632 here) against keys that do not fill their last 32-key block: the zero scores of
    /// the padding keys must not enter the rows' maxima, or every exp(score − max) underflows to 0.
    @Test func paddingKeysStayOutOfTheMaxima() {
        var rng = SplitMix64(state: 24)
        let (rows, nk, d, dv) = (7, 77, 40, 40)
        let q = [Float](repeating: 10, count: rows * d), k = [Float](repeating: -10, count: nk * (d + 1))
        let v = uniform(nk * (dv + 2), 1, &rng)
        let scale = 1 / Float(d).squareRoot()
        let want = attentionInDouble(q, ldq: d, k, ldk: d + 1, v, ldv: dv + 2, rows: rows, nk: nk, d: d, dv: dv,
                                     scale: Double(scale))
        var twins: [(String, AttentionRows)] = [("reference", lcm_attention_rows_f32_ref)]
        if lcm_cpu_has("avx2") != 0 && lcm_cpu_has("fma") != 0 { twins.append(("avx2", lcm_attention_rows_f32_avx2)) }
        if KernelBenchmark.avx512Available { twins.append(("avx512", lcm_attention_rows_f32_avx512)) }
        for (name, kernel) in twins {
            let (out, ldo) = run(kernel, q, ldq: d, k, v, rows: rows, nk: nk, d: d, dv: dv, scale: scale)
            let worst = worstDifference(out, ldo: ldo, rows: rows, dv: dv, name) { want[$0 * dv + $1] }
            #expect(worst <= 2e-6, "\(name): \(worst)")
        }
    }

    /// A NaN in one query row makes that row's outputs NaN in every twin, as in the reference, and leaves the
    /// other rows finite; a NaN in one key makes every output NaN (its score is NaN for every row, and the exp must
    /// not turn it into 0).
    @Test func nanPropagates() {
        var rng = SplitMix64(state: 25)
        let (rows, nk, d, dv) = (40, 50, 16, 9)
        let x = Inputs(rows: rows, nk: nk, d: d, dv: dv, bound: 1, &rng)
        var q = x.q, k = x.k
        q[7 * x.ldq + 3] = .nan
        k[11 * (d + 1) + 5] = .nan
        var twins: [(String, AttentionRows)] = [("reference", lcm_attention_rows_f32_ref)]
        if lcm_cpu_has("avx2") != 0 && lcm_cpu_has("fma") != 0 { twins.append(("avx2", lcm_attention_rows_f32_avx2)) }
        if KernelBenchmark.avx512Available { twins.append(("avx512", lcm_attention_rows_f32_avx512)) }
        for (name, kernel) in twins {
            let (byQuery, ldo) = run(kernel, q, ldq: x.ldq, x.k, x.v, rows: rows, nk: nk, d: d, dv: dv, scale: x.scale)
            let (byKey, _) = run(kernel, x.q, ldq: x.ldq, k, x.v, rows: rows, nk: nk, d: d, dv: dv, scale: x.scale)
            for i in 0..<rows {
                let nans = (0..<dv).filter { byQuery[i * ldo + $0].isNaN }.count
                #expect(nans == (i == 7 ? dv : 0), "\(name), NaN query: row \(i) has \(nans) NaN outputs")
                #expect((0..<dv).allSatisfy { byKey[i * ldo + $0].isNaN }, "\(name), NaN key: row \(i) not all NaN")
            }
        }
    }

    /// The op on its fused path: batch 2, 5 heads, odd sequence lengths, against double.
    @Test func attentionOpMatchesDouble() {
        var rng = SplitMix64(state: 23)
        let (batch, nq, nk, heads, d, dv) = (2, 37, 45, 5, 8, 6)
        let q = Tensor(shape: [batch, nq, heads * d], values: uniform(batch * nq * heads * d, 1, &rng))
        let k = Tensor(shape: [batch, nk, heads * d], values: uniform(batch * nk * heads * d, 1, &rng))
        let v = Tensor(shape: [batch, nk, heads * dv], values: uniform(batch * nk * heads * dv, 1, &rng))
        let y = attention(query: q, key: k, value: v, heads: heads).scalars
        var worst = 0.0
        for b in 0..<batch {
            for h in 0..<heads {
                let qs = Array(q.scalars[(b * nq * heads * d)...].prefix(nq * heads * d)).dropFirst(h * d)
                let ks = Array(k.scalars[(b * nk * heads * d)...].prefix(nk * heads * d)).dropFirst(h * d)
                let vs = Array(v.scalars[(b * nk * heads * dv)...].prefix(nk * heads * dv)).dropFirst(h * dv)
                let want = attentionInDouble(Array(qs), ldq: heads * d, Array(ks), ldk: heads * d, Array(vs),
                                             ldv: heads * dv, rows: nq, nk: nk, d: d, dv: dv,
                                             scale: 1 / Double(d).squareRoot())
                for i in 0..<nq {
                    for c in 0..<dv {
                        let got = Double(y[(b * nq + i) * heads * dv + h * dv + c])
                        worst = worse(worst, abs(got - want[i * dv + c]))
                    }
                }
            }
        }
        #expect(worst <= 2e-6, "attention op: \(worst)")
    }
}

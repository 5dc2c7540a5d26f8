// The packed GEMM kernel behind the Winograd convolutions (Kernels/gemm_simd.c, ref.c): the packing layout, the
// reference twin against the product in double, and the AVX2 and AVX-512 twins against the reference on odd
// sizes: rows around the 12-row panels and their 6- and 12-row passes, columns around the 16- and 32-column
// register tiles, depths from 1 to past an L2 block of B, strides wider than the matrices (c written only in its
// m × n corner).
import CKernels
import Testing
import TestSupport
import TensorCore

private typealias PackedGEMM = (UnsafePointer<Float>?, UnsafePointer<Float>?, Int, UnsafeMutablePointer<Float>?, Int,
                                Int, Int, Int) -> Void

@Suite struct PackedGEMMKernelTests {
    /// (m, n, k)
    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (5, 7, 3), (6, 8, 9), (7, 15, 16), (11, 16, 17), (12, 17, 31), (13, 31, 64), (18, 32, 5),
        (23, 33, 40), (24, 64, 128), (25, 100, 257), (37, 47, 600), (12, 700, 200),
    ]

    private struct Case {
        let m, n, k, lda, ldb, ldc: Int
        let a, b: [Float]
        let packed: [Float]

        init(_ m: Int, _ n: Int, _ k: Int, seed: UInt64) {
            var rng = SplitMix64(state: seed)
            (self.m, self.n, self.k) = (m, n, k)
            (lda, ldb, ldc) = (k + 3, n + 5, n + 2)
            a = uniform(m * lda, 1, &rng)
            b = uniform(k * ldb, 1, &rng)
            var p = [Float](repeating: .nan, count: lcm_sgemm_packed_a_floats(m, k))
            lcm_sgemm_pack_a_f32(a, lda, m, k, &p)
            packed = p
        }

        func run(_ kernel: PackedGEMM) -> [Float] {
            var c = [Float](repeating: sentinel, count: m * ldc)
            kernel(packed, b, ldb, &c, ldc, m, n, k)
            return c
        }

        func inDouble(_ i: Int, _ j: Int) -> Double {
            (0..<k).reduce(0.0) { $0 + Double(a[i * lda + $1]) * Double(b[$1 * ldb + j]) }
        }
    }

    @Test func packingLaysOutPanelsOfTwelveRowsWithZeroPadding() {
        let (m, k) = (14, 3)
        let a = (0..<m * k).map { Float($0 + 1) }
        #expect(lcm_sgemm_packed_a_floats(m, k) == 24 * k)
        var p = [Float](repeating: .nan, count: lcm_sgemm_packed_a_floats(m, k))
        lcm_sgemm_pack_a_f32(a, k, m, k, &p)
        for i in 0..<24 {
            for q in 0..<k {
                let expected = i < m ? a[i * k + q] : 0
                #expect(p[i / 12 * 12 * k + q * 12 + i % 12] == expected, "row \(i) column \(q)")
            }
        }
    }

    @Test func referenceMatchesDouble() {
        for (index, (m, n, k)) in Self.shapes.enumerated() {
            let x = Case(m, n, k, seed: UInt64(100 + index))
            let c = x.run(lcm_sgemm_packed_f32_ref)
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<x.ldc {
                    if j >= n {
                        #expect(c[i * x.ldc + j].bitPattern == sentinel.bitPattern, "wrote outside c at \(i),\(j)")
                        continue
                    }
                    worst = worse(worst, abs(Double(c[i * x.ldc + j]) - x.inDouble(i, j)) / Double(k).squareRoot())
                }
            }
            #expect(worst < 2e-6, "m \(m) n \(n) k \(k): error \(worst) per √k")
        }
    }

    private func checkTwin(_ name: String, _ kernel: PackedGEMM) {
        for (index, (m, n, k)) in Self.shapes.enumerated() {
            let x = Case(m, n, k, seed: UInt64(200 + index))
            let reference = x.run(lcm_sgemm_packed_f32_ref), twin = x.run(kernel)
            var worst: Float = 0
            for i in 0..<m {
                for j in 0..<x.ldc {
                    let (r, t) = (reference[i * x.ldc + j], twin[i * x.ldc + j])
                    if j >= n {
                        #expect(t.bitPattern == sentinel.bitPattern, "\(name) wrote outside c at \(i),\(j)")
                    } else {
                        worst = worse(worst, abs(r - t))
                    }
                }
            }
            // the twins round once per multiply-add (FMA), the reference twice: |Δ| ≤ k · 2⁻²⁴ · Σ|a·b| ≈ k · 6e-8 · √k
            #expect(worst <= 1e-7 * Float(k) * Float(k).squareRoot() + 1e-7, "\(name) m \(m) n \(n) k \(k): \(worst)")
        }
    }

    @Test(.enabled(if: lcm_cpu_has("avx2") != 0 && lcm_cpu_has("fma") != 0))
    func avx2MatchesReference() { checkTwin("avx2", lcm_sgemm_packed_f32_avx2) }

    @Test(.enabled(if: KernelBenchmark.avx512Available))
    func avx512MatchesReference() { checkTwin("avx512", lcm_sgemm_packed_f32_avx512) }
}

// Throughput of each C kernel's AVX2 (and, where there is one, AVX-512) twin against its portable reference twin
// (`lcm bench --kernels`).
// One thread, fixed shapes shaped like the UNet's (64x64 latent planes, 4096-key attention rows).
import CKernels

public enum KernelBenchmark {
    /// One kernel: output elements per call and throughput of each twin in 10^9 output elements per second.
    public struct Row: Sendable, Codable, Equatable {
        public let name: String
        public let elements: Int
        public let referenceGelemPerSecond: Double
        /// nil when the CPU lacks AVX2 or FMA, so the twin cannot run.
        public let avx2GelemPerSecond: Double?
        /// avx2 / reference throughput.
        public let speedup: Double?
        /// nil when the kernel has no AVX-512 twin or the CPU lacks AVX-512.
        public let avx512GelemPerSecond: Double?
    }

    /// The ISA the dispatching entry points use in this process ("avx512", "avx2+fma" or "reference").
    public static var dispatchedISA: String { String(cString: lcm_kernels_isa_name()) }

    /// Whether the AVX2 twins can run on this CPU.
    public static var avx2Available: Bool { lcm_cpu_has("avx2") != 0 && lcm_cpu_has("fma") != 0 }

    /// Whether the AVX-512 twins can run on this CPU.
    public static var avx512Available: Bool {
        let flags: [String] = ["avx512f", "avx512dq", "avx512bw", "avx512vl"]
        return avx2Available && flags.allSatisfy { lcm_cpu_has($0) != 0 }
    }

    public static let defaultElements = 1 << 20
    public static let defaultRepeats = 11

    /// Times every kernel on about `elements` output elements: one warm-up call, then the median of `repeats` calls.
    public static func run(elements: Int = defaultElements, repeats: Int = defaultRepeats) -> [Row] {
        precondition(elements >= 9 * 4096 && repeats >= 1, "benchmark shapes need at least 9*4096 elements")
        let buffers = Buffers(elements: elements)
        let avx2 = avx2Available
        return buffers.kernels().map { kernel in
            let ref = seconds(kernel.reference, repeats)
            let fast = avx2 ? seconds(kernel.avx2, repeats) : nil
            let refRate = Double(kernel.elements) / ref / 1e9
            let fastRate = fast.map { Double(kernel.elements) / $0 / 1e9 }
            let wide = avx512Available ? kernel.avx512.map { seconds($0, repeats) } : nil
            return Row(name: kernel.name, elements: kernel.elements, referenceGelemPerSecond: refRate,
                       avx2GelemPerSecond: fastRate, speedup: fastRate.map { $0 / refRate },
                       avx512GelemPerSecond: wide.map { Double(kernel.elements) / $0 / 1e9 })
        }
    }

    private static func seconds(_ body: () -> Void, _ repeats: Int) -> Double {
        let clock = ContinuousClock()
        body()
        let times = (0..<repeats).map { _ in
            let d = clock.measure(body).components
            return Double(d.seconds) + Double(d.attoseconds) * 1e-18
        }.sorted()
        return max(times[times.count / 2], 1e-9)
    }

    private struct Kernel {
        let name: String
        let elements: Int
        let reference: () -> Void
        let avx2: () -> Void
        var avx512: (() -> Void)? = nil
    }

    /// Inputs and outputs of every kernel, allocated once (inputs in [-4, 4], like activations).
    private final class Buffers {
        let n: Int
        let x, b, y, wide: UnsafeMutablePointer<Float>
        let halves: UnsafeMutablePointer<UInt16>

        init(elements: Int) {
            n = elements
            x = .allocate(capacity: n)
            b = .allocate(capacity: n)
            y = .allocate(capacity: n)
            wide = .allocate(capacity: 2 * n)
            halves = .allocate(capacity: n)
            for i in 0..<n {
                x[i] = Float(i % 97) * 0.0825 - 4
                b[i] = Float(i % 89) * 0.09 - 4
                halves[i] = UInt16(truncatingIfNeeded: 0x3000 &+ i % 0x4000)
            }
            for i in 0..<2 * n { wide[i] = Float(i % 83) * 0.0964 - 4 }
        }

        deinit {
            for p in [x, b, y, wide] { p.deallocate() }
            halves.deallocate()
        }

        func kernels() -> [Kernel] {
            let (x, b, y, wide, halves, n) = (self.x, self.b, self.y, self.wide, self.halves, self.n)
            let plane = 4096  // 64x64 latent
            let planes = n / plane, rows = n / 1024, attnRows = n / 4096, lnRows = n / 320
            let upPlanes = n / plane, im2colChannels = n / (9 * plane)
            return [
                Kernel(name: "f16_to_f32", elements: n, reference: { lcm_f16_to_f32_ref(halves, y, n) },
                       avx2: { lcm_f16_to_f32_avx2(halves, y, n) }),
                Kernel(name: "bf16_to_f32", elements: n, reference: { lcm_bf16_to_f32_ref(halves, y, n) },
                       avx2: { lcm_bf16_to_f32_avx2(halves, y, n) }),
                Kernel(name: "add", elements: n, reference: { lcm_add_f32_ref(x, b, y, n) },
                       avx2: { lcm_add_f32_avx2(x, b, y, n) }),
                Kernel(name: "mul", elements: n, reference: { lcm_mul_f32_ref(x, b, y, n) },
                       avx2: { lcm_mul_f32_avx2(x, b, y, n) }),
                Kernel(name: "scale", elements: n, reference: { lcm_scale_f32_ref(x, 0.18215, y, n) },
                       avx2: { lcm_scale_f32_avx2(x, 0.18215, y, n) }),
                Kernel(name: "bias_planes [n/4096, 64x64]", elements: planes * plane,
                       reference: { lcm_bias_planes_f32_ref(y, b, planes, plane) },
                       avx2: { lcm_bias_planes_f32_avx2(y, b, planes, plane) }),
                Kernel(name: "silu", elements: n, reference: { lcm_silu_f32_ref(x, y, n) },
                       avx2: { lcm_silu_f32_avx2(x, y, n) }, avx512: { lcm_silu_f32_avx512(x, y, n) }),
                Kernel(name: "gelu", elements: n, reference: { lcm_gelu_f32_ref(x, y, n) },
                       avx2: { lcm_gelu_f32_avx2(x, y, n) }),
                Kernel(name: "gelu_tanh", elements: n, reference: { lcm_gelu_tanh_f32_ref(x, y, n) },
                       avx2: { lcm_gelu_tanh_f32_avx2(x, y, n) }),
                Kernel(name: "quick_gelu", elements: n, reference: { lcm_quick_gelu_f32_ref(x, y, n) },
                       avx2: { lcm_quick_gelu_f32_avx2(x, y, n) }),
                Kernel(name: "geglu [n/1024, 2x1024]", elements: rows * 1024,
                       reference: { lcm_geglu_f32_ref(wide, y, rows, 1024) },
                       avx2: { lcm_geglu_f32_avx2(wide, y, rows, 1024) }),
                Kernel(name: "softmax_rows [n/4096, 4096]", elements: attnRows * 4096,
                       reference: { lcm_softmax_rows_f32_ref(y, attnRows, 4096, 0.125, nil) },
                       avx2: { lcm_softmax_rows_f32_avx2(y, attnRows, 4096, 0.125, nil) },
                       avx512: { lcm_softmax_rows_f32_avx512(y, attnRows, 4096, 0.125, nil) }),
                Kernel(name: "layernorm [n/320, 320]", elements: lnRows * 320,
                       reference: { lcm_layernorm_f32_ref(x, y, b, b, lnRows, 320, 1e-5) },
                       avx2: { lcm_layernorm_f32_avx2(x, y, b, b, lnRows, 320, 1e-5) }),
                Kernel(name: "groupnorm+silu [8 ch, 64x64]", elements: planes / 8 * 8 * plane,
                       reference: { Self.groupNorm(lcm_groupnorm_group_f32_ref, x, y, b, planes, plane) },
                       avx2: { Self.groupNorm(lcm_groupnorm_group_f32_avx2, x, y, b, planes, plane) },
                       avx512: { Self.groupNorm(lcm_groupnorm_group_f32_avx512, x, y, b, planes, plane) }),
                Kernel(name: "upsample_nearest2x [32x32 -> 64x64]", elements: upPlanes * plane,
                       reference: { lcm_upsample_nearest2x_f32_ref(x, y, upPlanes, 32, 32) },
                       avx2: { lcm_upsample_nearest2x_f32_avx2(x, y, upPlanes, 32, 32) }),
                Kernel(name: "im2col3x3 [64x64, pad 1]", elements: 9 * im2colChannels * plane,
                       reference: { lcm_im2col3x3_f32_ref(x, y, 0, im2colChannels, 64, 64, 1, 1, 1, 64, 64, 0, 64) },
                       avx2: { lcm_im2col3x3_f32_avx2(x, y, 0, im2colChannels, 64, 64, 1, 1, 1, 64, 64, 0, 64) }),
            ]
        }

        typealias GroupNormKernel = (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, UnsafePointer<Float>?,
                                     UnsafePointer<Float>?, Int, Int, Float, Int32) -> Void

        /// GroupNorm with SiLU over `planes` planes in groups of 8 channels, as in a UNet resnet block.
        static func groupNorm(_ kernel: GroupNormKernel, _ x: UnsafeMutablePointer<Float>,
                              _ y: UnsafeMutablePointer<Float>, _ gamma: UnsafeMutablePointer<Float>,
                              _ planes: Int, _ plane: Int) {
            for c0 in stride(from: 0, to: planes - 7, by: 8) {
                kernel(x + c0 * plane, y + c0 * plane, gamma + c0, gamma + c0, 8, plane, 1e-5, 1)
            }
        }
    }
}

// The one place that calls BLAS: row-major single-precision GEMM through OpenBLAS, and the one-time choice of
// OpenBLAS's kernel family.
import CKernels
import COpenBLAS
import Foundation

public enum BLAS {
    /// C[m×n] = alpha · op(A) · op(B) + beta · C, all row-major with the given leading dimensions.
    /// op(A) is m×k (A stored k×m when transA), op(B) is k×n (B stored n×k when transB).
    @inlinable
    public static func sgemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        _ = configured
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// Runs `body` with OpenBLAS on one thread, so that workers of `ThreadPolicy.parallelFor` inside it can each
    /// call `sgemm` at once on their own slices (small products: no hand-over to BLAS threads, no barrier per call).
    /// Not reentrant, and `ThreadPolicy.setThreads` must not run meanwhile.
    public static func withSingleThreadedCalls<R>(_ body: () throws -> R) rethrows -> R {
        _ = configured
        let threads = ThreadPolicy.threads
        if threads == 1 { return try body() }
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(Int32(threads)) }
        return try body()
    }

    /// Applies the thread policy (and with it `selectKernels`) before the first GEMM.
    @usableFromInline static let configured: Void = { _ = ThreadPolicy.threads }()

    /// What `selectKernels` did: nil when OpenBLAS's own choice was kept, else the family switched to.
    nonisolated(unsafe) public private(set) static var switchedCoreType: String?
    nonisolated(unsafe) static var originalCoreName: String?

    /// OpenBLAS builds with DYNAMIC_ARCH pick their kernels from the CPU model at load time and fall back to
    /// SSE3 ("Prescott") kernels on CPUs newer than the build, 3–4× slower here. When that happened and the user
    /// did not set OPENBLAS_CORETYPE, re-run OpenBLAS's selection with the family our own feature check supports
    /// (SkylakeX with AVX-512, else Haswell with AVX2+FMA). Runs once, before the first GEMM (ThreadPolicy).
    static func selectKernels() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              coreIsBehindCPU,
              let handle = dlopen(nil, RTLD_NOW),
              let quit = dlsym(handle, "gotoblas_dynamic_quit"),
              let initialise = dlsym(handle, "gotoblas_dynamic_init") else { return }
        typealias Hook = @convention(c) () -> Void
        originalCoreName = coreName
        let avx512Flags: [String] = ["avx512f", "avx512bw", "avx512vl", "avx512dq"]
        let avx512 = avx512Flags.allSatisfy { lcm_cpu_has($0) != 0 }
        let family = avx512 ? "SkylakeX" : "Haswell"
        setenv("OPENBLAS_CORETYPE", family, 1)
        unsafeBitCast(quit, to: Hook.self)()
        unsafeBitCast(initialise, to: Hook.self)()
        unsetenv("OPENBLAS_CORETYPE")
        switchedCoreType = coreName
    }

    /// OpenBLAS's idle worker threads spin, calling sched_yield, for 2^28 cycles after each GEMM before they sleep.
    /// Between GEMMs our own loops (transforms, norms, softmax) use the same cores, and the spinning threads took
    /// about a fifth of the CPU time of a VAE decode on the 2-core machine. Unless the user set
    /// OPENBLAS_THREAD_TIMEOUT, restart the thread server with the shortest spin OpenBLAS allows (2^4 cycles):
    /// VAE decode at 512² measured 9.0 s instead of 9.3–10.4 s (alternating runs). Runs once, with `selectKernels`.
    static func shortenThreadSpin() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_THREAD_TIMEOUT"] == nil,
              let handle = dlopen(nil, RTLD_NOW),
              let readEnvironment = dlsym(handle, "openblas_read_env"),
              let shutdown = dlsym(handle, "blas_thread_shutdown_"),
              let start = dlsym(handle, "blas_thread_init") else { return }
        typealias Hook = @convention(c) () -> Int32
        setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1)
        _ = unsafeBitCast(readEnvironment, to: Hook.self)()
        unsetenv("OPENBLAS_THREAD_TIMEOUT")
        _ = unsafeBitCast(shutdown, to: Hook.self)()
        _ = unsafeBitCast(start, to: Hook.self)()
    }

    /// The kernel family OpenBLAS runs, e.g. "Haswell".
    static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// True when OpenBLAS runs kernels older than AVX2 on a CPU that has AVX2 and FMA: its run-time detection
    /// did not recognise the CPU (newer than the OpenBLAS build).
    static var coreIsBehindCPU: Bool {
        let preAVX2 = ["katmai", "coppermine", "northwood", "prescott", "banias", "core2", "penryn", "dunnington",
                       "nehalem", "atom", "sandybridge", "opteron", "barcelona", "bobcat", "bulldozer", "piledriver"]
        return lcm_cpu_has("avx2") != 0 && lcm_cpu_has("fma") != 0 && preAVX2.contains(coreName.lowercased())
    }
}

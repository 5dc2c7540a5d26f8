// What the engine runs on: CPU model and features, the kernel ISA chosen at run time, the OpenBLAS build
// and its threads, and our own thread count (for `lcm info` and benchmark reports).
import CKernels
import COpenBLAS
import Foundation

public enum SystemInfo {
    /// CPU features the kernels care about, in display order.
    public static let featureNames = ["avx2", "fma", "f16c", "avx512f"]

    /// Whether the CPU reports `feature` (one of `featureNames`, or "sse4.2").
    public static func cpuHas(_ feature: String) -> Bool { lcm_cpu_has(feature) != 0 }

    /// Feature name → present, for every name in `featureNames`.
    public static var cpuFeatures: [(name: String, present: Bool)] {
        featureNames.map { ($0, cpuHas($0)) }
    }

    /// The "model name" line of /proc/cpuinfo, or "unknown".
    public static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }

    public static var logicalCores: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// The ISA the C kernels dispatch to: "avx2+fma" or "reference".
    public static var kernelISA: String { String(cString: lcm_kernels_isa_name()) }

    /// OpenBLAS build configuration, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64".
    public static var blasConfig: String { openblas_get_config().map { String(cString: $0) } ?? "unknown" }

    /// The OpenBLAS kernel family in use, e.g. "Zen" (after `BLAS.selectKernels` has run).
    public static var blasCoreName: String {
        _ = BLAS.configured
        return BLAS.coreName
    }

    /// The family OpenBLAS chose by itself when `BLAS.selectKernels` replaced it, else nil.
    public static var blasCoreSwitchedFrom: String? {
        _ = BLAS.configured
        return BLAS.switchedCoreType == nil ? nil : BLAS.originalCoreName
    }

    /// True when OpenBLAS still runs kernels older than AVX2 on a CPU with AVX2 and FMA.
    public static var blasCoreIsBehindCPU: Bool {
        _ = BLAS.configured
        return BLAS.coreIsBehindCPU
    }

    /// Threads OpenBLAS uses (after the thread policy has applied its setting).
    public static var blasThreads: Int {
        _ = ThreadPolicy.threads
        return Int(openblas_get_num_threads())
    }

    /// Threads our own parallel loops use.
    public static var threads: Int { ThreadPolicy.threads }
}

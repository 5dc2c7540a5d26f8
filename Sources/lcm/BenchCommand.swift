// `lcm bench`: pipeline stages on a model folder or on random weights of a built-in architecture, and the C
// kernels (`--kernels`: each AVX2 twin against its reference twin).
import ArgumentParser
import Foundation
import LCMModels
import LCM
import TensorCore

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure pipeline stages (median seconds, GFLOP/s, peak memory) or the C kernels.",
        discussion: """
            GFLOP are counted for the direct algorithm (2 per multiply-accumulate of every GEMM, convolution and \
            attention product), so faster algorithms show as a higher rate rather than as less work.
            """)

    @Option(help: "A diffusers model folder to load.") var model: String?
    @Option(help: "Random weights of a built-in architecture instead of a folder: \(BuiltinArchitecture.allCases.map(\.rawValue).joined(separator: ", ")).")
    var arch: String?
    @Option(help: "Stage: text, unet (one step), vae (decode), or all (text + steps × UNet + decode).")
    var stage = "all"
    @Option(help: "Image width in pixels.") var width = 512
    @Option(help: "Image height in pixels.") var height = 512
    @Option(help: "UNet steps for --stage all.") var steps = 4
    @Option(help: "Untimed runs first.") var warmup = 1
    @Option(help: "Timed runs (the median is reported).") var repeats = 3
    @Option(help: "Threads for BLAS and kernels (default: LCM_THREADS or all cores).") var threads: Int?
    @Flag(help: "Time each C kernel's AVX2 (and AVX-512) twin against its portable reference twin.")
    var kernels = false
    @Flag(help: """
        Also time each kind of operation (linear, attention by shape, convolution by path and map size, norms, \
        layout) in the last run of each stage.
        """)
    var profile = false
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() throws {
        try runReportingErrors {
            if kernels { return try benchKernels(json: json) }
            if let threads { ThreadPolicy.setThreads(threads) }
            FlopCounter.profiling = profile
            guard let which = BenchStage(rawValue: stage) else {
                throw ValidationError("unknown stage '\(stage)' (text, unet, vae, all)")
            }
            guard warmup >= 0, repeats >= 1, steps >= 1 else {
                throw ValidationError("--warmup must be ≥ 0, --repeats and --steps ≥ 1")
            }
            let networks: BenchNetworks
            let source: String
            switch (model, arch) {
            case let (m?, nil):
                networks = BenchNetworks(model: try LoadedModel(ModelLocation(directory: URL(fileURLWithPath: m))))
                source = m
            case let (nil, a?):
                guard let known = BuiltinArchitecture(rawValue: a) else { throw ValidationError("unknown --arch '\(a)'") }
                networks = try BenchNetworks(architecture: known)
                source = "random \(a)"
            default:
                throw ValidationError("pass one of --model DIR or --arch NAME (or --kernels)")
            }
            let f = max(8, networks.vae.config.scaleFactor)
            guard width > 0, height > 0, width % f == 0, height % f == 0 else {
                throw ValidationError("size \(width)×\(height) must be positive multiples of \(f)")
            }
            let bench = StageBench(networks: networks, width: width, height: height, steps: steps)
            let stages = which == .all ? [.text, .unet, .vae, .all] : [which]
            var results: [StageResult] = []
            for s in stages {
                let r = try bench.measure(s, warmup: warmup, repeats: repeats)
                results.append(r)
                if !json {
                    print(String(format: "%-5@ median %8.3f s  %8.1f GFLOP  %7.1f GFLOP/s  (runs: %@)",
                                 r.stage as NSString, r.medianSeconds, r.gflop, r.gflopPerSecond,
                                 r.allSeconds.map { String(format: "%.3f", $0) }.joined(separator: ", ") as NSString))
                    for row in r.profile {
                        let kind = row.kind.padding(toLength: max(28, row.kind.count), withPad: " ", startingAt: 0)
                        print("      " + kind + String(format: "%5d calls %8.3f s %5.1f %%  %8.1f GFLOP/s", row.calls,
                                                        row.seconds, 100 * row.seconds / r.allSeconds.last!,
                                                        row.seconds > 0 ? row.gflop / row.seconds : 0))
                    }
                }
            }
            let rss = peakRSSBytes()
            if json {
                struct Report: Encodable {
                    let model: String, width: Int, height: Int, steps: Int, threads: Int, peakRSSBytes: Int
                    let stages: [StageResult]
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let data = try encoder.encode(Report(model: source, width: width, height: height, steps: steps,
                                                     threads: ThreadPolicy.threads, peakRSSBytes: rss, stages: results))
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(String(format: "%@, %d×%d, %d threads, peak RSS %.2f GB", source as NSString, width, height,
                             ThreadPolicy.threads, Double(rss) / 1e9))
            }
        }
    }
}

/// Runs KernelBenchmark and prints its rows as a table or as JSON.
func benchKernels(json: Bool) throws {
    let rows = KernelBenchmark.run()
    if json {
        struct Report: Encodable {
            let dispatchedISA: String
            let kernels: [KernelBenchmark.Row]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(Report(dispatchedISA: KernelBenchmark.dispatchedISA, kernels: rows))
        print(String(decoding: data, as: UTF8.self))
        return
    }
    print("kernels dispatch to \(KernelBenchmark.dispatchedISA); one thread, median of \(KernelBenchmark.defaultRepeats) calls")
    let header = ["kernel", "elements", "ref Gelem/s", "avx2 Gelem/s", "speed-up", "avx512 Gelem/s"]
    let table = rows.map { row in
        [row.name, String(row.elements), fixed(row.referenceGelemPerSecond, 3),
         row.avx2GelemPerSecond.map { fixed($0, 3) } ?? "n/a", row.speedup.map { fixed($0, 1) + "x" } ?? "n/a",
         row.avx512GelemPerSecond.map { fixed($0, 3) } ?? "-"]
    }
    let widths = header.indices.map { c in ([header] + table).map { $0[c].count }.max() ?? 0 }
    for line in [header] + table {
        let cells = line.enumerated().map { c, cell in
            c == 0 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: widths[c] - cell.count) + cell
        }
        print(cells.joined(separator: "  "))
    }
}

private func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }

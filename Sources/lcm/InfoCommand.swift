// `lcm info`: the machine as the engine sees it — CPU, chosen kernels, OpenBLAS build and threads, libpng.
import ArgumentParser
import Foundation
import LCM
import TensorCore

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show the CPU, the kernels chosen for it, the OpenBLAS build and the thread settings."
    )

    @Flag(help: "Print JSON instead of text.")
    var json = false

    /// Everything `info` reports.
    struct Report: Encodable {
        struct CPU: Encodable {
            let model: String
            let logicalCores: Int
            let features: [String: Bool]
        }

        struct OpenBLAS: Encodable {
            let config: String
            let core: String
            let coreIsBehindCPU: Bool
            let coreChosenByOpenBLAS: String?
            let threads: Int
        }

        let version: String
        let cpu: CPU
        let kernelISA: String
        let openBLAS: OpenBLAS
        let threads: Int
        let libpng: String
    }

    func run() throws {
        try runReportingErrors {
            let features = SystemInfo.cpuFeatures
            let report = Report(
                version: LCMCommand.version,
                cpu: .init(model: SystemInfo.cpuModel, logicalCores: SystemInfo.logicalCores,
                           features: Dictionary(uniqueKeysWithValues: features.map { ($0.name, $0.present) })),
                kernelISA: SystemInfo.kernelISA,
                openBLAS: .init(config: SystemInfo.blasConfig, core: SystemInfo.blasCoreName,
                                coreIsBehindCPU: SystemInfo.blasCoreIsBehindCPU,
                                coreChosenByOpenBLAS: SystemInfo.blasCoreSwitchedFrom, threads: SystemInfo.blasThreads),
                threads: SystemInfo.threads,
                libpng: PNGImage.libpngVersion
            )
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
                return
            }
            let featureText = features.map { "\($0.name) \($0.present ? "yes" : "no")" }.joined(separator: ", ")
            let rows = [
                ("lcm", report.version),
                ("CPU", "\(report.cpu.model) (\(report.cpu.logicalCores) logical cores)"),
                ("CPU features", featureText),
                ("kernels", report.kernelISA),
                ("OpenBLAS", report.openBLAS.config),
                ("OpenBLAS core", report.openBLAS.core
                    + (report.openBLAS.coreChosenByOpenBLAS.map { " (selected by lcm; OpenBLAS detected \($0))" } ?? "")
                    + (report.openBLAS.coreIsBehindCPU
                        ? " (older than this CPU: launch with OPENBLAS_CORETYPE=Haswell for AVX2 kernels)" : "")),
                ("OpenBLAS threads", "\(report.openBLAS.threads)"),
                ("threads", "\(report.threads) (set LCM_THREADS to change)"),
                ("libpng", report.libpng),
            ]
            for (label, value) in rows {
                print(label.padding(toLength: 18, withPad: " ", startingAt: 0) + value)
            }
        }
    }
}

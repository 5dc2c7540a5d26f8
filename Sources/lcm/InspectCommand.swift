// `lcm inspect`: the tensors of a .safetensors file, or of every such file below a folder (headers only, no data read).
import ArgumentParser
import Foundation
import TensorCore

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the tensors (name, dtype, shape) and parameter counts of safetensors files."
    )

    @Argument(help: "A .safetensors file, or a folder searched recursively for them.")
    var path: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    struct TensorEntry: Encodable {
        let name: String
        let dtype: String
        let shape: [Int]
    }

    struct FileEntry: Encodable {
        let path: String
        let metadata: [String: String]
        let tensors: [TensorEntry]
        let tensorCount: Int
        let parameterCount: Int
        let byteCount: Int
    }

    struct Report: Encodable {
        let files: [FileEntry]
        let fileCount: Int
        let tensorCount: Int
        let parameterCount: Int
        let byteCount: Int
    }

    func run() throws {
        try runReportingErrors {
            let files = try safetensorsFiles(at: path).map { path in
                let file = try SafeTensorsFile(contentsOf: URL(fileURLWithPath: path))
                let infos = file.tensorInfos
                return FileEntry(path: path, metadata: file.metadata,
                                 tensors: infos.map { .init(name: $0.name, dtype: $0.dtype.rawValue, shape: $0.shape) },
                                 tensorCount: infos.count, parameterCount: file.parameterCount,
                                 byteCount: infos.reduce(0) { $0 + $1.byteCount })
            }
            let report = Report(files: files, fileCount: files.count,
                                tensorCount: files.reduce(0) { $0 + $1.tensorCount },
                                parameterCount: files.reduce(0) { $0 + $1.parameterCount },
                                byteCount: files.reduce(0) { $0 + $1.byteCount })
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                printText(report)
            }
        }
    }

    private func printText(_ report: Report) {
        var out = ""
        for file in report.files {
            out += "\(file.path)\n"
            let nameWidth = file.tensors.map(\.name.count).max() ?? 0
            for tensor in file.tensors {
                let shape = "[" + tensor.shape.map(String.init).joined(separator: ", ") + "]"
                out += "  " + tensor.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                    + "  " + tensor.dtype.padding(toLength: 4, withPad: " ", startingAt: 0) + "  " + shape + "\n"
            }
            out += "  \(grouped(file.tensorCount)) tensors, \(grouped(file.parameterCount)) parameters, "
                + "\(grouped(file.byteCount)) bytes\n\n"
        }
        out += "total: \(grouped(report.fileCount)) files, \(grouped(report.tensorCount)) tensors, "
            + "\(grouped(report.parameterCount)) parameters, \(grouped(report.byteCount)) bytes"
        print(out)
    }
}

/// `path` itself when it is a file, else every *.safetensors file below it (recursively), sorted by path.
private func safetensorsFiles(at path: String) throws -> [String] {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
        throw InspectError("\(path): no such file or folder")
    }
    guard isFolder.boolValue else { return [path] }
    guard let walker = FileManager.default.enumerator(atPath: path) else {
        throw InspectError("\(path): cannot list the folder")
    }
    let folder = path.hasSuffix("/") ? String(path.dropLast()) : path
    let found = walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".safetensors") }.sorted()
        .map { "\(folder)/\($0)" }
        .filter { candidate in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    guard !found.isEmpty else { throw InspectError("\(path): no .safetensors files in this folder or below") }
    return found
}

/// 1234567 → "1,234,567".
private func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, digit) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
        out.append(digit)
    }
    return (n < 0 ? "-" : "") + out
}

private struct InspectError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

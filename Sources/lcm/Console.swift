// Terminal output helpers: warnings and notes on stderr, a progress line when stderr is a terminal,
// output-path checks and file-name slugs.
import Foundation
import LCM

enum Console {
    static func warn(_ message: String) {
        FileHandle.standardError.write(Data("lcm: warning: \(message)\n".utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }

    /// Lowercase ASCII words of the prompt joined by '-', at most 48 characters.
    static func slug(_ text: String) -> String {
        let words = text.lowercased().split { !($0.isASCII && ($0.isLetter || $0.isNumber)) }
        let s = String(words.joined(separator: "-").prefix(48))
        return s.isEmpty ? "image" : s
    }

    /// Fails early, before any work, when an output file could not be written.
    static func checkWritable(_ paths: [String]) throws {
        for path in paths {
            let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw GenerationError.invalidRequest("cannot write \(path): folder \(dir) does not exist")
            }
            guard FileManager.default.isWritableFile(atPath: dir) else {
                throw GenerationError.invalidRequest("cannot write \(path): folder \(dir) is not writable")
            }
        }
    }

    /// "step k/N, s/step, ETA" on one rewritten stderr line, only when stderr is a terminal.
    final class Progress: @unchecked Sendable {
        let active: Bool
        private var elapsed: Double = 0

        init(enabled: Bool) { active = enabled && isatty(2) != 0 }

        func step(_ info: StepInfo) {
            guard active else { return }
            elapsed += info.seconds
            let perStep = elapsed / Double(info.index + 1)
            let eta = perStep * Double(info.count - info.index - 1)
            let line = String(format: "\rstep %d/%d  %.2f s/step  ETA %.1f s ", info.index + 1, info.count, perStep, eta)
            FileHandle.standardError.write(Data(line.utf8))
        }

        func finish() {
            if active { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        }
    }
}

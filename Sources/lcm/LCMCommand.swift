// The `lcm` command: subcommands, and the one place where errors become a one-line message and exit code 1.
import ArgumentParser
import Foundation

@main
struct LCMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lcm",
        abstract: "Few-step text-to-image with latent consistency models, on the CPU.",
        version: LCMCommand.version,
        subcommands: [Generate.self, Bench.self, Convert.self, Tokenize.self, Inspect.self, Info.self],
        defaultSubcommand: nil
    )
    static let version = "0.1.0"

    /// Like ParsableCommand.main, but every failure is one line on stderr: usage errors exit 1 with the parser's
    /// message (no usage dump), `--help` and `--version` print and exit 0.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = message(for: error).split(separator: "\n").first.map(String.init) ?? ""
            if !message.isEmpty {
                FileHandle.standardError.write(Data("lcm: error: \(message)\n".utf8))
            }
            Foundation.exit(code == .validationFailure ? 1 : code.rawValue)
        }
    }
}

/// Runs a subcommand body; a thrown error becomes one line on stderr and exit code 1.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("lcm: error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

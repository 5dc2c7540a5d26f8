// `lcm tokenize`: the CLIP token ids of a prompt, as the pipeline feeds them to the text encoder.
import ArgumentParser
import Foundation
import LCM

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the CLIP token ids of a prompt (BOS, tokens, EOS, padding to 77).",
        discussion: "Prompts longer than 75 tokens are truncated, with a warning on stderr."
    )

    @Option(help: "A diffusers model folder; its tokenizer/ subfolder is read.")
    var model: String

    @Argument(help: "The prompt.")
    var prompt: String

    @Flag(name: .customLong("no-pad"), help: "Stop after EOS instead of padding to 77 ids.")
    var noPad = false

    @Flag(help: "Print {\"ids\": [...]} instead of space-separated ids.")
    var json = false

    struct Output: Encodable {
        let ids: [Int]
    }

    func run() throws {
        try runReportingErrors {
            let folder = URL(fileURLWithPath: model).appendingPathComponent("tokenizer")
            let tokenizer = try CLIPTokenizer(directory: folder)
            let (ids, truncated) = tokenizer(prompt, maxLength: 77, padToMaxLength: !noPad)
            if truncated {
                let count = tokenizer.encode(prompt).count - 2
                FileHandle.standardError.write(Data(
                    "lcm: warning: the prompt has \(count) tokens; only the first 75 are used\n".utf8))
            }
            if json {
                let data = try JSONEncoder().encode(Output(ids: ids))
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(ids.map(String.init).joined(separator: " "))
            }
        }
    }
}

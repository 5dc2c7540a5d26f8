// Tests of CLIPTokenizer against transformers' CLIPTokenizer (Tests/Fixtures/goldens/tokenizer.json, written by
// Weights/tools/make_text_rng_scheduler_goldens.py from Weights/clip-tokenizer/ plus per-folder config files).
import Foundation
import LCM
import Testing
import TestSupport

@Suite struct CLIPTokenizerTests {
    struct Golden: Decodable {
        struct Case: Decodable {
            let folder: String
            let text: String
            let ids: [Int]
            let padded: [Int]
            let truncated: Bool
        }
        let folders: [String: [String: JSONValue]]
        let cases: [Case]
    }

    /// Any JSON value, kept only to be written back out.
    struct JSONValue: Decodable {
        let object: Any
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Bool.self) {
                object = value
            } else if let value = try? container.decode(Int.self) {
                object = value
            } else if let value = try? container.decode(String.self) {
                object = value
            } else if let value = try? container.decode([String: JSONValue].self) {
                object = value.mapValues(\.object)
            } else {
                object = try container.decode([JSONValue].self).map(\.object)
            }
        }
    }

    static let vocabularyFolder = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Weights/clip-tokenizer")

    /// The bare Weights/clip-tokenizer folder, loaded once for the tests that only encode.
    static let plain = Result { try CLIPTokenizer(directory: vocabularyFolder) }

    static func golden() throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: Fixtures.url("goldens/tokenizer.json")))
    }

    /// A tokenizer folder: vocab.json and merges.txt copied from Weights/clip-tokenizer plus `files`.
    static func makeFolder(in root: URL, name: String, files: [String: JSONValue]) throws -> URL {
        let folder = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for file in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(at: vocabularyFolder.appendingPathComponent(file),
                                             to: folder.appendingPathComponent(file))
        }
        for (file, content) in files {
            try JSONSerialization.data(withJSONObject: content.object).write(to: folder.appendingPathComponent(file))
        }
        return folder
    }

    /// A folder holding only tokenizer.json (transformers ≥ 5's format) built from Weights/clip-tokenizer.
    static func makeTokenizerJSONFolder(in root: URL, name: String, mergesAsPairs: Bool) throws -> URL {
        let folder = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let vocab = try String(contentsOf: vocabularyFolder.appendingPathComponent("vocab.json"), encoding: .utf8)
        let lines = try String(contentsOf: vocabularyFolder.appendingPathComponent("merges.txt"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map(String.init)
        let merges = mergesAsPairs
            ? try JSONEncoder().encode(lines.map { $0.split(separator: " ").map(String.init) })
            : try JSONEncoder().encode(lines)
        let added = #"[{"id": 49406, "content": "<|startoftext|>", "special": true, "normalized": false}, "#
            + #"{"id": 49407, "content": "<|endoftext|>", "special": true, "normalized": false}]"#
        let json = #"{"version": "1.0", "added_tokens": \#(added), "model": {"type": "BPE", "#
            + #""end_of_word_suffix": "</w>", "vocab": \#(vocab), "merges": \#(String(decoding: merges, as: UTF8.self))}}"#
        try Data(json.utf8).write(to: folder.appendingPathComponent("tokenizer.json"))
        return folder
    }

    static func check(_ tokenizer: CLIPTokenizer, _ cases: [Golden.Case], label: String) {
        for c in cases {
            #expect(tokenizer.encode(c.text) == c.ids, "\(label): \(c.text.debugDescription)")
            let (ids, truncated) = tokenizer(c.text)
            #expect(ids == c.padded, "\(label) padded: \(c.text.debugDescription)")
            #expect(truncated == c.truncated, "\(label) truncated flag: \(c.text.debugDescription)")
        }
    }

    @Test func idsEqualTransformersForEveryFolderStyle() throws {
        let golden = try Self.golden()
        let scratch = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        #expect(Set(golden.folders.keys) == ["plain", "sd15", "sd15_decoder", "sd2"])
        for (name, files) in golden.folders {
            let tokenizer = try CLIPTokenizer(directory: Self.makeFolder(in: scratch, name: name, files: files))
            let cases = golden.cases.filter { $0.folder == name }
            #expect(cases.count >= 7)
            Self.check(tokenizer, cases, label: name)
        }
    }

    @Test func tokenizerJSONAloneGivesTheSameIds() throws {
        let golden = try Self.golden()
        let scratch = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let plain = golden.cases.filter { $0.folder == "plain" }
        for pairs in [false, true] {
            let folder = try Self.makeTokenizerJSONFolder(in: scratch, name: "json-\(pairs)", mergesAsPairs: pairs)
            Self.check(try CLIPTokenizer(directory: folder), plain, label: "tokenizer.json, merges as pairs: \(pairs)")
        }
    }

    @Test func specVectors() throws {
        let tokenizer = try Self.plain.get()
        #expect(tokenizer.encode("a photo of a cat") == [49406, 320, 1125, 539, 320, 2368, 49407])
        #expect(tokenizer.encode("Self-portrait oil painting, a beautiful cyborg with golden hair, 8k")
            == [49406, 1322, 268, 5352, 2870, 3086, 267, 320, 1215, 36650, 593, 3878, 2225, 267, 279, 330, 49407])
        #expect(tokenizer.encode("  Hello   WORLD!!  it's 2024 ") == [49406, 3306, 1002, 748, 585, 568, 273, 271, 273, 275, 49407])
        #expect(tokenizer.encode("") == [49406, 49407])
        let (padded, truncated) = tokenizer("a photo of a cat")
        #expect(padded == [49406, 320, 1125, 539, 320, 2368] + Array(repeating: 49407, count: 71))
        #expect(!truncated)
        let long = tokenizer(Array(repeating: "word", count: 100).joined(separator: " "))
        #expect(long.ids == [49406] + Array(repeating: 2653, count: 75) + [49407])
        #expect(long.truncated)
        let unpadded = tokenizer("a photo of a cat", padToMaxLength: false)
        #expect(unpadded.ids == [49406, 320, 1125, 539, 320, 2368, 49407])
        #expect(tokenizer.padTokenID == 49407 && tokenizer.bosTokenID == 49406 && tokenizer.eosTokenID == 49407)
    }

    @Test func exactlySeventyFiveTokensAreNotTruncated() throws {
        let tokenizer = try Self.plain.get()
        let fits = tokenizer(Array(repeating: "word", count: 75).joined(separator: " "))
        #expect(!fits.truncated && fits.ids.count == 77 && fits.ids.last == 49407)
        #expect(tokenizer(Array(repeating: "word", count: 76).joined(separator: " ")).truncated)
    }

    @Test func missingOrBrokenFilesThrowNamingTheFolder() throws {
        let scratch = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let missing = scratch.appendingPathComponent("no-such-tokenizer")
        #expect(throws: CLIPTokenizerError.self) { try CLIPTokenizer(directory: missing) }
        do {
            _ = try CLIPTokenizer(directory: missing)
        } catch {
            #expect("\(error)".contains(missing.path))
        }

        let vocabOnly = scratch.appendingPathComponent("vocab-only")
        try FileManager.default.createDirectory(at: vocabOnly, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.vocabularyFolder.appendingPathComponent("vocab.json"),
                                         to: vocabOnly.appendingPathComponent("vocab.json"))
        do {
            _ = try CLIPTokenizer(directory: vocabOnly)
            Issue.record("a folder without merges.txt or tokenizer.json loaded")
        } catch {
            #expect("\(error)".contains(vocabOnly.path) && "\(error)".contains("merges.txt"))
        }

        try Data("#version: 0.2\ni n\nbad-line\n".utf8).write(to: vocabOnly.appendingPathComponent("merges.txt"))
        do {
            _ = try CLIPTokenizer(directory: vocabOnly)
            Issue.record("a malformed merges.txt loaded")
        } catch {
            #expect("\(error)".contains("merges.txt line 3"))
        }

        let badPad = try Self.makeFolder(in: scratch, name: "bad-pad", files: [:])
        try Data(#"{"pad_token": "<pad>"}"#.utf8).write(to: badPad.appendingPathComponent("special_tokens_map.json"))
        do {
            _ = try CLIPTokenizer(directory: badPad)
            Issue.record("a pad token outside the vocabulary was accepted")
        } catch {
            #expect("\(error)".contains("<pad>") && "\(error)".contains(badPad.path))
        }
    }

    @Test func copiesShareTheirCacheSafelyAcrossThreads() async throws {
        let tokenizer = try Self.plain.get()
        let prompts = (0..<64).map { "prompt number \($0): a watercolour of \($0 % 7) foxes, très jolie" }
        let expected = prompts.map { tokenizer.encode($0) }
        let results = await withTaskGroup(of: (Int, [Int]).self) { group in
            for (i, prompt) in prompts.enumerated() { group.addTask { (i, tokenizer.encode(prompt)) } }
            var results = [[Int]](repeating: [], count: prompts.count)
            for await (i, ids) in group { results[i] = ids }
            return results
        }
        #expect(results == expected)
    }
}

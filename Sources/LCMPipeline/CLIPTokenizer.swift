// Port of transformers src/transformers/models/clip/tokenization_clip.py (CLIPTokenizer on the tokenizers backend,
// transformers ≥ 5): loading a diffusers `tokenizer/` folder, special tokens, truncation and padding.
import Foundation

public struct CLIPTokenizerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// CLIP's byte-level BPE tokenizer, giving the ids of transformers' `CLIPTokenizer` (tokenizers backend).
///
/// Text is cut at special tokens first (bos, eos, unk, pad and any added tokens): those transformers registers as
/// "normalized" are found in the normalised text, the others in the raw text. The rest is normalised (NFC, then
/// each character's full lowercase mapping), split by CLIP's pre-tokenization pattern (whitespace dropped, letter
/// runs, single digits, runs of other characters), mapped byte-wise to unicode and merged by BPE.
///
/// OpenAI's `simple_tokenizer.py` (and transformers 4.x's slow CLIPTokenizer) differ on unusual text: they run
/// `ftfy.fix_text`, OpenAI's also `html.unescape` twice ("a&amp;b" → "a&b"); Python's `lower()` writes a final
/// sigma ("ΣΑΣ" → "σας", here "σασ"); and a special token spelled in another case ("<|ENDOFTEXT|>") becomes that
/// token there, while here, when the token is not normalized, it is split into "<|", "endoftext" and "|>".
/// Ordinary prompts give the same ids in all of them.
public struct CLIPTokenizer: Sendable {
    public let bosTokenID: Int
    public let eosTokenID: Int
    public let padTokenID: Int
    public let unknownTokenID: Int
    private let specialTokens: [SpecialToken]
    private let encoder: CLIPBytePairEncoder

    struct SpecialToken: Sendable {
        let scalars: [Unicode.Scalar]
        let id: Int
        let normalized: Bool
    }

    /// Loads `vocab.json` + `merges.txt`, or else `tokenizer.json` (model.vocab and model.merges), from a diffusers
    /// `tokenizer/` folder; special tokens come from `special_tokens_map.json` over `tokenizer_config.json` over
    /// CLIP's defaults (pad `<|endoftext|>`; SD 2.x checkpoints pad with "!").
    public init(directory: URL) throws {
        let files = try CLIPTokenizerFiles(directory: directory)
        try self.init(vocabulary: files.vocabulary, merges: files.merges, tokens: files.specialTokens,
                      addedTokens: files.addedTokens, source: directory.path)
    }

    init(vocabulary: [String: Int], merges: [(String, String)], tokens: SpecialTokenNames,
         addedTokens: [String: Int], source: String) throws {
        func id(_ token: String, _ role: String) throws -> Int {
            guard let id = addedTokens[token] ?? vocabulary[token] else {
                throw CLIPTokenizerError("\(role) token \"\(token)\" is not in the vocabulary of \(source)")
            }
            return id
        }
        bosTokenID = try id(tokens.bos, "bos")
        eosTokenID = try id(tokens.eos, "eos")
        unknownTokenID = try id(tokens.unk, "unk")
        padTokenID = try id(tokens.pad, "pad")
        var special: [String: SpecialToken] = [:]
        for content in Set([tokens.bos, tokens.eos, tokens.unk, tokens.pad]).union(addedTokens.keys) {
            special[content] = SpecialToken(scalars: Array(content.unicodeScalars), id: try id(content, "special"),
                                            normalized: tokens.normalized.contains(content))
        }
        // Longest first, so that the longest special token starting at a position wins.
        specialTokens = special.values.sorted { $0.scalars.count > $1.scalars.count }
        encoder = CLIPBytePairEncoder(vocabulary: vocabulary, merges: merges, unknownID: unknownTokenID)
    }

    /// BOS + tokens + EOS, neither truncated nor padded.
    public func encode(_ text: String) -> [Int] {
        [bosTokenID] + tokenIDs(text) + [eosTokenID]
    }

    /// The text encoder's input: BOS, at most maxLength − 2 tokens, EOS, then pad ids up to maxLength
    /// (transformers' `padding="max_length", truncation=True`). `truncated` tells whether tokens were cut.
    public func callAsFunction(_ text: String, maxLength: Int = 77,
                               padToMaxLength: Bool = true) -> (ids: [Int], truncated: Bool) {
        precondition(maxLength >= 2, "CLIPTokenizer: maxLength \(maxLength) leaves no room for BOS and EOS")
        let tokens = tokenIDs(text)
        var ids = [bosTokenID] + tokens.prefix(maxLength - 2) + [eosTokenID]
        if padToMaxLength { ids += Array(repeating: padTokenID, count: maxLength - ids.count) }
        return (ids, tokens.count > maxLength - 2)
    }

    private func tokenIDs(_ text: String) -> [Int] {
        var ids: [Int] = []
        for rawPart in split(Array(text.unicodeScalars), normalized: false) {
            switch rawPart {
            case .special(let id):
                ids.append(id)
            case .text(let scalars):
                for part in split(CLIPBytePairEncoder.normalize(scalars), normalized: true) {
                    switch part {
                    case .special(let id): ids.append(id)
                    case .text(let normalizedText): ids += encoder.encode(normalized: normalizedText)
                    }
                }
            }
        }
        return ids
    }

    private enum Part {
        case text([Unicode.Scalar])
        case special(Int)
    }

    /// Cuts `scalars` at the special tokens whose `normalized` flag equals `normalized`, leftmost first.
    private func split(_ scalars: [Unicode.Scalar], normalized: Bool) -> [Part] {
        let candidates = specialTokens.filter { $0.normalized == normalized }
        guard !candidates.isEmpty else { return [.text(scalars)] }
        var parts: [Part] = []
        var start = 0, i = 0
        while i < scalars.count {
            if let token = candidates.first(where: { scalars[i...].starts(with: $0.scalars) }) {
                if start < i { parts.append(.text(Array(scalars[start..<i]))) }
                parts.append(.special(token.id))
                i += token.scalars.count
                start = i
            } else {
                i += 1
            }
        }
        if start < scalars.count { parts.append(.text(Array(scalars[start...]))) }
        return parts
    }
}

/// The special-token spellings of a tokenizer folder, and which of them are matched after normalization.
struct SpecialTokenNames {
    enum Role: String, CaseIterable { case bos = "bos_token", eos = "eos_token", unk = "unk_token", pad = "pad_token" }

    var bos = "<|startoftext|>"
    var eos = "<|endoftext|>"
    var unk = "<|endoftext|>"
    var pad = "<|endoftext|>"
    var normalized: Set<String> = []

    subscript(role: Role) -> String {
        get {
            switch role {
            case .bos: bos
            case .eos: eos
            case .unk: unk
            case .pad: pad
            }
        }
        set {
            switch role {
            case .bos: bos = newValue
            case .eos: eos = newValue
            case .unk: unk = newValue
            case .pad: pad = newValue
            }
        }
    }
}

/// What a tokenizer folder holds: vocabulary, merges, added tokens and special-token spellings.
struct CLIPTokenizerFiles {
    var vocabulary: [String: Int] = [:]
    var merges: [(String, String)] = []
    var addedTokens: [String: Int] = [:]
    var specialTokens = SpecialTokenNames()
    /// `normalized` flags from tables that define added tokens (tokenizer.json added_tokens,
    /// tokenizer_config.json added_tokens_decoder); they take precedence over the role entries.
    private var declaredNormalized: [String: Bool] = [:]
    /// Per role, the spelling and `normalized` flag of the file read last that names it.
    private var roleEntries: [SpecialTokenNames.Role: (content: String, normalized: Bool)] = [:]

    init(directory: URL) throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIPTokenizerError("tokenizer folder \(directory.path) does not exist")
        }
        func file(_ name: String) -> URL? {
            let url = directory.appendingPathComponent(name)
            return manager.fileExists(atPath: url.path) ? url : nil
        }
        if let vocab = file("vocab.json"), let merges = file("merges.txt") {
            vocabulary = try Self.readVocabulary(vocab)
            self.merges = try Self.readMerges(merges)
        } else if let json = file("tokenizer.json") {
            try readTokenizerJSON(json)
        } else {
            throw CLIPTokenizerError("tokenizer folder \(directory.path) has neither vocab.json and merges.txt "
                + "nor tokenizer.json")
        }
        // special_tokens_map.json overrides tokenizer_config.json, as in transformers.
        for name in ["tokenizer_config.json", "special_tokens_map.json"] {
            if let url = file(name) { try readSpecialTokens(url) }
        }
        resolveNormalizedFlags()
    }

    /// Which special tokens are matched in normalised text. transformers ≥ 5 registers the role tokens in the
    /// order bos, eos, unk, pad, skipping exact repeats (same spelling and flag); for one spelling the last one
    /// registered wins. A plain-string entry is not normalized. Added-token tables override all of that.
    private mutating func resolveNormalizedFlags() {
        var flags: [String: Bool] = [:]
        var registered: [(String, Bool)] = []
        for role in SpecialTokenNames.Role.allCases {
            let entry = roleEntries[role] ?? (specialTokens[role], false)
            specialTokens[role] = entry.content
            if !registered.contains(where: { $0 == entry }) {
                registered.append(entry)
                flags[entry.content] = entry.normalized
            }
        }
        flags.merge(declaredNormalized) { _, declared in declared }
        specialTokens.normalized = Set(flags.filter(\.value).keys)
    }

    private static func jsonObject(_ url: URL) throws -> [String: Any] {
        do {
            guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
                throw CLIPTokenizerError("\(url.path) is not a JSON object")
            }
            return object
        } catch let error as CLIPTokenizerError {
            throw error
        } catch {
            throw CLIPTokenizerError("cannot read \(url.path): \(error.localizedDescription)")
        }
    }

    private static func readVocabulary(_ url: URL) throws -> [String: Int] {
        do {
            return try JSONDecoder().decode([String: Int].self, from: Data(contentsOf: url))
        } catch {
            throw CLIPTokenizerError("cannot read the token → id map \(url.path): \(error)")
        }
    }

    /// merges.txt: an optional "#version" line, then one "first second" pair per line, in rank order.
    private static func readMerges(_ url: URL) throws -> [(String, String)] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw CLIPTokenizerError("cannot read \(url.path): \(error.localizedDescription)")
        }
        var merges: [(String, String)] = []
        // Split on bytes: far faster than on Characters, and "\n", "\r" and " " are single bytes in UTF-8.
        for (number, rawLine) in text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.last == 0x0D ? rawLine.dropLast() : rawLine
            if line.isEmpty || line.starts(with: "#version".utf8) { continue }
            guard let space = line.firstIndex(of: 0x20), !line[line.index(after: space)...].contains(0x20) else {
                throw CLIPTokenizerError("\(url.path) line \(number + 1): expected two symbols separated by one "
                    + "space, found \"\(String(Substring(line)))\"")
            }
            merges.append((String(Substring(line[..<space])), String(Substring(line[line.index(after: space)...]))))
        }
        return merges
    }

    private static func pair(_ line: String, at location: String) throws -> (String, String) {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw CLIPTokenizerError("\(location): expected two symbols separated by one space, found \"\(line)\"")
        }
        return (String(parts[0]), String(parts[1]))
    }

    /// tokenizer.json (tokenizers' format, the only file transformers ≥ 5 saves): model.vocab, model.merges as
    /// "a b" strings or [a, b] pairs, and added_tokens.
    private mutating func readTokenizerJSON(_ url: URL) throws {
        let root = try Self.jsonObject(url)
        guard let model = root["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Any],
              let mergeList = model["merges"] as? [Any] else {
            throw CLIPTokenizerError("\(url.path) has no model.vocab and model.merges")
        }
        if let type = model["type"] as? String, type != "BPE" {
            throw CLIPTokenizerError("\(url.path) holds a \(type) model, not BPE")
        }
        for (token, value) in vocab {
            guard let id = value as? Int else {
                throw CLIPTokenizerError("\(url.path): model.vocab[\"\(token)\"] is not an integer")
            }
            vocabulary[token] = id
        }
        for (index, entry) in mergeList.enumerated() {
            let location = "\(url.path) model.merges[\(index)]"
            if let line = entry as? String {
                merges.append(try Self.pair(line, at: location))
            } else if let parts = entry as? [String], parts.count == 2 {
                merges.append((parts[0], parts[1]))
            } else {
                throw CLIPTokenizerError("\(location) is neither \"a b\" nor a pair of strings")
            }
        }
        for case let token as [String: Any] in root["added_tokens"] as? [Any] ?? [] {
            guard let content = token["content"] as? String, let id = token["id"] as? Int else {
                throw CLIPTokenizerError("\(url.path): an added_tokens entry lacks an integer id or a content")
            }
            addedTokens[content] = id
            declaredNormalized[content] = token["normalized"] as? Bool ?? false
        }
    }

    /// bos/eos/unk/pad spellings (plain strings or AddedToken objects), and the added_tokens_decoder table.
    private mutating func readSpecialTokens(_ url: URL) throws {
        let root = try Self.jsonObject(url)
        for role in SpecialTokenNames.Role.allCases {
            if let content = root[role.rawValue] as? String {
                roleEntries[role] = (content, false)
            } else if let token = root[role.rawValue] as? [String: Any], let content = token["content"] as? String {
                roleEntries[role] = (content, token["normalized"] as? Bool ?? false)
            }
        }
        for case let (key, token as [String: Any]) in root["added_tokens_decoder"] as? [String: Any] ?? [:] {
            guard let id = Int(key), let content = token["content"] as? String else {
                throw CLIPTokenizerError("\(url.path): added_tokens_decoder[\"\(key)\"] needs an integer id and content")
            }
            addedTokens[content] = id
            declaredNormalized[content] = token["normalized"] as? Bool ?? false
        }
    }
}

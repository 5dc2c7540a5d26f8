// Port of the BPE core of transformers models/clip/tokenization_clip.py (and OpenAI CLIP simple_tokenizer.py):
// the pre-tokenization regex, the byte-to-unicode map and the merge loop, as tokenizers' CLIPTokenizer applies them.
import Foundation

/// Text → token ids for text without special tokens.
struct CLIPBytePairEncoder: Sendable {
    private let vocabulary: [String: Int]
    private let ranks: [MergePair: Int]
    private let unknownID: Int
    private let cache = PieceCache()

    struct MergePair: Hashable, Sendable {
        let first: String
        let second: String
    }

    init(vocabulary: [String: Int], merges: [(String, String)], unknownID: Int) {
        self.vocabulary = vocabulary
        var ranks = [MergePair: Int](minimumCapacity: merges.count)
        for (rank, pair) in merges.enumerated() where ranks[MergePair(first: pair.0, second: pair.1)] == nil {
            ranks[MergePair(first: pair.0, second: pair.1)] = rank
        }
        self.ranks = ranks
        self.unknownID = unknownID
    }

    /// tokenizers' normalizers NFC then Lowercase (each scalar's full lowercase mapping, without context rules
    /// such as final sigma). Its third normalizer, whitespace runs → " ", cannot change the pieces.
    static func normalize(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view).precomposedStringWithCanonicalMapping.unicodeScalars
            .flatMap { $0.properties.lowercaseMapping.unicodeScalars }
    }

    /// Pre-tokenises and encodes normalised text.
    func encode(normalized: [Unicode.Scalar]) -> [Int] {
        var ids: [Int] = []
        for piece in Self.preTokenize(normalized) {
            if let cached = cache[piece] {
                ids += cached
            } else {
                let pieceIDs = bytePairEncode(piece).map { vocabulary[$0] ?? unknownID }
                cache[piece] = pieceIDs
                ids += pieceIDs
            }
        }
        return ids
    }

    // MARK: - Pre-tokenization

    /// The matches of `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`,
    /// scanned left to right with the alternatives tried in that order; whitespace (White_Space) is dropped.
    /// Pieces spelling a special token are split again into "<|", the name and "|>", as the GPT-2 regex of
    /// tokenizers' ByteLevel pre-tokenizer does; every other piece passes that second split unchanged.
    static func preTokenize(_ s: [Unicode.Scalar]) -> [String] {
        var pieces: [String] = []
        var i = 0
        func take(_ end: Int) {
            var piece = String.UnicodeScalarView()
            piece.append(contentsOf: s[i..<end])
            pieces.append(String(piece))
            i = end
        }
        while i < s.count {
            let c = s[i]
            if c.properties.isWhitespace {
                i += 1
            } else if let name = specialTokenNames.first(where: { matches("<|\($0)|>", in: s, at: i) }) {
                pieces += ["<|", name, "|>"]
                i += name.unicodeScalars.count + 4
            } else if c == "'", let suffix = contractions.first(where: { matches($0, in: s, at: i + 1) }) {
                take(i + 1 + suffix.unicodeScalars.count)
            } else if isLetter(c) {
                var end = i + 1
                while end < s.count, isLetter(s[end]) { end += 1 }
                take(end)
            } else if isNumber(c) {
                take(i + 1)
            } else {
                var end = i + 1
                while end < s.count, !s[end].properties.isWhitespace, !isLetter(s[end]), !isNumber(s[end]) { end += 1 }
                take(end)
            }
        }
        return pieces
    }

    private static let specialTokenNames = ["startoftext", "endoftext"]
    private static let contractions = ["s", "t", "re", "ve", "m", "ll", "d"]

    private static func matches(_ literal: String, in s: [Unicode.Scalar], at start: Int) -> Bool {
        var i = start
        for scalar in literal.unicodeScalars {
            guard i < s.count, s[i] == scalar else { return false }
            i += 1
        }
        return true
    }

    /// \p{L}
    static func isLetter(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
        default: false
        }
    }

    /// \p{N}
    static func isNumber(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: true
        default: false
        }
    }

    // MARK: - Byte-level BPE

    /// GPT-2's bytes_to_unicode: printable bytes map to themselves, the other 68 to U+0100 onwards in byte order.
    static let byteToUnicode: [Unicode.Scalar] = {
        let kept = Array(33...126) + Array(161...172) + Array(174...255)
        var map = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if kept.contains(byte) {
                map[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                map[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return map
    }()

    /// Merges the piece's byte symbols, lowest-ranked pair first; each round merges every non-overlapping
    /// occurrence of that pair from left to right. The last symbol carries the "</w>" end-of-word suffix.
    func bytePairEncode(_ piece: String) -> [String] {
        var word = piece.utf8.map { String(Self.byteToUnicode[Int($0)]) }
        guard !word.isEmpty else { return [] }
        word[word.count - 1] += "</w>"
        while word.count > 1 {
            var best: (rank: Int, pair: MergePair)?
            for i in 0..<(word.count - 1) {
                let pair = MergePair(first: word[i], second: word[i + 1])
                if let rank = ranks[pair], rank < best?.rank ?? .max { best = (rank, pair) }
            }
            guard let pair = best?.pair else { break }
            var merged: [String] = []
            merged.reserveCapacity(word.count)
            var i = 0
            while i < word.count {
                if i + 1 < word.count, word[i] == pair.first, word[i + 1] == pair.second {
                    merged.append(pair.first + pair.second)
                    i += 2
                } else {
                    merged.append(word[i])
                    i += 1
                }
            }
            word = merged
        }
        return word
    }
}

/// Ids of already-encoded pieces, shared by copies of a tokenizer and safe to use from several threads.
/// Emptied when it reaches `capacity` entries, so that a long-running process does not grow without bound.
private final class PieceCache: @unchecked Sendable {
    private var entries: [String: [Int]] = [:]
    private let lock = NSLock()
    private let capacity = 50_000

    subscript(piece: String) -> [Int]? {
        get { lock.withLock { entries[piece] } }
        set {
            lock.withLock {
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
                entries[piece] = newValue
            }
        }
    }
}

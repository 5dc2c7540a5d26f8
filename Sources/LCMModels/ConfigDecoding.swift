// Helpers for diffusers/transformers config.json files: values that may be a number or a per-block list,
// and loading a Decodable config with a one-line error that names the file.
import Foundation

/// A config value written either as one integer for every block or as a list with one entry per block.
public enum IntOrList: Decodable, Sendable, Equatable {
    case one(Int)
    case list([Int])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Int.self) {
            self = .one(v)
        } else {
            self = .list(try c.decode([Int].self))
        }
    }

    /// The per-block values for `count` blocks; a list of the wrong length is an error.
    public func perBlock(_ count: Int, key: String) throws -> [Int] {
        switch self {
        case .one(let v): return Array(repeating: v, count: count)
        case .list(let l):
            guard l.count == count else {
                throw ConfigError("\(key) has \(l.count) entries but the model has \(count) blocks")
            }
            return l
        }
    }
}

extension KeyedDecodingContainer {
    /// The value of `key`, or `fallback` (the library default) when the config leaves it out.
    func value<T: Decodable>(_ key: Key, _ fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Decodes `url` (a config.json) as T; errors name the file and the key.
public func loadConfig<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
    guard let data = FileManager.default.contents(atPath: url.path) else {
        throw ModelLoadError.missingFile(url.path)
    }
    do {
        return try JSONDecoder().decode(T.self, from: data)
    } catch let DecodingError.keyNotFound(key, _) {
        throw ModelLoadError.badConfig(file: url.path, problem: "missing key '\(key.stringValue)'")
    } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        throw ModelLoadError.badConfig(file: url.path, problem: "bad value for '\(path)': \(context.debugDescription)")
    } catch let DecodingError.dataCorrupted(context) {
        throw ModelLoadError.badConfig(file: url.path, problem: "not valid JSON (\(context.debugDescription))")
    } catch let error as ConfigError {
        throw ModelLoadError.badConfig(file: url.path, problem: error.description)
    }
}

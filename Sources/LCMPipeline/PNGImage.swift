// PNG files through libpng's simplified API (png.h, "Simplified API" section), plus tEXt/iTXt metadata chunks.
//
// Error handling: libpng reports errors by longjmp-ing out of its error callback, and Swift code can neither call
// setjmp nor be unwound across safely. The simplified API (png_image_*) does its setjmp inside libpng and reports
// failure as a return value plus `png_image.message`, so all pixel encoding and decoding goes through it. It cannot
// write text chunks, so text is handled at the byte level instead: a PNG is a signature followed by
// length/type/data/CRC-32 chunks, and tEXt/iTXt chunks are inserted after IHDR of the encoded image (and read back by
// walking the chunks). No libpng call made here can longjmp, and files are replaced atomically.
import CPNG
import Foundation
import TensorCore

/// An 8-bit RGB image, rows top to bottom, pixels interleaved R, G, B.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 3,
                     "RGBImage: \(pixels.count) bytes do not fill \(width)x\(height) RGB")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// An 8-bit RGBA image (straight alpha), rows top to bottom, pixels interleaved R, G, B, A.
public struct RGBAImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 4,
                     "RGBAImage: \(pixels.count) bytes do not fill \(width)x\(height) RGBA")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// A PNG that cannot be read or written; `description` is one line naming the file and the problem.
public struct PNGError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let problem: String

    public var description: String { "\(file): \(problem)" }
}

public enum PNGImage {
    /// The libpng version linked at run time, e.g. "1.6.39".
    public static var libpngVersion: String { String(cString: png_get_libpng_ver(nil)) }

    /// Writes an 8-bit RGB PNG with `text` as tEXt chunks (iTXt, UTF-8, when a value is not plain ASCII).
    public static func write(_ image: RGBImage, to url: URL, text: [(key: String, value: String)] = []) throws {
        try write(pixels: image.pixels, width: image.width, height: image.height, channels: 3, to: url, text: text)
    }

    /// Writes an 8-bit RGBA PNG with `text` chunks as for RGB.
    public static func write(_ image: RGBAImage, to url: URL, text: [(key: String, value: String)] = []) throws {
        try write(pixels: image.pixels, width: image.width, height: image.height, channels: 4, to: url, text: text)
    }

    /// Reads any PNG as 8-bit RGB (libpng converts gray, palette and 16-bit; alpha is composited onto black).
    public static func read(from url: URL) throws -> RGBImage {
        let bytes = try readFile(url)
        try checkSignature(bytes, url)
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        return try bytes.withUnsafeBytes { raw in
            guard png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count) != 0 else {
                throw PNGError(file: url.path, problem: "cannot decode: \(message(of: &image))")
            }
            let (width, height) = (Int(image.width), Int(image.height))
            guard width * height <= 1 << 28 else {
                throw PNGError(file: url.path, problem: "image of \(width)x\(height) pixels is too large")
            }
            image.format = UInt32(PNG_FORMAT_RGB)
            var pixels = [UInt8](repeating: 0, count: width * height * 3)
            let finished = pixels.withUnsafeMutableBytes {
                png_image_finish_read(&image, nil, $0.baseAddress, Int32(width * 3), nil)
            }
            guard finished != 0 else {
                throw PNGError(file: url.path, problem: "cannot decode: \(message(of: &image))")
            }
            return RGBImage(width: width, height: height, pixels: pixels)
        }
    }

    /// The tEXt and iTXt (uncompressed) chunks of a PNG, keyword → text.
    public static func textChunks(of url: URL) throws -> [String: String] {
        let bytes = try readFile(url)
        try checkSignature(bytes, url)
        var result: [String: String] = [:]
        for chunk in try PNGChunks.parse(bytes, file: url.path) where chunk.type == "tEXt" || chunk.type == "iTXt" {
            let (key, value) = try PNGChunks.decodeText(chunk, file: url.path)
            result[key] = value
        }
        return result
    }

    private static func write(pixels: [UInt8], width: Int, height: Int, channels: Int, to url: URL,
                              text: [(key: String, value: String)]) throws {
        let textChunks = try text.map { try PNGChunks.encodeText(key: $0.key, value: $0.value, file: url.path) }
        guard width <= Int(Int32.max) / channels, height <= Int(Int32.max) else {
            throw PNGError(file: url.path, problem: "image of \(width)x\(height) pixels is too large for PNG")
        }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = UInt32(channels == 4 ? PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA : PNG_FORMAT_RGB)
        let stride = Int32(width * channels)

        // Room for the worst case: raw rows plus filter bytes, deflate's stored-block overhead (well under 1/8),
        // and chunk framing.
        var encoded = [UInt8](repeating: 0, count: pixels.count + pixels.count / 8 + height + 4096)
        var size = encoded.count
        let ok = encoded.withUnsafeMutableBytes { out in
            pixels.withUnsafeBytes {
                png_image_write_to_memory(&image, out.baseAddress, &size, 0, $0.baseAddress, stride, nil)
            }
        }
        png_image_free(&image)
        guard ok != 0 else {
            throw PNGError(file: url.path, problem: "cannot encode: \(message(of: &image))")
        }
        encoded.removeSubrange(size...)
        do {
            try AtomicFile.save(PNGChunks.inserting(textChunks, afterIHDRof: encoded), to: url)
        } catch let error as FileWriteError {
            throw PNGError(file: error.file, problem: error.problem)
        }
    }

    private static func message(of image: inout png_image) -> String {
        let text = withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return text.isEmpty ? "libpng reported no reason" : text
    }

    private static func checkSignature(_ bytes: [UInt8], _ url: URL) throws {
        guard bytes.starts(with: PNGChunks.signature) else {
            throw PNGError(file: url.path, problem: "not a PNG file (the first 8 bytes are not the PNG signature)")
        }
    }
}

/// The whole file, with a one-line error naming the file when it cannot be read.
private func readFile(_ url: URL) throws -> [UInt8] {
    let fd = open(url.path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw PNGError(file: url.path, problem: "cannot open: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var block = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = block.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n >= 0 else { throw PNGError(file: url.path, problem: "cannot read: \(String(cString: strerror(errno)))") }
        if n == 0 { return bytes }
        bytes.append(contentsOf: block[0..<n])
    }
}

/// PNG chunk framing (PNG specification, section 5): length (u32 BE), type, data, CRC-32 of type and data.
enum PNGChunks {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    struct Chunk {
        let type: String
        let data: ArraySlice<UInt8>
    }

    /// The chunks up to and including IEND, each with a verified length and CRC.
    static func parse(_ bytes: [UInt8], file: String) throws -> [Chunk] {
        var chunks: [Chunk] = []
        var position = signature.count
        while true {
            guard position + 12 <= bytes.count else {
                throw PNGError(file: file, problem: "truncated chunk at byte \(position)")
            }
            let length = Int(bigEndian32(bytes, at: position))
            let type = String(decoding: bytes[position + 4..<position + 8], as: UTF8.self)
            guard length <= Int(Int32.max), position + 12 + length <= bytes.count else {
                throw PNGError(file: file, problem: "chunk '\(type)' at byte \(position) runs past the end of the file")
            }
            let stored = bigEndian32(bytes, at: position + 8 + length)
            guard crc32(bytes[position + 4..<position + 8 + length]) == stored else {
                throw PNGError(file: file, problem: "chunk '\(type)' at byte \(position) has a bad CRC")
            }
            chunks.append(Chunk(type: type, data: bytes[position + 8..<position + 8 + length]))
            position += 12 + length
            if type == "IEND" { return chunks }
        }
    }

    /// A tEXt chunk for ASCII text, else an uncompressed iTXt chunk holding UTF-8.
    static func encodeText(key: String, value: String, file: String) throws -> [UInt8] {
        let keyScalars = key.unicodeScalars.map(\.value)
        let validKey = (1...79).contains(keyScalars.count)
            && keyScalars.allSatisfy { (32...126).contains($0) || (161...255).contains($0) }
            && keyScalars.first != 32 && keyScalars.last != 32 && !key.contains("  ")
        guard validKey else {
            throw PNGError(file: file, problem: "text keyword '\(key)' is not 1-79 printable Latin-1 characters "
                + "without leading, trailing or double spaces")
        }
        guard !value.utf8.contains(0) else {
            throw PNGError(file: file, problem: "text for keyword '\(key)' contains a NUL character")
        }
        var data = keyScalars.map { UInt8($0) }
        let type: String
        if value.utf8.allSatisfy({ $0 < 0x80 }) {
            type = "tEXt"
            data.append(0)
        } else {
            type = "iTXt"
            data += [0, 0, 0, 0, 0]  // separator, not compressed, method 0, empty language, empty translated keyword
        }
        data += Array(value.utf8)
        guard data.count <= Int(Int32.max) else {
            throw PNGError(file: file, problem: "text for keyword '\(key)' is too long for a PNG chunk")
        }
        return chunk(type, data)
    }

    /// Keyword and text of a tEXt (Latin-1) or uncompressed iTXt (UTF-8) chunk.
    static func decodeText(_ chunk: Chunk, file: String) throws -> (key: String, value: String) {
        let data = Array(chunk.data)
        guard let end = data.firstIndex(of: 0) else {
            throw PNGError(file: file, problem: "\(chunk.type) chunk has no keyword terminator")
        }
        let key = latin1(data[..<end])
        if chunk.type == "tEXt" { return (key, latin1(data[(end + 1)...])) }
        // iTXt: keyword 0 compression-flag method language 0 translated-keyword 0 text
        var position = end + 3
        for _ in 0..<2 {
            guard position <= data.count, let terminator = data[position...].firstIndex(of: 0) else {
                throw PNGError(file: file, problem: "iTXt chunk '\(key)' is malformed")
            }
            position = terminator + 1
        }
        guard data[end + 1] == 0 else {
            throw PNGError(file: file, problem: "iTXt chunk '\(key)' is compressed, which is not supported")
        }
        guard let text = String(validating: data[position...], as: UTF8.self) else {
            throw PNGError(file: file, problem: "iTXt chunk '\(key)' is not valid UTF-8")
        }
        return (key, text)
    }

    /// `png` with `chunks` inserted right after its IHDR chunk (which always comes first).
    static func inserting(_ chunks: [[UInt8]], afterIHDRof png: [UInt8]) -> [UInt8] {
        let ihdrEnd = signature.count + 12 + 13
        precondition(png.count > ihdrEnd && String(decoding: png[12..<16], as: UTF8.self) == "IHDR",
                     "PNGChunks: encoder output does not start with IHDR")
        return Array(png[..<ihdrEnd]) + chunks.joined() + png[ihdrEnd...]
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return bigEndianBytes(UInt32(data.count)) + body + bigEndianBytes(crc32(body[...]))
    }

    /// CRC-32 (ISO 3309, reflected polynomial 0xEDB88320) as PNG uses it.
    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    private static func bigEndian32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    private static func bigEndianBytes(_ value: UInt32) -> [UInt8] {
        [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) }
    }

    private static func latin1(_ bytes: ArraySlice<UInt8>) -> String {
        String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }
}

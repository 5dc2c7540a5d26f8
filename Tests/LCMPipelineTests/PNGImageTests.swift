// Tests of PNG writing and reading: pixel and text round trips, files from another encoder (Pillow, made by
// Weights/tools/make_io_fixtures.py), and clean errors for bad input and unwritable paths.
import Foundation
import LCM
import Testing

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/io")

/// A fresh temporary folder, removed by `cleanUp()`.
private struct ScratchFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("png-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    var contents: [String] { (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [] }

    func cleanUp() { try? FileManager.default.removeItem(at: url) }
}

/// A deterministic 7×5 test pattern (odd width, so rows are not 4-byte multiples).
private func pattern(channels: Int) -> [UInt8] {
    (0..<7 * 5 * channels).map { UInt8(truncatingIfNeeded: $0 * 37 + ($0 / channels) * 11) }
}

@Suite struct PNGImageTests {
    @Test func rgbPixelsAndTextRoundTrip() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let url = scratch.url.appendingPathComponent("out.png")
        let image = RGBImage(width: 7, height: 5, pixels: pattern(channels: 3))
        let text: [(key: String, value: String)] = [
            ("prompt", "a photo of a cat, 4k"), ("parameters", "steps: 4\nguidance: 8.0"), ("unicode", "café ✓ 日本"),
        ]
        try PNGImage.write(image, to: url, text: text)

        #expect(try PNGImage.read(from: url) == image)
        #expect(try PNGImage.textChunks(of: url) == ["prompt": "a photo of a cat, 4k",
                                                     "parameters": "steps: 4\nguidance: 8.0", "unicode": "café ✓ 日本"])
        let bytes = try Data(contentsOf: url)
        #expect(bytes.range(of: Data("tEXtprompt".utf8)) != nil, "ASCII text goes in tEXt")
        #expect(bytes.range(of: Data("iTXtunicode".utf8)) != nil, "non-ASCII text goes in iTXt")
        #expect(scratch.contents == ["out.png"], "no temporary file left behind")
    }

    @Test func rgbaWriteReadsBackAsRGB() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let url = scratch.url.appendingPathComponent("rgba.png")
        var rgba = pattern(channels: 4)
        for i in stride(from: 3, to: rgba.count, by: 4) { rgba[i] = 255 }
        rgba[3] = 0  // first pixel fully transparent: composited onto black
        try PNGImage.write(RGBAImage(width: 7, height: 5, pixels: rgba), to: url)

        var expected = (0..<35).flatMap { rgba[4 * $0..<4 * $0 + 3] }
        expected[0..<3] = [0, 0, 0]
        #expect(try PNGImage.read(from: url).pixels == expected)
        #expect(try PNGImage.textChunks(of: url).isEmpty)
    }

    @Test func overwritesExistingFile() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let url = scratch.url.appendingPathComponent("same.png")
        try PNGImage.write(RGBImage(width: 1, height: 1, pixels: [1, 2, 3]), to: url)
        try PNGImage.write(RGBImage(width: 2, height: 1, pixels: [4, 5, 6, 7, 8, 9]), to: url)
        #expect(try PNGImage.read(from: url).pixels == [4, 5, 6, 7, 8, 9])
    }

    @Test(arguments: ["pil_palette.png", "pil_gray.png"])
    func readsPNGsFromPillow(_ name: String) throws {
        struct Expected: Decodable {
            let width: Int, height: Int, rgb: [UInt8], text: [String: String]
        }
        let all = try JSONDecoder().decode([String: Expected].self,
                                           from: Data(contentsOf: fixtures.appendingPathComponent("pil_images.json")))
        let expected = try #require(all[name])
        let url = fixtures.appendingPathComponent(name)
        let image = try PNGImage.read(from: url)
        #expect(image.width == expected.width)
        #expect(image.height == expected.height)
        #expect(image.pixels == expected.rgb)
        #expect(try PNGImage.textChunks(of: url) == expected.text)
    }

    @Test func nonPNGAndDamagedFilesThrow() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let text = scratch.url.appendingPathComponent("notes.png")
        try Data("just some text, not an image".utf8).write(to: text)
        let error = #expect(throws: PNGError.self) { try PNGImage.read(from: text) }
        #expect(error?.description == "\(text.path): not a PNG file (the first 8 bytes are not the PNG signature)")
        #expect(throws: PNGError.self) { try PNGImage.textChunks(of: text) }

        let good = scratch.url.appendingPathComponent("good.png")
        try PNGImage.write(RGBImage(width: 7, height: 5, pixels: pattern(channels: 3)), to: good)
        let truncated = scratch.url.appendingPathComponent("truncated.png")
        try Data(contentsOf: good).prefix(60).write(to: truncated)
        let decodeError = #expect(throws: PNGError.self) { try PNGImage.read(from: truncated) }
        #expect(decodeError?.description.hasPrefix("\(truncated.path): cannot decode: ") == true)
        #expect(throws: PNGError.self) { try PNGImage.textChunks(of: truncated) }

        let missing = scratch.url.appendingPathComponent("missing.png")
        let missingError = #expect(throws: PNGError.self) { try PNGImage.read(from: missing) }
        #expect(missingError?.description == "\(missing.path): cannot open: No such file or directory")
    }

    @Test func unwritablePathAndBadKeywordsThrowAndLeaveNothing() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }
        let image = RGBImage(width: 1, height: 1, pixels: [1, 2, 3])
        let inMissingFolder = scratch.url.appendingPathComponent("no/such/folder/out.png")
        let error = #expect(throws: PNGError.self) { try PNGImage.write(image, to: inMissingFolder) }
        #expect(error?.description.contains("No such file or directory") == true)
        #expect(throws: PNGError.self) { try PNGImage.write(image, to: scratch.url) }  // a folder is in the way

        let url = scratch.url.appendingPathComponent("bad-key.png")
        for key in ["", " lead", "trail ", "double  space", String(repeating: "k", count: 80), "tab\t"] {
            #expect(throws: PNGError.self, "\(key)") { try PNGImage.write(image, to: url, text: [(key, "v")]) }
        }
        #expect(throws: PNGError.self) { try PNGImage.write(image, to: url, text: [("key", "nul\0inside")]) }
        #expect(scratch.contents.isEmpty)
    }

    @Test func reportsLibpngVersion() {
        #expect(PNGImage.libpngVersion.hasPrefix("1.6."))
    }
}

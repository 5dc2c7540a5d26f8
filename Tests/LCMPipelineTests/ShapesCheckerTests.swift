// The Swift port of the shapes checker (Tests/TestSupport/ShapesChecker.swift) against Weights/tools/
// shapes_checker.py and shapes_data.parse_caption, on Tests/Fixtures/shapes/ (made by Weights/tools/
// make_checker_fixtures.py): rendered and degraded held-out scenes with the Python's describe/check_image
// output, and the held-out prompts with their parsed ground truth.
import Foundation
import LCM
import Testing
import TestSupport

/// One image of the parity set and what the Python checker said about it.
struct CheckerFixture: Decodable, Sendable, CustomTestStringConvertible {
    let file: String
    let variant: String
    let prompt: String
    let truth: ShapesTruth
    let describe: ShapesSeen
    let check: ShapesCheck

    var testDescription: String { file }

    struct Index: Decodable {
        let images: [CheckerFixture]
        let summary: ShapesSummary
    }

    static func index() throws -> Index {
        try JSONDecoder().decode(Index.self, from: Data(contentsOf: Fixtures.url("shapes/checker.json")))
    }

    static func all() -> [CheckerFixture] { (try? index().images) ?? [] }
}

/// The default model's held-out prompts (shapes_data.py --heldout): caption, pipeline seed, ground truth.
struct HeldoutPrompt: Decodable, Sendable {
    let prompt: String
    let seed: UInt64
    let truth: ShapesTruth
    let scene: Int

    struct Sets: Decodable {
        let single: [HeldoutPrompt]
        let two: [HeldoutPrompt]
    }

    static func sets() throws -> Sets {
        try JSONDecoder().decode(Sets.self, from: Data(contentsOf: Fixtures.url("shapes/heldout.json")))
    }
}

extension ShapesChecker {
    static func describe(_ image: RGBImage, maxObjects: Int = 2) -> ShapesSeen {
        describe(pixels: image.pixels, width: image.width, height: image.height, maxObjects: maxObjects)
    }

    static func checkImage(_ image: RGBImage, truth: ShapesTruth) -> ShapesCheck {
        checkImage(pixels: image.pixels, width: image.width, height: image.height, truth: truth)
    }
}

/// Differences between what Swift and Python saw: IoU scores within `tolerance` (Python rounds them to 3
/// decimals), everything else equal.
func differences(_ got: ShapesSeen, _ want: ShapesSeen, tolerance: Double = 1e-3) -> [String] {
    var found: [String] = []
    if got.background != want.background { found.append("background \(got.background) vs \(want.background)") }
    if got.components != want.components { found.append("components \(got.components) vs \(want.components)") }
    if got.objects.count != want.objects.count { found.append("objects \(got.objects.count) vs \(want.objects.count)") }
    for (k, (g, w)) in zip(got.objects, want.objects).enumerated() {
        for (name, a, b) in [("color", g.color, w.color), ("shape", g.shape, w.shape),
                             ("position", g.position, w.position)] where a != b {
            found.append("object \(k) \(name) \(a) vs \(b)")
        }
        if g.area != w.area { found.append("object \(k) area \(g.area) vs \(w.area)") }
        for shape in ShapesChecker.shapes {
            let (a, b) = (g.iou[shape, default: .nan], w.iou[shape, default: .nan])
            if !(abs(a - b) <= tolerance) { found.append("object \(k) iou[\(shape)] \(a) vs \(b)") }
        }
    }
    return found
}

@Suite struct ShapesCheckerTests {
    @Test func fixturesArePresent() throws {
        let index = try CheckerFixture.index()
        #expect(index.images.count >= 60)
        let sets = try HeldoutPrompt.sets()
        #expect(sets.single.count == 120 && sets.two.count == 40)
        // The set exercises wrong verdicts too, not only agreement on easy images.
        let checks = index.images.map(\.check)
        #expect(checks.contains { !$0.background } && checks.contains { !$0.count })
        #expect(checks.flatMap(\.objects).contains { !$0.color } && checks.flatMap(\.objects).contains { !$0.shape })
    }

    @Test(arguments: CheckerFixture.all())
    func agreesWithPython(_ fixture: CheckerFixture) throws {
        let image = try PNGImage.read(from: Fixtures.url("shapes/\(fixture.file)"))
        #expect(image.width == 64 && image.height == 64)
        let seen = ShapesChecker.describe(image)
        let problems = differences(seen, fixture.describe)
        #expect(problems.isEmpty, "describe: \(problems.joined(separator: "; "))")

        let check = ShapesChecker.checkImage(image, truth: fixture.truth)
        #expect(check.background == fixture.check.background && check.count == fixture.check.count,
                "check: background \(check.background), count \(check.count)")
        #expect(check.objects == fixture.check.objects, "check: \(check.objects) vs \(fixture.check.objects)")
        let seenProblems = differences(check.seen, fixture.check.seen)
        #expect(seenProblems.isEmpty, "check_image's describe: \(seenProblems.joined(separator: "; "))")
    }

    @Test func summaryAgreesWithPython() throws {
        let index = try CheckerFixture.index()
        let checks = try index.images.map { fixture in
            let image = try PNGImage.read(from: Fixtures.url("shapes/\(fixture.file)"))
            return ShapesChecker.checkImage(image, truth: fixture.truth)
        }
        let got = ShapesChecker.summarize(checks), want = index.summary
        #expect(got.images == want.images)
        for (name, a, b) in [("color", got.color, want.color), ("shape", got.shape, want.shape),
                             ("background", got.background, want.background), ("count", got.count, want.count),
                             ("position", got.position ?? .nan, want.position ?? .nan)] {
            #expect(abs(a - b) <= 1e-12, "\(name): \(a) vs \(b)")
        }
    }

    @Test func captionsParseLikePython() throws {
        let sets = try HeldoutPrompt.sets()
        let captions = (sets.single + sets.two).map { ($0.prompt, $0.truth) }
            + CheckerFixture.all().map { ($0.prompt, $0.truth) }
        #expect(captions.count >= 220)
        for (prompt, truth) in captions {
            #expect(try ShapesChecker.parseCaption(prompt) == truth, "\(prompt)")
        }
        // Canonical captions and the parser's own variations.
        #expect(try ShapesChecker.parseCaption("A Big Red Circle on the left on a blue background")
            == ShapesTruth(background: "blue",
                           objects: [.init(color: "red", shape: "circle", size: "big", position: "left")]))
        #expect(try ShapesChecker.parseCaption("a green square in the middle, white background").objects[0].position
            == "center")
        for text in ["a photo of a cat", "a red circle", "a red circle on a blue background, green background",
                     "a red circle, a blue square and a white triangle on a black background"] {
            #expect(throws: ShapesCaptionError.self, "\(text)") { try ShapesChecker.parseCaption(text) }
        }
    }
}

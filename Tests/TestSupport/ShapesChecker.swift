// Port of Weights/tools/shapes_checker.py (and shapes_data.parse_caption): does an RGB image show what its caption
// asks for?
//
// The same computation as the Python, step by step, so that the verdicts agree exactly: integer palette distances,
// numpy's median (mean of the two middle values), argmax and max taking the first best, components found in
// row-major scan order and sorted stably by size, float32 coverage and templates, and float32 sums in numpy's
// pairwise order (every other sum here is exact in float32). Checked against the Python on
// Tests/Fixtures/shapes/checker.json (Weights/tools/make_checker_fixtures.py).
import Foundation

/// What a caption asks for, as parse_caption returns it (size and position nil when the caption leaves them out).
public struct ShapesTruth: Codable, Equatable, Sendable {
    public struct Object: Codable, Equatable, Sendable {
        public let color: String
        public let shape: String
        public let size: String?
        public let position: String?

        public init(color: String, shape: String, size: String?, position: String?) {
            (self.color, self.shape, self.size, self.position) = (color, shape, size, position)
        }
    }

    public let background: String
    public let objects: [Object]

    public init(background: String, objects: [Object]) {
        (self.background, self.objects) = (background, objects)
    }
}

/// What an image shows (describe): background colour, up to max_objects objects largest first, and the number
/// of components of at least MIN_AREA pixels.
public struct ShapesSeen: Codable, Equatable, Sendable {
    public struct Object: Codable, Equatable, Sendable {
        public let color: String
        public let shape: String
        public let position: String
        public let area: Int
        /// Soft IoU per shape; Python rounds these to 3 decimals, here they are unrounded.
        public let iou: [String: Double]
    }

    public let background: String
    public let objects: [Object]
    public let components: Int
}

/// check_image's verdicts; `position` is nil when the caption names no position.
public struct ShapesCheck: Codable, Equatable, Sendable {
    public struct Object: Codable, Equatable, Sendable {
        public let color: Bool
        public let shape: Bool
        public let position: Bool?
    }

    public let background: Bool
    public let objects: [Object]
    public let count: Bool
    public let seen: ShapesSeen
}

/// summarize's accuracies (position nil when no checked caption names a position).
public struct ShapesSummary: Codable, Equatable, Sendable {
    public let images: Int
    public let color: Double
    public let shape: Double
    public let background: Double
    public let position: Double?
    public let count: Double
}

public struct ShapesCaptionError: Error, CustomStringConvertible {
    public let text: String
    public var description: String {
        "not a shapes caption (need one background and one or two objects): \(text)"
    }
}

public enum ShapesChecker {
    public static let colorNames = ["red", "green", "blue", "yellow", "orange", "purple", "white", "black"]
    static let palette: [[Int]] = [[220, 30, 30], [40, 170, 60], [40, 70, 220], [245, 220, 40], [250, 140, 20],
                                   [140, 50, 180], [240, 240, 240], [20, 20, 20]]
    public static let shapes = ["circle", "square", "triangle"]
    static let border = 2
    static let minArea = 6

    // MARK: captions (shapes_data.parse_caption)

    private static let colorAlternatives = colorNames.joined(separator: "|")
    private static let objectPattern = try! NSRegularExpression(pattern:
        "\\b(?:(big|small) )?(\(colorAlternatives)) (circle|square|triangle)"
        + "(?: (?:on|at|in) the (left|right|top|bottom|center|middle)(?: side)?)?")
    private static let backgroundPattern = try! NSRegularExpression(pattern: "\\b(\(colorAlternatives)) background\\b")

    public static func parseCaption(_ text: String) throws -> ShapesTruth {
        let lowered = text.lowercased()
        func findAll(_ regex: NSRegularExpression) -> [[String?]] {
            let whole = NSRange(lowered.startIndex..., in: lowered)
            return regex.matches(in: lowered, range: whole).map { match in
                (1..<match.numberOfRanges).map { group in
                    Range(match.range(at: group), in: lowered).map { String(lowered[$0]) }
                }
            }
        }
        let backgrounds = findAll(backgroundPattern)
        let objects = findAll(objectPattern).map { groups in
            ShapesTruth.Object(color: groups[1]!, shape: groups[2]!, size: groups[0],
                               position: groups[3] == "middle" ? "center" : groups[3])
        }
        guard backgrounds.count == 1, (1...2).contains(objects.count) else { throw ShapesCaptionError(text: text) }
        return ShapesTruth(background: backgrounds[0][0]!, objects: objects)
    }

    // MARK: the checker (shapes_checker.py)

    /// What the image shows; `pixels` are interleaved RGB rows, top to bottom.
    public static func describe(pixels: [UInt8], width: Int, height: Int, maxObjects: Int = 2) -> ShapesSeen {
        precondition(pixels.count == width * height * 3,
                     "describe: \(pixels.count) bytes are not \(width)x\(height) RGB")
        let labels = paletteLabels(pixels)
        var frameVotes = [Int](repeating: 0, count: palette.count)
        var frame = Mask(width: width, height: height, bits: [Bool](repeating: false, count: width * height))
        for y in 0..<height {
            for x in 0..<width where y < border || y >= height - border || x < border || x >= width - border {
                frameVotes[labels[y * width + x]] += 1
                frame.bits[y * width + x] = true
            }
        }
        let background = argmax(frameVotes)
        let backgroundRGB = medianColor(pixels, frame.indices.filter { labels[$0] == background })
        let found = Mask(width: width, height: height, bits: labels.map { $0 != background }).components()
            .filter { $0.count >= minArea }
        let objects = found.prefix(maxObjects).map { component in
            var inner = component.eroded()
            if inner.count < minArea { inner = component }
            var votes = [Int](repeating: 0, count: palette.count)
            for i in inner.indices { votes[labels[i]] += 1 }
            let (alpha, mask) = objectAlpha(pixels, component: component, inner: inner, background: backgroundRGB)
            let scores = shapeScores(alpha, mask: mask)
            let best = shapes.reduce(shapes[0]) { scores[$1]! > scores[$0]! ? $1 : $0 }  // the first best
            return ShapesSeen.Object(color: colorNames[argmax(votes)], shape: best,
                                     position: position(of: component), area: component.count, iou: scores)
        }
        return ShapesSeen(background: colorNames[background], objects: objects, components: found.count)
    }

    /// Compares an image with a ground truth; found objects are matched to the asked ones by the assignment with
    /// most agreements (the first such in itertools.permutations order); a missing object fails every test.
    public static func checkImage(pixels: [UInt8], width: Int, height: Int, truth: ShapesTruth) -> ShapesCheck {
        let seen = describe(pixels: pixels, width: width, height: height, maxObjects: truth.objects.count)
        var best: (score: Int, rows: [ShapesCheck.Object])?
        for order in permutations(truth.objects.count) {
            let rows = order.enumerated().map { slot, index in
                let want = truth.objects[index]
                let got = slot < seen.objects.count ? seen.objects[slot] : nil
                return ShapesCheck.Object(color: got?.color == want.color, shape: got?.shape == want.shape,
                                          position: want.position.map { got?.position == $0 })
            }
            let score = rows.reduce(0) { $0 + ($1.color ? 1 : 0) + ($1.shape ? 1 : 0) + ($1.position == true ? 1 : 0) }
            if best == nil || score > best!.score { best = (score, rows) }
        }
        return ShapesCheck(background: seen.background == truth.background, objects: best!.rows,
                           count: seen.components == truth.objects.count, seen: seen)
    }

    /// Accuracies: background per image, colour/shape/position per object.
    public static func summarize(_ results: [ShapesCheck]) -> ShapesSummary {
        func mean(_ values: [Bool]) -> Double { Double(values.filter { $0 }.count) / Double(values.count) }
        let objects = results.flatMap(\.objects)
        let positioned = objects.compactMap(\.position)
        return ShapesSummary(images: results.count, color: mean(objects.map(\.color)),
                             shape: mean(objects.map(\.shape)),
                             background: mean(results.map(\.background)),
                             position: positioned.isEmpty ? nil : mean(positioned), count: mean(results.map(\.count)))
    }

    /// Index of the nearest palette colour of every pixel (squared distances are exact integers).
    static func paletteLabels(_ pixels: [UInt8]) -> [Int] {
        (0..<pixels.count / 3).map { i in
            argmin(palette.map { p in
                (0..<3).reduce(0) { sum, c in
                    let d = Int(pixels[i * 3 + c]) - p[c]
                    return sum + d * d
                }
            })
        }
    }

    /// np.median over the listed pixels, per channel: the middle value, or the mean of the two middle values.
    static func medianColor(_ pixels: [UInt8], _ indices: [Int]) -> [Float] {
        (0..<3).map { c in
            let values = indices.map { Float(pixels[$0 * 3 + c]) }.sorted()
            let n = values.count
            return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2
        }
    }

    /// Coverage estimate in [0, 1] near one object (where each pixel lies between the background colour and the
    /// median colour of the object's interior), and the half-coverage mask whose bounding box the templates fill.
    static func objectAlpha(_ pixels: [UInt8], component: Mask, inner: Mask, background: [Float]) -> ([Float], Mask) {
        let color = medianColor(pixels, inner.indices)
        let direction = (0..<3).map { color[$0] - background[$0] }
        let norm = Float(max(Double(direction.indices.reduce(Float(0)) { $0 + direction[$1] * direction[$1] }), 1))
        let near = component.dilated().dilated()
        var alpha = (0..<component.bits.count).map { i -> Float in
            let dot = (0..<3).reduce(Float(0)) { $0 + (Float(pixels[i * 3 + $1]) - background[$1]) * direction[$1] }
            return near.bits[i] ? min(max(dot / norm, 0), 1) : 0
        }
        let parts = Mask(width: component.width, height: component.height, bits: alpha.map { $0 >= 0.5 }).components()
        let mask = parts.first.map { $0.count >= minArea ? $0 : component } ?? component
        let support = mask.dilated()
        for i in alpha.indices where !support.bits[i] { alpha[i] = 0 }
        return (alpha, mask)
    }

    /// Soft IoU (sum of minima over sum of maxima) of the coverage with each template drawn anti-aliased (4×4
    /// supersampling) into the mask's bounding box, each also box-blurred (3×3, 5×5); the best of the three counts.
    static func shapeScores(_ alpha: [Float], mask: Mask) -> [String: Double] {
        let (width, height) = (mask.width, mask.height)
        let set = mask.indices
        let ys = set.map { $0 / width }, xs = set.map { $0 % width }
        let (y0, x0) = (ys.min()!, xs.min()!)
        let (h, w, sub) = (ys.max()! + 1 - y0, xs.max()! + 1 - x0, 4)
        let (h2, w2) = (Double(h) / 2, Double(w) / 2)
        let inside: [String: (Double, Double) -> Bool] = [
            "circle": { x, y in let (a, b) = ((x - w2) / w2, (y - h2) / h2); return a * a + b * b <= 1 },
            "square": { _, _ in true },
            "triangle": { x, y in abs(x - w2) <= w2 * y / Double(h) },
        ]
        var scores: [String: Double] = [:]
        for name in shapes {
            var sharp = [Float](repeating: 0, count: width * height)
            for py in 0..<h {
                for px in 0..<w {
                    var covered = 0
                    for sy in 0..<sub {
                        for sx in 0..<sub where inside[name]!((Double(px * sub + sx) + 0.5) / Double(sub),
                                                              (Double(py * sub + sy) + 0.5) / Double(sub)) {
                            covered += 1
                        }
                    }
                    sharp[(y0 + py) * width + x0 + px] = Float(covered) / Float(sub * sub)
                }
            }
            scores[name] = [sharp, boxBlurred(sharp, width, height, 1), boxBlurred(sharp, width, height, 2)].map { t in
                Double(pairwiseSum(zip(alpha, t).map { min($0, $1) }) / pairwiseSum(zip(alpha, t).map { max($0, $1) }))
            }.max()!
        }
        return scores
    }

    /// Mean over the (2r+1)² window, zero outside the image.
    static func boxBlurred(_ image: [Float], _ width: Int, _ height: Int, _ radius: Int) -> [Float] {
        (0..<image.count).map { i in
            let (y, x) = (i / width, i % width)
            var sum: Float = 0
            for sy in max(0, y - radius)...min(height - 1, y + radius) {
                for sx in max(0, x - radius)...min(width - 1, x + radius) { sum += image[sy * width + sx] }
            }
            return sum / Float((2 * radius + 1) * (2 * radius + 1))
        }
    }

    /// numpy's float32 sum of a contiguous array: 8 interleaved accumulators up to 128 values, halves above.
    static func pairwiseSum(_ a: ArraySlice<Float>) -> Float {
        let n = a.count, s = a.startIndex
        if n < 8 { return a.reduce(Float(0), +) }
        if n <= 128 {
            var r = Array(a[s..<s + 8])
            var i = 8
            while i < n - n % 8 {
                for j in 0..<8 { r[j] += a[s + i + j] }
                i += 8
            }
            var result = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            for k in i..<n { result += a[s + k] }
            return result
        }
        var half = n / 2
        half -= half % 8
        return pairwiseSum(a[s..<s + half]) + pairwiseSum(a[(s + half)...])
    }

    static func pairwiseSum(_ a: [Float]) -> Float { pairwiseSum(a[...]) }

    /// The centroid's offset from the image centre (in units of the image height, as the Python).
    static func position(of mask: Mask) -> String {
        let set = mask.indices
        let size = Double(mask.height)
        let dx = Double(set.reduce(0) { $0 + $1 % mask.width }) / Double(set.count) + 0.5 - size / 2
        let dy = Double(set.reduce(0) { $0 + $1 / mask.width }) / Double(set.count) + 0.5 - size / 2
        if max(abs(dx), abs(dy)) < size / 8 { return "center" }
        if abs(dx) >= abs(dy) { return dx < 0 ? "left" : "right" }
        return dy < 0 ? "top" : "bottom"
    }

    static func argmax(_ values: [Int]) -> Int { values.indices.reduce(0) { values[$1] > values[$0] ? $1 : $0 } }

    static func argmin(_ values: [Int]) -> Int { values.indices.reduce(0) { values[$1] < values[$0] ? $1 : $0 } }

    /// itertools.permutations(range(n)) in its order (lexicographic).
    static func permutations(_ n: Int) -> [[Int]] {
        n == 0 ? [[]] : (0..<n).flatMap { first in
            permutations(n - 1).map { rest in [first] + rest.map { $0 >= first ? $0 + 1 : $0 } }
        }
    }
}

/// A boolean image, row-major.
struct Mask {
    let width: Int
    let height: Int
    var bits: [Bool]

    var count: Int { bits.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// Flat indices of the set pixels in row-major order (np.nonzero).
    var indices: [Int] { bits.indices.filter { bits[$0] } }

    /// Set pixels whose 4 neighbours are set too; neighbours outside the image count as set.
    func eroded() -> Mask {
        Mask(width: width, height: height, bits: bits.indices.map { i in
            let (y, x) = (i / width, i % width)
            return bits[i] && (y == 0 || bits[i - width]) && (y == height - 1 || bits[i + width])
                && (x == 0 || bits[i - 1]) && (x == width - 1 || bits[i + 1])
        })
    }

    /// ~eroded(~mask): set pixels and their 4 neighbours inside the image.
    func dilated() -> Mask {
        Mask(width: width, height: height, bits: bits.indices.map { i in
            let (y, x) = (i / width, i % width)
            return bits[i] || (y > 0 && bits[i - width]) || (y < height - 1 && bits[i + width])
                || (x > 0 && bits[i - 1]) || (x < width - 1 && bits[i + 1])
        })
    }

    /// 4-connected components, largest first; equal sizes keep the scan order of their first pixels.
    func components() -> [Mask] {
        var seen = [Bool](repeating: false, count: bits.count)
        var found: [Mask] = []
        for start in indices where !seen[start] {
            var component = [Bool](repeating: false, count: bits.count)
            var queue = [start]
            seen[start] = true
            var head = 0
            while head < queue.count {
                let i = queue[head]
                head += 1
                component[i] = true
                let (y, x) = (i / width, i % width)
                for (ny, nx) in [(y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)]
                where ny >= 0 && ny < height && nx >= 0 && nx < width {
                    let j = ny * width + nx
                    if bits[j] && !seen[j] {
                        seen[j] = true
                        queue.append(j)
                    }
                }
            }
            found.append(Mask(width: width, height: height, bits: component))
        }
        let sizes = found.map(\.count)
        return found.indices.sorted { sizes[$0] > sizes[$1] || (sizes[$0] == sizes[$1] && $0 < $1) }.map { found[$0] }
    }
}

// The whole text-to-image pipeline against diffusers' LatentConsistencyModelPipeline on the tiny checkpoint,
// seeds through the torch-compatible generator (goldens and their settings: Tests/Fixtures/goldens/tiny-lcm/
// pipelines.json, made by Weights/tools/make_fixtures.py).
import Foundation
import Testing
import LCM
import TensorCore
import TestSupport

struct PipelineCase: Decodable, Sendable, CustomTestStringConvertible {
    let file: String
    let prompt: String
    let steps: Int
    let seed: UInt64
    let width: Int
    let height: Int
    let guidance: Float
    let batch: Int
    let timesteps: [Int]

    var testDescription: String { file }

    static func all() -> [PipelineCase] {
        struct Index: Decodable { let cases: [PipelineCase] }
        let url = Fixtures.url("goldens/tiny-lcm/pipelines.json")
        guard let data = FileManager.default.contents(atPath: url.path),
              let index = try? JSONDecoder().decode(Index.self, from: data) else { return [] }
        return index.cases
    }
}

/// One load of the tiny model shared by the cases.
let tinyPipeline: Result<LatentConsistencyModelPipeline, Error> = Result {
    try LatentConsistencyModelPipeline(location: ModelLocation(directory: Fixtures.url("tiny-lcm")))
}

@Suite struct PipelineParityTests {
    /// Intermediate latents and embeddings: fp32 networks against PyTorch.
    let atol: Float = 1e-4

    @Test func casesArePresent() {
        #expect(PipelineCase.all().count >= 8)
    }

    @Test(arguments: PipelineCase.all())
    func imageMatchesDiffusers(_ c: PipelineCase) throws {
        let pipeline = try tinyPipeline.get()
        let g = try Fixtures.golden("tiny-lcm/\(c.file)")
        var request = GenerationRequest(prompt: c.prompt)
        request.steps = c.steps
        request.seed = c.seed
        request.width = c.width
        request.height = c.height
        request.guidanceScale = c.guidance
        request.batchSize = c.batch
        request.recordIntermediates = true
        let result = try pipeline.generate(request)
        #expect(result.timesteps == c.timesteps)

        var keys = ["prompt_embeds", "latents", "decoded"]
        for k in 0..<c.steps {
            keys += ["model_output.\(k)", "denoised.\(k)"] + (k < c.steps - 1 ? ["noise.\(k)"] : [])
        }
        for key in keys {
            guard let got = result.intermediates[key] else {
                Issue.record("\(c.file): no intermediate \(key)")
                continue
            }
            let cmp = compare(got, try g.tensor(key), atol: atol)
            #expect(cmp.ok, "\(c.file) \(key): \(cmp)")
        }

        // uint8 image within 1 at every pixel.
        let worst = worstPixelDifference(result.images.flatMap(\.pixels), try g.bytes("image"))
        #expect(worst != nil && worst! <= 1, "\(c.file): worst pixel difference \(String(describing: worst))")
    }

    @Test func badRequestsAreRejected() throws {
        let pipeline = try tinyPipeline.get()
        for (mutate, fragment) in [
            ({ (r: inout GenerationRequest) in r.steps = 0 }, "steps"),
            ({ (r: inout GenerationRequest) in r.width = 36 }, "multiples of 8"),
            ({ (r: inout GenerationRequest) in r.steps = 51 }, "original"),
        ] as [((inout GenerationRequest) -> Void, String)] {
            var r = GenerationRequest(prompt: "a cat")
            mutate(&r)
            #expect { try pipeline.generate(r) } throws: { "\($0)".contains(fragment) }
        }
    }

    @Test func callbackCanCancel() throws {
        let pipeline = try tinyPipeline.get()
        var r = GenerationRequest(prompt: "a cat")
        r.width = 32
        r.height = 32
        var seen = 0
        #expect(throws: GenerationError.self) {
            try pipeline.generate(r) { _ in
                seen += 1
                return false
            }
        }
        #expect(seen == 1)
    }
}

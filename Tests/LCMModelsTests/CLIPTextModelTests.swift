// CLIPTextModel against transformers (goldens: Weights/tools/make_fixtures.py, versions in each file's metadata).
import Testing
import LCMModels
import TensorCore
import TestSupport

@Suite struct CLIPTextModelTests {
    /// Absolute tolerance for fp32 networks against PyTorch (different GEMM/reduction order).
    let atol: Float = 1e-4

    @Test(arguments: ["tiny-lcm/text_encoder", "tiny-sd2-text-encoder"])
    func matchesTransformers(folder: String) throws {
        let model = try TinyModels.textEncoder(folder)
        let name = folder == "tiny-lcm/text_encoder" ? "tiny-lcm" : "tiny-sd2-text-encoder"
        let golden = try Fixtures.golden("\(name)/text_encoder.safetensors")
        let ids = try golden.ints("input_ids")
        let rows = stride(from: 0, to: ids.count, by: 77).map { Array(ids[$0..<$0 + 77]) }
        let out = try model(rows)
        for (got, key) in [(out.lastHiddenState, "last_hidden_state"), (out.penultimateHiddenState, "penultimate"),
                           (out.pooled, "pooled")] {
            let c = compare(got, try golden.tensor(key), atol: atol)
            #expect(c.ok, "\(folder) \(key): \(c)")
        }
    }

    @Test func missingTensorsAreListedByName() throws {
        let dir = Fixtures.url("tiny-lcm/text_encoder")
        let config = try loadConfig(CLIPTextConfig.self, from: dir.appendingPathComponent("config.json"))
        let files = try ComponentWeights.open(directory: dir, baseName: "model", variant: nil)
        let store = WeightStore(component: "text_encoder", files: files) { name in
            name.contains("layers.1.mlp.fc2") ? nil : KeyRenames.clipText(name)
        }
        _ = try CLIPTextModel(config: config, weights: store)
        #expect(throws: ModelLoadError.self) { try store.finish() }
        do {
            try store.finish()
        } catch {
            #expect("\(error)".contains("text_model.encoder.layers.1.mlp.fc2.weight"))
        }
    }
}

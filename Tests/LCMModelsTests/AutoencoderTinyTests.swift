// AutoencoderTiny (TAESD) decode and encode against diffusers (goldens: Weights/tools/make_taesd_fixtures.py).
import Foundation
import Testing
import LCMModels
import TensorCore
import TestSupport

@Suite struct AutoencoderTinyTests {
    let atol: Float = 1e-4
    let folder = Fixtures.url("tiny-taesd")

    func config() throws -> AutoencoderTinyConfig {
        try loadConfig(AutoencoderTinyConfig.self, from: folder.appendingPathComponent("config.json"))
    }

    func store(dropping dropped: String? = nil) throws -> WeightStore {
        let files = try ComponentWeights.open(directory: folder, baseName: "diffusion_pytorch_model", variant: nil)
        return WeightStore(component: "vae", files: files) { $0 == dropped ? nil : $0 }
    }

    func model() throws -> AutoencoderTiny {
        let weights = try store()
        let model = try AutoencoderTiny(config: try config(), weights: weights)
        let unused = try weights.finish()
        #expect(unused.isEmpty, "unused tensors: \(unused)")
        return model
    }

    /// Compares every observed intermediate the golden file has, and reports how many there were.
    func compareObserved(_ seen: [String: Tensor], _ g: SafeTensorsFile) throws -> Int {
        var count = 0
        for (name, value) in seen where g.info(name) != nil {
            let c = compare(value, try g.tensor(name), atol: atol)
            #expect(c.ok, "\(name): \(c)")
            count += 1
        }
        return count
    }

    @Test func decodeMatchesDiffusers() throws {
        let vae = try model()
        #expect(vae.config.scaleFactor == 8)
        let g = try Fixtures.golden("tiny-taesd.safetensors")
        var seen: [String: Tensor] = [:]
        let out = vae.decode(try g.tensor("latents")) { name, value in seen[name] = value }
        #expect(try compareObserved(seen, g) == 4)
        let c = compare(out, try g.tensor("decoded"), atol: atol)
        #expect(c.ok, "decoded: \(c)")
    }

    @Test func encodeMatchesDiffusers() throws {
        let vae = try model()
        let g = try Fixtures.golden("tiny-taesd.safetensors")
        var seen: [String: Tensor] = [:]
        let latents = vae.encode(try g.tensor("image")) { name, value in seen[name] = value }
        #expect(try compareObserved(seen, g) == 3)
        let c = compare(latents, try g.tensor("encoded"), atol: atol)
        #expect(c.ok, "encoded: \(c)")
    }

    @Test func missingTensorIsListedByName() throws {
        let name = "decoder.layers.3.conv.2.weight"
        let weights = try store(dropping: name)
        _ = try AutoencoderTiny(config: try config(), weights: weights)
        #expect(throws: ModelLoadError.self) { try weights.finish() }
        do {
            try weights.finish()
        } catch {
            #expect("\(error)".contains(name))
        }
    }

    @Test func wrongWidthIsAShapeError() throws {
        var config = try config()
        config.encoderBlockOutChannels = [16, 16, 16, 16]
        let weights = try store()
        _ = try AutoencoderTiny(config: config, weights: weights)
        do {
            try weights.finish()
            Issue.record("finish() accepted 8-channel encoder weights for a 16-channel config")
        } catch ModelLoadError.wrongShapes(_, let details) {
            #expect(details.contains { $0.hasPrefix("encoder.layers.0.weight expected [16, 3, 3, 3]") })
        }
    }

    @Test func badConfigsAreRejected() throws {
        func decode(_ json: String) throws -> AutoencoderTinyConfig {
            try JSONDecoder().decode(AutoencoderTinyConfig.self, from: Data(json.utf8))
        }
        // diffusers builds these but cannot run them: each stage's first conv expects the stage's own width.
        #expect(throws: ConfigError.self) { try decode(#"{"decoder_block_out_channels": [8, 12, 12, 16]}"#) }
        #expect(throws: ConfigError.self) { try decode(#"{"num_encoder_blocks": [1, 3, 3]}"#) }
        #expect(throws: ConfigError.self) { try decode(#"{"act_fn": "mish"}"#) }
        #expect(throws: ConfigError.self) { try decode(#"{"upsample_fn": "bilinear"}"#) }
        #expect(try decode(#"{"act_fn": "ReLU"}"#).actFn == "ReLU")
    }

    /// madebyollin/taesd's config.json: every weight the model asks for has the right shape, sizes come out right.
    @Test func taesdConfigBuilds() throws {
        let json = """
            {"_class_name": "AutoencoderTiny", "_diffusers_version": "0.20.0.dev0", "act_fn": "relu",
             "decoder_block_out_channels": [64, 64, 64, 64], "encoder_block_out_channels": [64, 64, 64, 64],
             "force_upcast": false, "in_channels": 3, "latent_channels": 4, "latent_magnitude": 3,
             "latent_shift": 0.5, "num_decoder_blocks": [3, 3, 3, 1], "num_encoder_blocks": [1, 3, 3, 3],
             "out_channels": 3, "scaling_factor": 1.0, "upsampling_scaling_factor": 2}
            """
        let config = try JSONDecoder().decode(AutoencoderTinyConfig.self, from: Data(json.utf8))
        #expect(config.scaleFactor == 8 && config.scalingFactor == 1 && config.shiftFactor == 0)
        let weights = WeightStore.random(component: "vae", seed: 7)
        let vae = try AutoencoderTiny(config: config, weights: weights)
        try weights.finish()
        let image = vae.decode(Tensor(shape: [1, 4, 2, 3], repeating: 0.5))
        #expect(image.shape == [1, 3, 16, 24])
        #expect(vae.encode(image).shape == [1, 4, 2, 3])
    }
}

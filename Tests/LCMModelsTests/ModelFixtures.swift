// Loading the tiny reference checkpoints of Tests/Fixtures (made by Weights/tools/make_fixtures.py).
import Foundation
import LCMModels
import TensorCore
import TestSupport

enum TinyModels {
    static func unet(_ folder: String) throws -> UNet2DConditionModel {
        let dir = Fixtures.url(folder)
        let config = try loadConfig(UNet2DConditionConfig.self, from: dir.appendingPathComponent("config.json"))
        let files = try ComponentWeights.open(directory: dir, baseName: "diffusion_pytorch_model", variant: nil)
        let store = WeightStore(component: "unet", files: files)
        let model = try UNet2DConditionModel(config: config, weights: store)
        let unused = try store.finish()
        precondition(unused.isEmpty, "unused UNet tensors: \(unused.prefix(5))")
        return model
    }

    static func textEncoder(_ folder: String) throws -> CLIPTextModel {
        let dir = Fixtures.url(folder)
        let config = try loadConfig(CLIPTextConfig.self, from: dir.appendingPathComponent("config.json"))
        let files = try ComponentWeights.open(directory: dir, baseName: "model", variant: nil)
        let store = WeightStore(component: "text_encoder", files: files, canonicalName: KeyRenames.clipText)
        let model = try CLIPTextModel(config: config, weights: store)
        try store.finish()
        return model
    }

    static func vae(_ folder: String) throws -> AutoencoderKL {
        let dir = Fixtures.url(folder)
        let config = try loadConfig(AutoencoderKLConfig.self, from: dir.appendingPathComponent("config.json"))
        let files = try ComponentWeights.open(directory: dir, baseName: "diffusion_pytorch_model", variant: nil)
        let store = WeightStore(component: "vae", files: files, canonicalName: KeyRenames.vae)
        let model = try AutoencoderKL(config: config, weights: store)
        try store.finish()
        return model
    }
}

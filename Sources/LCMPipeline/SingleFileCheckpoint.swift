// Original (LDM/CompVis) Stable Diffusion 1.x single-file checkpoints: one .safetensors file with the UNet
// (`model.diffusion_model.*`), VAE (`first_stage_model.*`) and CLIP text encoder (`cond_stage_model.transformer.*`),
// read with the diffusers configs of a folder chosen by the caller, as diffusers' `from_single_file(file, config=...)`
// does (loaders/single_file_utils.py; the name mapping is in KeyRenames).
import Foundation
import LCMModels
import TensorCore

public struct SingleFileCheckpoint: Sendable {
    public let file: SafeTensorsFile

    public init(contentsOf url: URL) throws {
        guard url.pathExtension == "safetensors" else {
            throw ModelLoadError.badConfig(
                file: url.path,
                problem: "single-file checkpoints must be .safetensors (pickled .ckpt files are not supported; "
                    + "convert them)")
        }
        file = try SafeTensorsFile(contentsOf: url)
    }

    /// The UNet weights under diffusers names; input/output block numbering follows `config.layers_per_block`.
    public func unetWeights(config: UNet2DConditionConfig) throws -> WeightStore {
        let perLevel = try config.layersPerBlock.perBlock(config.blockOutChannels.count, key: "layers_per_block")
        guard let layers = perLevel.first, perLevel.allSatisfy({ $0 == layers }) else {
            throw ModelLoadError.badConfig(
                file: file.url.path,
                problem: "single-file UNets need the same layers_per_block for every level (config has \(perLevel))")
        }
        return try store("unet", prefix: KeyRenames.LDMPrefix.unet) {
            KeyRenames.ldmUNet($0, layersPerBlock: layers)
        }
    }

    /// The VAE weights under diffusers names; the decoder's reversed block numbering follows the config's levels.
    public func vaeWeights(config: AutoencoderKLConfig) throws -> WeightStore {
        let levels = config.blockOutChannels.count
        return try store("vae", prefix: KeyRenames.LDMPrefix.vae) { KeyRenames.ldmVAE($0, levels: levels) }
    }

    /// The CLIP text encoder weights under transformers names (`text_model.…`).
    public func textEncoderWeights() throws -> WeightStore {
        try store("text_encoder", prefix: KeyRenames.LDMPrefix.textEncoder, canonicalName: KeyRenames.ldmCLIPText)
    }

    /// A store over the tensors under `prefix`; the component label names the prefix and the file, so that a
    /// missing tensor is reported as e.g. "unet (model.diffusion_model.* in v1-5.safetensors): … missing: …".
    private func store(_ component: String, prefix: String,
                       canonicalName: (String) -> String?) throws -> WeightStore {
        guard file.names.contains(where: { $0.hasPrefix(prefix) }) else {
            throw ModelLoadError.badConfig(
                file: file.url.path,
                problem: "no \(prefix)* tensors (the \(component)): not an original SD-1.x single-file checkpoint")
        }
        return WeightStore(component: "\(component) (\(prefix)* in \(file.url.lastPathComponent))",
                           files: [file], canonicalName: canonicalName)
    }
}

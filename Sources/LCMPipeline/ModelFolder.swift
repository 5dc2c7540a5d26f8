// Loading a diffusers pipeline folder (model_index.json; unet/, vae/, text_encoder/, tokenizer/, scheduler/), as
// DiffusionPipeline.from_pretrained does for safetensors weights, with optional per-component overrides, or an
// original SD-1.x single-file checkpoint with the folder's configs (from_single_file(file, config=folder)).
import Foundation
import LCMModels
import TensorCore

/// Where each component of a pipeline comes from.
public struct ModelLocation: Sendable {
    public var directory: URL
    /// Weight variant ("fp16"); nil: plain files, or the fp16 variant when that is all a component has.
    public var variant: String?
    /// A UNet folder (with config.json) to use instead of `directory/unet`.
    public var unetDirectory: URL?
    /// A VAE folder (with config.json) to use instead of `directory/vae`.
    public var vaeDirectory: URL?
    /// An original (LDM) SD-1.x single-file checkpoint with the UNet, VAE and text-encoder weights. `directory` then
    /// supplies only the configs, tokenizer and scheduler; `unetDirectory`/`vaeDirectory` still replace their parts.
    public var singleFile: URL?
    /// LoRA files merged into the UNet and text encoder at load, each with its strength (1 = as trained).
    public var loras: [(file: URL, weight: Float)]
    /// An AutoencoderTiny (TAESD) folder that decodes (and for img2img encodes) in place of the VAE.
    public var vaeTinyDirectory: URL?

    public init(directory: URL, variant: String? = nil, unetDirectory: URL? = nil, vaeDirectory: URL? = nil,
                singleFile: URL? = nil, loras: [(file: URL, weight: Float)] = [], vaeTinyDirectory: URL? = nil) {
        self.directory = directory
        self.variant = variant
        self.unetDirectory = unetDirectory
        self.vaeDirectory = vaeDirectory
        self.singleFile = singleFile
        self.loras = loras
        self.vaeTinyDirectory = vaeTinyDirectory
    }
}

/// The loaded networks, tokenizer and scheduler configuration of one pipeline folder.
public struct LoadedModel: Sendable {
    public let tokenizer: CLIPTokenizer
    public let textEncoder: CLIPTextModel
    public let unet: UNet2DConditionModel
    public let vae: AutoencoderKL
    /// TAESD, when the location names one: it then decodes and encodes instead of `vae`.
    public let vaeTiny: AutoencoderTiny?
    public let schedulerConfig: LCMSchedulerConfig
    public let name: String
    /// Weight names present in the files but used by no layer, per component.
    public let unusedWeights: [String: [String]]

    public init(_ location: ModelLocation, withVAEEncoder: Bool = false) throws {
        let fm = FileManager.default
        let dir = location.directory
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw ModelLoadError.missingFile("\(dir.path) (model folder)")
        }
        let index = dir.appendingPathComponent("model_index.json")
        guard fm.fileExists(atPath: index.path) else {
            throw ModelLoadError.badConfig(file: dir.path, problem: "not a diffusers folder (no model_index.json)")
        }
        name = location.singleFile?.deletingPathExtension().lastPathComponent ?? dir.lastPathComponent
        let single = try location.singleFile.map(SingleFileCheckpoint.init(contentsOf:))
        let adapters = try location.loras.map { try LoRAAdapter(contentsOf: $0.file, weight: $0.weight) }
        var unused: [String: [String]] = [:]

        func component(_ name: String) throws -> URL {
            let url = dir.appendingPathComponent(name)
            guard fm.fileExists(atPath: url.path) else {
                throw ModelLoadError.missingFile("\(url.path) (component '\(name)')")
            }
            return url
        }

        /// The weights of a component folder (plain or variant files, possibly sharded).
        func folderWeights(_ name: String, _ dir: URL, baseName: String = "diffusion_pytorch_model",
                           canonicalName: (String) -> String? = { $0 }) throws -> WeightStore {
            WeightStore(component: name,
                        files: try ComponentWeights.open(directory: dir, baseName: baseName, variant: location.variant),
                        canonicalName: canonicalName)
        }

        tokenizer = try CLIPTokenizer(directory: try component("tokenizer"))
        schedulerConfig = try loadConfig(LCMSchedulerConfig.self,
                                         from: try component("scheduler").appendingPathComponent("scheduler_config.json"))
        _ = try LCMScheduler(config: schedulerConfig)  // reject an unusable scheduler config before loading weights

        let teDir = try component("text_encoder")
        let teStore = try single?.textEncoderWeights()
            ?? folderWeights("text_encoder", teDir, baseName: "model", canonicalName: KeyRenames.clipText)
        for adapter in adapters { teStore.merge(adapter, as: "text_encoder") }
        textEncoder = try CLIPTextModel(
            config: try loadConfig(CLIPTextConfig.self, from: teDir.appendingPathComponent("config.json")),
            weights: teStore)
        unused["text_encoder"] = try teStore.finish()

        let unetDir = try location.unetDirectory ?? component("unet")
        let unetConfig = try loadConfig(UNet2DConditionConfig.self, from: unetDir.appendingPathComponent("config.json"))
        let unetStore = try (location.unetDirectory == nil ? single : nil)?.unetWeights(config: unetConfig)
            ?? folderWeights("unet", unetDir)
        for adapter in adapters { unetStore.merge(adapter, as: "unet") }
        unet = try UNet2DConditionModel(config: unetConfig, weights: unetStore)
        unused["unet"] = try unetStore.finish()

        let vaeDir = try location.vaeDirectory ?? component("vae")
        let vaeConfig = try loadConfig(AutoencoderKLConfig.self, from: vaeDir.appendingPathComponent("config.json"))
        let vaeStore = try (location.vaeDirectory == nil ? single : nil)?.vaeWeights(config: vaeConfig)
            ?? folderWeights("vae", vaeDir, canonicalName: KeyRenames.vae)
        vae = try AutoencoderKL(config: vaeConfig, weights: vaeStore, withEncoder: withVAEEncoder)
        // Without the encoder its weights are expected to stay unused.
        unused["vae"] = try vaeStore.finish().filter {
            withVAEEncoder || !($0.hasPrefix("encoder.") || $0.hasPrefix("quant_conv."))
        }
        if let tinyDir = location.vaeTinyDirectory {
            let config = try loadConfig(AutoencoderTinyConfig.self, from: tinyDir.appendingPathComponent("config.json"))
            let store = try folderWeights("vae_tiny", tinyDir)
            let tiny = try AutoencoderTiny(config: config, weights: store, withEncoder: withVAEEncoder)
            unused["vae_tiny"] = try store.finish().filter { withVAEEncoder || !$0.hasPrefix("encoder.") }
            guard config.latentChannels == vaeConfig.latentChannels, config.scaleFactor == vaeConfig.scaleFactor else {
                throw ModelLoadError.badConfig(
                    file: tinyDir.path, problem: "this tiny VAE has \(config.latentChannels) latent channels and scale "
                        + "factor \(config.scaleFactor), the model \(vaeConfig.latentChannels) and \(vaeConfig.scaleFactor)")
            }
            vaeTiny = tiny
        } else {
            vaeTiny = nil
        }
        unusedWeights = unused

        guard unet.config.inChannels == vae.config.latentChannels else {
            throw ModelLoadError.badConfig(
                file: unetDir.path,
                problem: "UNet takes \(unet.config.inChannels) channels but the VAE makes \(vae.config.latentChannels)")
        }
        guard case .one(let cross) = unet.config.crossAttentionDim, cross == textEncoder.config.hiddenSize else {
            throw ModelLoadError.badConfig(
                file: unetDir.path,
                problem: "UNet cross_attention_dim does not match the text encoder width \(textEncoder.config.hiddenSize)")
        }
    }
}

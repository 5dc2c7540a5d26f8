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
    /// A ControlNetModel folder whose residuals steer the UNet (requests then need a control image).
    public var controlNetDirectory: URL?

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

/// The folders, configs and weight stores of a location's components, with its LoRAs merged into the UNet and text
/// encoder weights as they are read. Shared by model loading and `lcm convert`.
public struct ComponentSources {
    public let location: ModelLocation
    let single: SingleFileCheckpoint?
    let adapters: [LoRAAdapter]

    public init(_ location: ModelLocation) throws {
        let fm = FileManager.default
        let dir = location.directory
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw ModelLoadError.missingFile("\(dir.path) (model folder)")
        }
        guard fm.fileExists(atPath: dir.appendingPathComponent("model_index.json").path) else {
            throw ModelLoadError.badConfig(file: dir.path, problem: "not a diffusers folder (no model_index.json)")
        }
        self.location = location
        single = try location.singleFile.map(SingleFileCheckpoint.init(contentsOf:))
        adapters = try location.loras.map { try LoRAAdapter(contentsOf: $0.file, weight: $0.weight) }
    }

    /// The folder of a component ("unet", "vae", "text_encoder", "tokenizer", "scheduler"), overrides included.
    public func folder(_ component: String) throws -> URL {
        if component == "unet", let dir = location.unetDirectory { return dir }
        if component == "vae", let dir = location.vaeDirectory { return dir }
        let url = location.directory.appendingPathComponent(component)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ModelLoadError.missingFile("\(url.path) (component '\(component)')")
        }
        return url
    }

    public func config<T: Decodable>(_ type: T.Type, of component: String) throws -> T {
        let file = component == "scheduler" ? "scheduler_config.json" : "config.json"
        return try loadConfig(type, from: try folder(component).appendingPathComponent(file))
    }

    /// The weights of "unet", "vae" or "text_encoder" under their diffusers/transformers names: from the
    /// component's folder (plain or variant files, possibly sharded), or from the single file unless a folder
    /// override replaces that part.
    public func weights(_ component: String) throws -> WeightStore {
        let fromSingle = component == "text_encoder"
            || (component == "unet" && location.unetDirectory == nil)
            || (component == "vae" && location.vaeDirectory == nil)
        let store: WeightStore
        if let single, fromSingle {
            switch component {
            case "unet": store = try single.unetWeights(config: try config(UNet2DConditionConfig.self, of: "unet"))
            case "vae": store = try single.vaeWeights(config: try config(AutoencoderKLConfig.self, of: "vae"))
            default: store = try single.textEncoderWeights()
            }
        } else {
            let isText = component == "text_encoder"
            store = WeightStore(
                component: component,
                files: try ComponentWeights.open(directory: try folder(component),
                                                 baseName: isText ? "model" : "diffusion_pytorch_model",
                                                 variant: location.variant),
                canonicalName: isText ? KeyRenames.clipText : component == "vae" ? KeyRenames.vae : { $0 })
        }
        for adapter in adapters { store.merge(adapter, as: component) }
        return store
    }
}

/// Generation settings a model folder recommends (`lcm_defaults.json`, optional; diffusers ignores it).
public struct ModelDefaults: Decodable, Sendable {
    public var guidanceScale: Float?
    public var numInferenceSteps: Int?

    enum CodingKeys: String, CodingKey {
        case guidanceScale = "guidance_scale"
        case numInferenceSteps = "num_inference_steps"
    }

    /// The folder's defaults; none when the file is absent.
    public static func load(_ location: ModelLocation) throws -> ModelDefaults {
        let url = location.directory.appendingPathComponent("lcm_defaults.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return ModelDefaults() }
        return try loadConfig(ModelDefaults.self, from: url)
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
    public let controlNet: ControlNetModel?
    public let schedulerConfig: LCMSchedulerConfig
    public let name: String
    /// Weight names present in the files but used by no layer, per component.
    public let unusedWeights: [String: [String]]

    public init(_ location: ModelLocation, withVAEEncoder: Bool = false) throws {
        let sources = try ComponentSources(location)
        name = location.singleFile?.deletingPathExtension().lastPathComponent ?? location.directory.lastPathComponent
        var unused: [String: [String]] = [:]

        tokenizer = try CLIPTokenizer(directory: try sources.folder("tokenizer"))
        schedulerConfig = try sources.config(LCMSchedulerConfig.self, of: "scheduler")
        _ = try LCMScheduler(config: schedulerConfig)  // reject an unusable scheduler config before loading weights

        let teStore = try sources.weights("text_encoder")
        textEncoder = try CLIPTextModel(config: try sources.config(CLIPTextConfig.self, of: "text_encoder"),
                                        weights: teStore)
        unused["text_encoder"] = try teStore.finish()

        let unetConfig = try sources.config(UNet2DConditionConfig.self, of: "unet")
        let unetStore = try sources.weights("unet")
        unet = try UNet2DConditionModel(config: unetConfig, weights: unetStore)
        unused["unet"] = try unetStore.finish()

        let vaeConfig = try sources.config(AutoencoderKLConfig.self, of: "vae")
        let vaeStore = try sources.weights("vae")
        vae = try AutoencoderKL(config: vaeConfig, weights: vaeStore, withEncoder: withVAEEncoder)
        // Without the encoder its weights are expected to stay unused.
        unused["vae"] = try vaeStore.finish().filter {
            withVAEEncoder || !($0.hasPrefix("encoder.") || $0.hasPrefix("quant_conv."))
        }

        if let tinyDir = location.vaeTinyDirectory {
            let config = try loadConfig(AutoencoderTinyConfig.self, from: tinyDir.appendingPathComponent("config.json"))
            let store = WeightStore(component: "vae_tiny", files: try ComponentWeights.open(
                directory: tinyDir, baseName: "diffusion_pytorch_model", variant: location.variant))
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
        if let controlDir = location.controlNetDirectory {
            let config = try loadConfig(ControlNetConfig.self, from: controlDir.appendingPathComponent("config.json"))
            if let reason = config.isCompatible(with: unetConfig) {
                throw ModelLoadError.badConfig(file: controlDir.path, problem: "this ControlNet does not fit the UNet: \(reason)")
            }
            guard config.conditioningDownsamplingFactor == vaeConfig.scaleFactor else {
                throw ModelLoadError.badConfig(
                    file: controlDir.path, problem: "this ControlNet downsamples its image by "
                        + "\(config.conditioningDownsamplingFactor), the VAE by \(vaeConfig.scaleFactor)")
            }
            let store = WeightStore(component: "controlnet", files: try ComponentWeights.open(
                directory: controlDir, baseName: "diffusion_pytorch_model", variant: location.variant))
            controlNet = try ControlNetModel(config: config, weights: store)
            unused["controlnet"] = try store.finish()
        } else {
            controlNet = nil
        }
        unusedWeights = unused

        let unetDir = try sources.folder("unet")
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

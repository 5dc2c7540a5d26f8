// What a caller asks of a pipeline, what it gets back, and what it can observe while sampling.
import Foundation
import TensorCore

public struct GenerationRequest: Sendable {
    public var prompt: String
    /// For UNets without a guidance embedding (LCM-LoRA): the unconditional prompt of classifier-free guidance
    /// (nil: ""). Unused when the UNet embeds the guidance or the guidance scale is ≤ 1.
    public var negativePrompt: String?
    /// Sampling steps (1–8 are typical for LCMs).
    public var steps = 4
    /// Guidance scale. LCM UNets embed w = guidance − 1; other UNets (LCM-LoRA) run classifier-free guidance when it
    /// is above 1 (two UNet passes per step, batched), one pass otherwise.
    public var guidanceScale: Float = 8.0
    /// nil: a random seed, reported in the result.
    public var seed: UInt64?
    /// Pixels; nil: the UNet's sample_size × the VAE scale factor.
    public var width: Int?
    public var height: Int?
    /// Images per prompt.
    public var batchSize = 1
    /// The skipping-step base schedule; nil: the scheduler config's value.
    public var originalInferenceSteps: Int?
    /// Start from these latents [batch, C, h, w] instead of drawing them.
    public var initialLatents: Tensor?
    /// img2img: the image to start from (its size is the output size); needs a model loaded with the VAE encoder.
    public var initImage: RGBImage?
    /// img2img: how far back into the noise schedule the image is sent (0 < strength ≤ 1), as
    /// LatentConsistencyModelImg2ImgPipeline: the LCM schedule is built over the first ⌊50·strength⌋ training
    /// steps of the skipping-step base schedule and all `steps` run.
    public var strength = 0.8
    /// ControlNet: the conditioning image (the output size; used as [0, 1] RGB), for a model loaded with a ControlNet.
    public var controlImage: RGBImage?
    /// ControlNet: the factor on every residual (diffusers' controlnet_conditioning_scale).
    public var controlScale: Float = 1
    /// Keep intermediate tensors (prompt_embeds, latents, noise.k, model_output.k, denoised.k, decoded) in the result.
    public var recordIntermediates = false

    public init(prompt: String) { self.prompt = prompt }
}

/// One finished sampling step, as seen by a progress callback.
public struct StepInfo: Sendable {
    public let index: Int
    public let count: Int
    public let timestep: Int
    public let denoised: Tensor
    public let seconds: Double
}

public struct StageTimings: Sendable, Codable {
    public var textEncoder: Double = 0
    public var unetSteps: [Double] = []
    public var vaeDecode: Double = 0
    /// img2img only.
    public var vaeEncode: Double = 0
    public var total: Double = 0
}

public struct GenerationResult: Sendable {
    public let images: [RGBImage]
    public let seed: UInt64
    public let timesteps: [Int]
    public let timings: StageTimings
    /// Filled when the request asked for it; keys as in the reference goldens.
    public let intermediates: [String: Tensor]
}

public enum GenerationError: Error, CustomStringConvertible {
    case invalidRequest(String)
    case cancelled

    public var description: String {
        switch self {
        case .invalidRequest(let why): why
        case .cancelled: "generation cancelled"
        }
    }
}

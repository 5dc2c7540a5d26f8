// What a caller asks of a pipeline, what it gets back, and what it can observe while sampling.
import Foundation
import TensorCore

public struct GenerationRequest: Sendable {
    public var prompt: String
    /// Sampling steps (1–8 are typical for LCMs).
    public var steps = 4
    /// Guidance scale; LCM UNets embed w = guidance − 1.
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

// Port of diffusers pipelines/latent_consistency_models/pipeline_latent_consistency_text2img.py: prompt →
// CLIP embeddings → LCM multistep sampling with the guidance embedding → VAE decode → uint8 RGB.
import Foundation
import LCMModels
import TensorCore

public final class LatentConsistencyModelPipeline: @unchecked Sendable {
    public let model: LoadedModel

    public init(model: LoadedModel) { self.model = model }

    public convenience init(location: ModelLocation) throws {
        self.init(model: try LoadedModel(location))
    }

    /// Pixels per latent cell.
    public var vaeScaleFactor: Int { model.vae.config.scaleFactor }

    public var defaultSize: Int { (model.unet.config.sampleSize ?? 64) * vaeScaleFactor }

    /// Checks a request against this model; the error says what is wrong and what would fit.
    public func validate(_ r: GenerationRequest) throws {
        let width = r.width ?? defaultSize
        let height = r.height ?? defaultSize
        let multiple = max(8, vaeScaleFactor)
        guard width > 0, height > 0, width % multiple == 0, height % multiple == 0 else {
            throw GenerationError.invalidRequest("size \(width)×\(height) must be positive multiples of \(multiple)")
        }
        guard r.steps >= 1 else { throw GenerationError.invalidRequest("steps must be at least 1 (got \(r.steps))") }
        guard r.batchSize >= 1 else { throw GenerationError.invalidRequest("batch must be at least 1") }
        guard r.guidanceScale.isFinite else { throw GenerationError.invalidRequest("guidance must be a finite number") }
        if let latents = r.initialLatents {
            let want = [r.batchSize, model.unet.config.inChannels, height / vaeScaleFactor, width / vaeScaleFactor]
            guard latents.shape == want else {
                throw GenerationError.invalidRequest("latents have shape \(latents.shape), expected \(want)")
            }
        }
    }

    public func generate(_ request: GenerationRequest,
                         onStep: ((StepInfo) -> Bool)? = nil) throws -> GenerationResult {
        try validate(request)
        let start = Date()
        var timings = StageTimings()
        var record: [String: Tensor] = [:]
        func keep(_ key: String, _ value: @autoclosure () -> Tensor) {
            if request.recordIntermediates { record[key] = value() }
        }
        let batch = request.batchSize
        let width = request.width ?? defaultSize
        let height = request.height ?? defaultSize
        let seed = request.seed ?? UInt64.random(in: 0..<(1 << 32))

        var scheduler = try LCMScheduler(config: model.schedulerConfig)
        try scheduler.setTimesteps(request.steps, originalInferenceSteps: request.originalInferenceSteps)

        // 1. Prompt embeddings (one prompt, repeated per image).
        var t0 = Date()
        let (ids, _) = model.tokenizer(request.prompt, maxLength: model.textEncoder.config.maxPositionEmbeddings)
        let embeds = try model.textEncoder(Array(repeating: ids, count: batch)).lastHiddenState  // [B, 77, D]
        timings.textEncoder = Date().timeIntervalSince(t0)
        keep("prompt_embeds", embeds)

        // 2. Initial latents, then the guidance embedding w = guidance − 1.
        var generator = TorchGenerator(seed: seed)
        let latentShape = [batch, model.unet.config.inChannels, height / vaeScaleFactor, width / vaeScaleFactor]
        var latents = request.initialLatents ?? generator.randn(latentShape)
        keep("latents", latents)
        let wEmbedding = model.unet.config.timeCondProjDim.map {
            guidanceScaleEmbedding(Array(repeating: request.guidanceScale - 1, count: batch), dim: $0)
        }

        // 3. Multistep consistency sampling.
        var denoised = latents
        let timesteps = scheduler.timesteps
        for (k, t) in timesteps.enumerated() {
            t0 = Date()
            let modelOutput = model.unet(latents, timestep: Float(t), encoderHiddenStates: embeds,
                                         timestepCond: wEmbedding)
            let noise = k < timesteps.count - 1 ? generator.randn(latentShape) : nil
            (latents, denoised) = scheduler.step(modelOutput: modelOutput, timestep: t, sample: latents, noise: noise)
            let seconds = Date().timeIntervalSince(t0)
            timings.unetSteps.append(seconds)
            keep("model_output.\(k)", modelOutput)
            keep("denoised.\(k)", denoised)
            if let noise { keep("noise.\(k)", noise) }
            if let onStep, !onStep(StepInfo(index: k, count: timesteps.count, timestep: t, denoised: denoised,
                                            seconds: seconds)) {
                throw GenerationError.cancelled
            }
        }

        // 4. Decode the last denoised latents.
        t0 = Date()
        let decoded = model.vae.decode(denoised * (1 / model.vae.config.scalingFactor))  // [B, 3, H, W]
        timings.vaeDecode = Date().timeIntervalSince(t0)
        keep("decoded", decoded)
        timings.total = Date().timeIntervalSince(start)
        return GenerationResult(images: ImagePostprocess.rgbImages(decoded), seed: seed, timesteps: timesteps,
                                timings: timings, intermediates: record)
    }
}

/// diffusers VaeImageProcessor.postprocess: clamp(x/2 + 0.5, 0, 1) · 255, rounded half to even, as uint8 RGB.
public enum ImagePostprocess {
    public static func rgbImages(_ decoded: Tensor) -> [RGBImage] {
        let (b, c, h, w) = (decoded.shape[0], decoded.shape[1], decoded.shape[2], decoded.shape[3])
        precondition(c == 3, "ImagePostprocess: expected 3 channels, got \(decoded.shape)")
        return (0..<b).map { n in
            var pixels = [UInt8](repeating: 0, count: h * w * 3)
            decoded.withUnsafeBufferPointer { src in
                for ch in 0..<3 {
                    let plane = src.baseAddress! + (n * 3 + ch) * h * w
                    for i in 0..<(h * w) {
                        let v = min(max(plane[i] * 0.5 + 0.5, 0), 1) * 255
                        pixels[i * 3 + ch] = UInt8(v.rounded(.toNearestOrEven))
                    }
                }
            }
            return RGBImage(width: w, height: h, pixels: pixels)
        }
    }
}

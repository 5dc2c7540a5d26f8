// Port of diffusers pipelines/latent_consistency_models/pipeline_latent_consistency_text2img.py: prompt →
// CLIP embeddings → LCM multistep sampling with the guidance embedding → VAE decode → uint8 RGB.
import Foundation
import LCMModels
import TensorCore

public final class LatentConsistencyModelPipeline: @unchecked Sendable {
    public let model: LoadedModel

    public init(model: LoadedModel) { self.model = model }

    /// `withVAEEncoder`: also load the VAE encoder (img2img).
    public convenience init(location: ModelLocation, withVAEEncoder: Bool = false) throws {
        self.init(model: try LoadedModel(location, withVAEEncoder: withVAEEncoder))
    }

    /// Pixels per latent cell.
    public var vaeScaleFactor: Int { model.vae.config.scaleFactor }

    public var defaultSize: Int { (model.unet.config.sampleSize ?? 64) * vaeScaleFactor }

    /// True when the request runs classifier-free guidance: a UNet without the guidance embedding (LCM-LoRA on a
    /// plain model) and guidance > 1, as StableDiffusionPipeline decides.
    public func usesClassifierFreeGuidance(_ r: GenerationRequest) -> Bool {
        model.unet.config.timeCondProjDim == nil && r.guidanceScale > 1
    }

    /// Output size of a request: the init image's, else the request's, else the model default.
    func size(of r: GenerationRequest) -> (width: Int, height: Int) {
        if let image = r.initImage { return (image.width, image.height) }
        return (r.width ?? defaultSize, r.height ?? defaultSize)
    }

    /// Checks a request against this model; the error says what is wrong and what would fit.
    public func validate(_ r: GenerationRequest) throws { _ = try scheduler(for: r) }

    /// The request checked, and the scheduler with its timesteps set.
    private func scheduler(for r: GenerationRequest) throws -> LCMScheduler {
        let (width, height) = size(of: r)
        let multiple = max(8, vaeScaleFactor)
        guard width > 0, height > 0, width % multiple == 0, height % multiple == 0 else {
            throw GenerationError.invalidRequest("size \(width)×\(height) must be positive multiples of \(multiple)")
        }
        guard r.steps >= 1 else { throw GenerationError.invalidRequest("steps must be at least 1 (got \(r.steps))") }
        guard r.batchSize >= 1 else { throw GenerationError.invalidRequest("batch must be at least 1") }
        guard r.guidanceScale.isFinite else { throw GenerationError.invalidRequest("guidance must be a finite number") }
        if let image = r.initImage {
            if let w = r.width, let h = r.height, (w, h) != (image.width, image.height) {
                throw GenerationError.invalidRequest(
                    "the init image is \(image.width)×\(image.height) but \(w)×\(h) was asked for")
            }
            guard r.initialLatents == nil else {
                throw GenerationError.invalidRequest("give an init image or initial latents, not both")
            }
            guard r.strength > 0, r.strength <= 1 else {
                throw GenerationError.invalidRequest("strength must be in (0, 1] (got \(r.strength))")
            }
            guard model.vaeTiny?.hasEncoder ?? model.vae.hasEncoder else {
                throw GenerationError.invalidRequest("img2img needs the model loaded with its VAE encoder")
            }
        }
        switch (model.controlNet, r.controlImage) {
        case (nil, nil): break
        case (nil, _): throw GenerationError.invalidRequest("a control image needs a model loaded with a ControlNet")
        case (_, nil): throw GenerationError.invalidRequest("this model has a ControlNet: give a control image")
        case (_, let image?):
            guard (image.width, image.height) == (width, height) else {
                throw GenerationError.invalidRequest(
                    "the control image is \(image.width)×\(image.height), the output \(width)×\(height)")
            }
            guard r.controlScale.isFinite else { throw GenerationError.invalidRequest("control scale must be finite") }
        }
        if let latents = r.initialLatents {
            let want = [r.batchSize, model.unet.config.inChannels, height / vaeScaleFactor, width / vaeScaleFactor]
            guard latents.shape == want else {
                throw GenerationError.invalidRequest("latents have shape \(latents.shape), expected \(want)")
            }
        }
        var scheduler = try LCMScheduler(config: model.schedulerConfig)
        do {
            try scheduler.setTimesteps(r.steps, originalInferenceSteps: r.originalInferenceSteps,
                                       strength: r.initImage == nil ? 1 : r.strength)
        } catch {
            throw GenerationError.invalidRequest("\(error)")
        }
        return scheduler
    }

    public func generate(_ request: GenerationRequest,
                         onStep: ((StepInfo) -> Bool)? = nil) throws -> GenerationResult {
        var scheduler = try scheduler(for: request)
        let start = Date()
        var timings = StageTimings()
        var record: [String: Tensor] = [:]
        func keep(_ key: String, _ value: @autoclosure () -> Tensor) {
            if request.recordIntermediates { record[key] = value() }
        }
        let batch = request.batchSize
        let (width, height) = size(of: request)
        let seed = request.seed ?? UInt64.random(in: 0..<(1 << 32))
        let guidance = usesClassifierFreeGuidance(request)

        let timesteps = scheduler.timesteps

        // 1. Prompt embeddings (one prompt, repeated per image); with CFG the batch is [negative…, prompt…].
        var t0 = Date()
        let maxLength = model.textEncoder.config.maxPositionEmbeddings
        let (ids, _) = model.tokenizer(request.prompt, maxLength: maxLength)
        var idBatch = Array(repeating: ids, count: batch)
        if guidance {
            let (negativeIds, _) = model.tokenizer(request.negativePrompt ?? "", maxLength: maxLength)
            idBatch = Array(repeating: negativeIds, count: batch) + idBatch
        }
        let embeds = try model.textEncoder(idBatch).lastHiddenState  // [B or 2B, 77, D]
        timings.textEncoder = Date().timeIntervalSince(t0)
        keep("prompt_embeds", embeds)

        // 2. Initial latents (drawn, given, or the noised init image), then the guidance embedding w = guidance − 1.
        var generator = TorchGenerator(seed: seed)
        let latentShape = [batch, model.unet.config.inChannels, height / vaeScaleFactor, width / vaeScaleFactor]
        var latents: Tensor
        if let image = request.initImage {
            t0 = Date()
            latents = initImageLatents(image, batch: batch, timestep: timesteps[0], scheduler: scheduler,
                                       generator: &generator, keep: keep)
            timings.vaeEncode = Date().timeIntervalSince(t0)
        } else {
            latents = request.initialLatents ?? generator.randn(latentShape)
        }
        keep("latents", latents)
        let wEmbedding = model.unet.config.timeCondProjDim.map {
            guidanceScaleEmbedding(Array(repeating: request.guidanceScale - 1, count: batch), dim: $0)
        }

        // ControlNet conditioning image in [0, 1] (VaeImageProcessor without normalisation), shared by the batch.
        let controlImage = request.controlImage.map { ImagePreprocess.tensor($0, normalize: false) }

        // 3. Multistep consistency sampling (StableDiffusion[ControlNet]Pipeline's loop with the LCMScheduler).
        var denoised = latents
        for (k, t) in timesteps.enumerated() {
            t0 = Date()
            let input = guidance ? concat([latents, latents], axis: 0) : latents
            let residuals = model.controlNet.map { controlNet in
                controlNet(input, timestep: Float(t), encoderHiddenStates: embeds, controlImage: controlImage!,
                           conditioningScale: request.controlScale)
            }
            let output = model.unet(input, timestep: Float(t), encoderHiddenStates: embeds, timestepCond: wEmbedding,
                                    controlResiduals: residuals)
            var modelOutput = output
            if guidance {
                let halves = split(output, axis: 0, sizes: [batch, batch])  // ε_u + g·(ε_c − ε_u)
                modelOutput = halves[0] + (halves[1] + halves[0] * -1) * request.guidanceScale
            }
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

        // 4. Decode the last denoised latents. The UNet's and text encoder's mapped weights leave the resident set
        // first (they stay in the page cache), and so do the UNet's kept activation buffers: the decode's large
        // activations then add to the VAE's weights only.
        SafeTensorsFile.releaseResidentPages()
        StoragePool.shared.drain()
        t0 = Date()
        let decoded = decode(denoised)  // [B, 3, H, W]
        timings.vaeDecode = Date().timeIntervalSince(t0)
        keep("decoded", decoded)
        timings.total = Date().timeIntervalSince(start)
        return GenerationResult(images: ImagePostprocess.rgbImages(decoded), seed: seed, timesteps: timesteps,
                                timings: timings, intermediates: record)
    }

    /// Images in [-1, 1] from UNet latents, by the tiny VAE when there is one (its latents are the UNet's).
    public func decode(_ latents: Tensor) -> Tensor {
        if let tiny = model.vaeTiny { return tiny.decode(latents * (1 / tiny.config.scalingFactor)) }
        return model.vae.decode(latents * (1 / model.vae.config.scalingFactor))
    }

    /// LatentConsistencyModelImg2ImgPipeline.prepare_latents: a posterior sample of the image (drawn first) times
    /// the scaling factor (TAESD: its latents, no draw), repeated per image, noised to the first timestep.
    private func initImageLatents(_ image: RGBImage, batch: Int, timestep: Int, scheduler: LCMScheduler,
                                  generator: inout TorchGenerator,
                                  keep: (String, @autoclosure () -> Tensor) -> Void) -> Tensor {
        if let tiny = model.vaeTiny {
            let one = tiny.encode(ImagePreprocess.tensor(image)) * tiny.config.scalingFactor
            return noised(one, batch: batch, timestep: timestep, scheduler: scheduler, generator: &generator, keep: keep)
        }
        let (mean, logvar) = model.vae.encode(ImagePreprocess.tensor(image))
        let eps = generator.randn(mean.shape)
        var sample = mean
        sample.withUnsafeMutableBufferPointer { out in
            logvar.withUnsafeBufferPointer { lv in
                eps.withUnsafeBufferPointer { e in
                    for i in out.indices { out[i] += Foundation.exp(lv[i] * 0.5) * e[i] }  // mean + std · ε
                }
            }
        }
        return noised(sample * model.vae.config.scalingFactor, batch: batch, timestep: timestep, scheduler: scheduler,
                      generator: &generator, keep: keep)
    }

    private func noised(_ one: Tensor, batch: Int, timestep: Int, scheduler: LCMScheduler,
                        generator: inout TorchGenerator,
                        keep: (String, @autoclosure () -> Tensor) -> Void) -> Tensor {
        keep("init_latents", one)
        let initLatents = batch == 1 ? one : concat(Array(repeating: one, count: batch), axis: 0)
        let noise = generator.randn(initLatents.shape)
        return scheduler.addNoise(original: initLatents, noise: noise, timestep: timestep)
    }
}

/// diffusers VaeImageProcessor.preprocess for an RGB image: x / 255, then · 2 − 1 when normalising, as [1, 3, H, W].
public enum ImagePreprocess {
    public static func tensor(_ image: RGBImage, normalize: Bool = true) -> Tensor {
        let (h, w) = (image.height, image.width)
        return Tensor(shape: [1, 3, h, w]) { out in
            for ch in 0..<3 {
                for i in 0..<(h * w) {
                    let v = Float(image.pixels[i * 3 + ch]) / 255
                    out[ch * h * w + i] = normalize ? v * 2 - 1 : v
                }
            }
        }
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

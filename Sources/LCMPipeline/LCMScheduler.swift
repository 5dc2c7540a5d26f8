// Port of diffusers src/diffusers/schedulers/scheduling_lcm.py (LCMScheduler), with torch's float32 CPU arithmetic.
import Foundation
import TensorCore

/// diffusers' `scheduler/scheduler_config.json` for LCMScheduler. Absent keys take diffusers' defaults;
/// keys LCMScheduler does not know (`_class_name`, fields of other schedulers) are ignored.
public struct LCMSchedulerConfig: Codable, Sendable, Equatable {
    public var numTrainTimesteps = 1000
    public var betaStart = 0.00085
    public var betaEnd = 0.012
    /// "scaled_linear", "linear" or "squaredcos_cap_v2"; ignored when `trainedBetas` is set.
    public var betaSchedule = "scaled_linear"
    public var trainedBetas: [Double]? = nil
    public var originalInferenceSteps = 50
    public var clipSample = false
    public var clipSampleRange = 1.0
    /// Only sets `finalAlphaCumprod`, which LCM steps never reach.
    public var setAlphaToOne = true
    /// Not used by LCMScheduler (kept so that configs round-trip).
    public var stepsOffset = 0
    /// "epsilon", "v_prediction" or "sample".
    public var predictionType = "epsilon"
    public var thresholding = false
    public var dynamicThresholdingRatio = 0.995
    public var sampleMaxValue = 1.0
    /// Not used by LCMScheduler.setTimesteps (kept so that configs round-trip).
    public var timestepSpacing = "leading"
    public var timestepScaling = 10.0
    public var rescaleBetasZeroSnr = false

    public init() {}

    enum CodingKeys: String, CodingKey {
        case numTrainTimesteps = "num_train_timesteps", betaStart = "beta_start", betaEnd = "beta_end"
        case betaSchedule = "beta_schedule", trainedBetas = "trained_betas"
        case originalInferenceSteps = "original_inference_steps", clipSample = "clip_sample"
        case clipSampleRange = "clip_sample_range", setAlphaToOne = "set_alpha_to_one", stepsOffset = "steps_offset"
        case predictionType = "prediction_type", thresholding
        case dynamicThresholdingRatio = "dynamic_thresholding_ratio", sampleMaxValue = "sample_max_value"
        case timestepSpacing = "timestep_spacing", timestepScaling = "timestep_scaling"
        case rescaleBetasZeroSnr = "rescale_betas_zero_snr"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try c.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        let d = LCMSchedulerConfig()
        numTrainTimesteps = try value(.numTrainTimesteps, d.numTrainTimesteps)
        betaStart = try value(.betaStart, d.betaStart)
        betaEnd = try value(.betaEnd, d.betaEnd)
        betaSchedule = try value(.betaSchedule, d.betaSchedule)
        trainedBetas = try c.decodeIfPresent([Double].self, forKey: .trainedBetas)
        originalInferenceSteps = try value(.originalInferenceSteps, d.originalInferenceSteps)
        clipSample = try value(.clipSample, d.clipSample)
        clipSampleRange = try value(.clipSampleRange, d.clipSampleRange)
        setAlphaToOne = try value(.setAlphaToOne, d.setAlphaToOne)
        stepsOffset = try value(.stepsOffset, d.stepsOffset)
        predictionType = try value(.predictionType, d.predictionType)
        thresholding = try value(.thresholding, d.thresholding)
        dynamicThresholdingRatio = try value(.dynamicThresholdingRatio, d.dynamicThresholdingRatio)
        sampleMaxValue = try value(.sampleMaxValue, d.sampleMaxValue)
        timestepSpacing = try value(.timestepSpacing, d.timestepSpacing)
        timestepScaling = try value(.timestepScaling, d.timestepScaling)
        rescaleBetasZeroSnr = try value(.rescaleBetasZeroSnr, d.rescaleBetasZeroSnr)
    }

    /// Reads a `scheduler_config.json`.
    public static func load(contentsOf url: URL) throws -> LCMSchedulerConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw LCMSchedulerError("cannot read scheduler config \(url.path): \(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode(LCMSchedulerConfig.self, from: data) } catch {
            throw LCMSchedulerError("invalid scheduler config \(url.path): \(error)")
        }
    }
}

public struct LCMSchedulerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The multistep latent-consistency sampler. Scalars are float32 and every elementwise operation is rounded
/// separately, as torch evaluates diffusers' expressions on the CPU, so results match diffusers bit for bit,
/// with one caveat: square roots here are correctly rounded, while torch's (MKL VML, depending on the CPU) miss by
/// one ulp for a few values (on an AVX-512 machine: ᾱ_t at t = 193, 416, 450, 587, 620 and 1 − ᾱ_t at t = 2, 222,
/// 359, 376, 396, 520, 746, 929; none is on the usual LCM schedules).
public struct LCMScheduler: Sendable {
    public enum PredictionType: String, Sendable { case epsilon, vPrediction = "v_prediction", sample }

    public let config: LCMSchedulerConfig
    public let predictionType: PredictionType
    public let betas: [Float]
    public let alphas: [Float]
    public let alphasCumprod: [Float]
    public let finalAlphaCumprod: Float
    public let initNoiseSigma: Float = 1
    /// Descending timesteps chosen by `setTimesteps`.
    public private(set) var timesteps: [Int] = []
    public private(set) var numInferenceSteps: Int?
    public private(set) var stepIndex: Int?

    public init(config: LCMSchedulerConfig = LCMSchedulerConfig()) throws {
        guard let prediction = PredictionType(rawValue: config.predictionType) else {
            throw LCMSchedulerError("prediction_type \"\(config.predictionType)\" must be one of epsilon, sample or "
                + "v_prediction for LCMScheduler")
        }
        guard config.numTrainTimesteps >= 1 else {
            throw LCMSchedulerError("num_train_timesteps must be at least 1, got \(config.numTrainTimesteps)")
        }
        self.config = config
        predictionType = prediction
        var betas = try NoiseSchedule.betas(config)
        if config.rescaleBetasZeroSnr { betas = NoiseSchedule.rescaleZeroTerminalSNR(betas) }
        self.betas = betas
        alphas = betas.map { 1 - $0 }
        alphasCumprod = NoiseSchedule.cumprod(alphas)
        finalAlphaCumprod = config.setAlphaToOne ? 1 : alphasCumprod[0]
    }

    /// Picks `n` timesteps from the "skipping-step" schedule of `originalInferenceSteps` (default: the config's);
    /// `strength` < 1 keeps only the lower part of that schedule (img2img). Throws where diffusers raises, and also
    /// when strength > 1 would reach past the last training timestep.
    public mutating func setTimesteps(_ n: Int, originalInferenceSteps: Int? = nil, strength: Double = 1) throws {
        let trainSteps = config.numTrainTimesteps
        let original = originalInferenceSteps ?? config.originalInferenceSteps
        guard original <= trainSteps else {
            throw LCMSchedulerError("original_inference_steps \(original) cannot be larger than num_train_timesteps "
                + "\(trainSteps)")
        }
        guard original >= 1, n >= 1 else {
            throw LCMSchedulerError("the number of inference steps (\(n)) and original_inference_steps (\(original)) "
                + "must be at least 1")
        }
        let k = trainSteps / original
        let originCount = max(Int((Double(original) * strength).rounded(.towardZero)), 0)
        guard originCount * k - 1 < trainSteps else {
            throw LCMSchedulerError("strength \(strength) reaches timestep \(originCount * k - 1), past the last "
                + "training timestep \(trainSteps - 1)")
        }
        guard n <= trainSteps else {
            throw LCMSchedulerError("num_inference_steps \(n) cannot be larger than num_train_timesteps \(trainSteps)")
        }
        guard originCount / n >= 1 else {
            throw LCMSchedulerError("the combination of original_inference_steps x strength: \(original) x "
                + "\(strength) is smaller than num_inference_steps \(n)")
        }
        guard n <= original else {
            throw LCMSchedulerError("num_inference_steps \(n) cannot be larger than original_inference_steps "
                + "\(original)")
        }
        // Descending origin schedule, then floor(np.linspace(0, L, n, endpoint=False)) as numpy computes it.
        let origin = (1...originCount).reversed().map { $0 * k - 1 }
        let spacing = Double(origin.count) / Double(n)
        timesteps = (0..<n).map { origin[Int((Double($0) * spacing).rounded(.down))] }
        numInferenceSteps = n
        stepIndex = nil
    }

    /// (c_skip, c_out) of the consistency-model boundary condition, σ_data = 0.5.
    public func scalingsForBoundaryCondition(timestep: Int) -> (cSkip: Float, cOut: Float) {
        let scaled = Float(timestep) * Float(config.timestepScaling)
        let denominator = scaled * scaled + 0.25
        return (0.25 / denominator, scaled / denominator.squareRoot())
    }

    /// One LCM step, drawing the fresh noise (when this is not the last step) from `generator` as diffusers does.
    public mutating func step(modelOutput: Tensor, timestep: Int, sample: Tensor,
                              generator: inout TorchGenerator) -> (prevSample: Tensor, denoised: Tensor) {
        let noise = isLastStep(timestep) ? nil : generator.randn(modelOutput.shape)
        return step(modelOutput: modelOutput, timestep: timestep, sample: sample, noise: noise)
    }

    /// One LCM step with the noise given explicitly; `noise` must be non-nil unless this is the last step.
    public mutating func step(modelOutput: Tensor, timestep: Int, sample: Tensor,
                              noise: Tensor?) -> (prevSample: Tensor, denoised: Tensor) {
        precondition(modelOutput.shape == sample.shape, "LCMScheduler.step: model output \(modelOutput.shape) "
            + "and sample \(sample.shape) differ")
        precondition(alphasCumprod.indices.contains(timestep), "LCMScheduler.step: timestep \(timestep) out of range")
        let last = isLastStep(timestep)
        let index = stepIndex!
        let prevTimestep = index + 1 < timesteps.count ? timesteps[index + 1] : timestep
        let alphaProd = alphasCumprod[timestep]
        let alphaProdPrev = prevTimestep >= 0 ? alphasCumprod[prevTimestep] : finalAlphaCumprod
        let sqrtAlpha = alphaProd.squareRoot(), sqrtBeta = (1 - alphaProd).squareRoot()
        let (cSkip, cOut) = scalingsForBoundaryCondition(timestep: timestep)

        var x0: Tensor
        switch predictionType {
        case .epsilon: x0 = Self.map(sample, modelOutput) { x, e in (x - sqrtBeta * e) / sqrtAlpha }
        case .vPrediction: x0 = Self.map(sample, modelOutput) { x, v in sqrtAlpha * x - sqrtBeta * v }
        case .sample: x0 = modelOutput
        }
        if config.thresholding {
            x0 = dynamicThreshold(x0)
        } else if config.clipSample {
            let range = Float(config.clipSampleRange)
            x0 = Self.map(x0) { min(max($0, -range), range) }
        }
        let denoised = Self.map(x0, sample) { x, s in cOut * x + cSkip * s }
        stepIndex = index + 1
        if last { return (denoised, denoised) }
        guard let noise else { preconditionFailure("LCMScheduler.step: noise is required before the last step") }
        precondition(noise.shape == sample.shape, "LCMScheduler.step: noise \(noise.shape) vs sample \(sample.shape)")
        let sqrtAlphaPrev = alphaProdPrev.squareRoot(), sqrtBetaPrev = (1 - alphaProdPrev).squareRoot()
        let prev = Self.map(denoised, noise) { d, z in sqrtAlphaPrev * d + sqrtBetaPrev * z }
        return (prev, denoised)
    }

    /// sqrt(ᾱ_t)·original + sqrt(1 − ᾱ_t)·noise (img2img's forward diffusion).
    public func addNoise(original: Tensor, noise: Tensor, timestep: Int) -> Tensor {
        precondition(original.shape == noise.shape, "addNoise: \(original.shape) vs \(noise.shape)")
        let alphaProd = alphasCumprod[timestep]
        let a = alphaProd.squareRoot(), b = (1 - alphaProd).squareRoot()
        return Self.map(original, noise) { x, z in a * x + b * z }
    }

    /// Initialises `stepIndex` on the first step of a run, and tells whether this step is the last one.
    private mutating func isLastStep(_ timestep: Int) -> Bool {
        guard let n = numInferenceSteps else {
            preconditionFailure("LCMScheduler.step called before setTimesteps")
        }
        if stepIndex == nil {
            // diffusers' index_for_timestep: the second match if the timestep repeats.
            let matches = timesteps.indices.filter { timesteps[$0] == timestep }
            precondition(!matches.isEmpty, "LCMScheduler.step: timestep \(timestep) is not in \(timesteps)")
            stepIndex = matches[matches.count > 1 ? 1 : 0]
        }
        return stepIndex! == n - 1
    }

    /// Imagen's dynamic thresholding: per sample, s = clamp(quantile(|x0|, ratio), 1, sample_max_value), then
    /// clamp(x0, −s, s)/s. The quantile interpolates linearly like torch.quantile.
    private func dynamicThreshold(_ x0: Tensor) -> Tensor {
        let batch = x0.shape.first ?? 1
        guard batch > 0, x0.count > 0 else { return x0 }
        let perSample = x0.count / batch
        let ratio = Float(config.dynamicThresholdingRatio), maxValue = Float(config.sampleMaxValue)
        var result = x0
        result.withUnsafeMutableBufferPointer { values in
            for b in 0..<batch {
                let slice = values[(b * perSample)..<((b + 1) * perSample)]
                let sorted = slice.map(abs).sorted()
                let rank = ratio * Float(perSample - 1)
                let below = Int(rank), above = Int(rank.rounded(.up))
                let weight = rank - Float(below)
                let start = sorted[below], end = sorted[above]
                let quantile = abs(weight) < 0.5 ? start + weight * (end - start) : end - (end - start) * (1 - weight)
                let s = min(max(quantile, 1), maxValue)
                for i in slice.indices { values[i] = min(max(values[i], -s), s) / s }
            }
        }
        return result
    }

    private static func map(_ a: Tensor, _ f: (Float) -> Float) -> Tensor {
        Tensor(shape: a.shape) { out in
            a.withUnsafeBufferPointer { x in
                for i in 0..<out.count { out[i] = f(x[i]) }
            }
        }
    }

    private static func map(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        Tensor(shape: a.shape) { out in
            a.withUnsafeBufferPointer { x in
                b.withUnsafeBufferPointer { y in
                    for i in 0..<out.count { out[i] = f(x[i], y[i]) }
                }
            }
        }
    }
}

/// The β schedules of diffusers' schedulers, computed with torch's float32 CPU rounding.
enum NoiseSchedule {
    static func betas(_ config: LCMSchedulerConfig) throws -> [Float] {
        let n = config.numTrainTimesteps
        if let trained = config.trainedBetas {
            guard trained.count == n else {
                throw LCMSchedulerError("trained_betas has \(trained.count) values, num_train_timesteps is \(n)")
            }
            return trained.map { Float($0) }
        }
        switch config.betaSchedule {
        case "linear":
            return linspace(Float(config.betaStart), Float(config.betaEnd), n)
        case "scaled_linear":
            return linspace(Float(config.betaStart.squareRoot()), Float(config.betaEnd.squareRoot()), n).map { $0 * $0 }
        case "squaredcos_cap_v2":
            return betasForCosineAlphaBar(n)
        default:
            throw LCMSchedulerError("beta_schedule \"\(config.betaSchedule)\" is not implemented for LCMScheduler "
                + "(use linear, scaled_linear or squaredcos_cap_v2)")
        }
    }

    /// torch.linspace(start, end, n, dtype=float32) on the CPU: the first half counts up from start, the second
    /// half down from end, each value one fused multiply-add.
    static func linspace(_ start: Float, _ end: Float, _ n: Int) -> [Float] {
        guard n > 1 else { return n == 1 ? [start] : [] }
        let step = (end - start) / Float(n - 1)
        return (0..<n).map { i in
            i < n / 2 ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(n - 1 - i))
        }
    }

    /// torch.cumprod of float32 values on the CPU, which accumulates in double.
    static func cumprod(_ values: [Float]) -> [Float] {
        var product = 1.0
        return values.map { value in
            product *= Double(value)
            return Float(product)
        }
    }

    /// betas_for_alpha_bar(n, max_beta=0.999, "cosine"), computed in double like the Python original.
    static func betasForCosineAlphaBar(_ n: Int) -> [Float] {
        func alphaBar(_ t: Double) -> Double {
            let c = Foundation.cos((t + 0.008) / 1.008 * Double.pi / 2)
            return c * c
        }
        return (0..<n).map { i in
            let t1 = Double(i) / Double(n), t2 = Double(i + 1) / Double(n)
            return Float(min(1 - alphaBar(t2) / alphaBar(t1), 0.999))
        }
    }

    /// rescale_zero_terminal_snr (arXiv 2305.08891, Algorithm 1) in float32.
    static func rescaleZeroTerminalSNR(_ betas: [Float]) -> [Float] {
        var sqrtBar = cumprod(betas.map { 1 - $0 }).map { $0.squareRoot() }
        let first = sqrtBar[0], last = sqrtBar[sqrtBar.count - 1]
        let scale = first / (first - last)
        sqrtBar = sqrtBar.map { ($0 - last) * scale }
        let bar = sqrtBar.map { $0 * $0 }
        let alphas = [bar[0]] + (1..<bar.count).map { bar[$0] / bar[$0 - 1] }
        return alphas.map { 1 - $0 }
    }
}

// Tests of LCMScheduler and guidanceScaleEmbedding against diffusers (Tests/Fixtures/goldens/scheduler.safetensors
// and scheduler.json, written by Weights/tools/make_text_rng_scheduler_goldens.py).
import Foundation
import LCM
import TensorCore
import Testing
import TestSupport

@Suite struct LCMSchedulerTests {
    struct Golden: Decodable {
        struct Table: Decodable {
            let n: Int
            let original: Int
            let strength: Double
            let timesteps: [Int]
        }
        struct Rejected: Decodable {
            let n: Int
            let original: Int
            let strength: Double
        }
        struct StepCase: Decodable {
            let config: LCMSchedulerConfig
            let modelOutput: String
            let steps: Int
            let seed: UInt64
            let timesteps: [Int]
        }
        let schedules: [String: LCMSchedulerConfig]
        let stepCases: [String: StepCase]
        let timesteps: [Table]
        let rejected: [Rejected]
        let guidanceScales: [Float]
    }

    static func golden() throws -> (Golden, SafeTensorsFile) {
        let json = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: Fixtures.url("goldens/scheduler.json")))
        return (json, try Fixtures.golden("scheduler.safetensors"))
    }

    static func bitMismatches(_ got: [Float], _ want: Tensor) -> Int {
        zip(got, want.scalars).filter { $0.bitPattern != $1.bitPattern }.count + abs(got.count - want.count)
    }

    @Test func noiseSchedulesAreBitExact() throws {
        let (golden, file) = try Self.golden()
        #expect(golden.schedules.count == 5)
        for (name, config) in golden.schedules where !config.rescaleBetasZeroSnr {
            let scheduler = try LCMScheduler(config: config)
            #expect(Self.bitMismatches(scheduler.betas, try file.tensor("betas/\(name)")) == 0, "betas \(name)")
            #expect(Self.bitMismatches(scheduler.alphasCumprod, try file.tensor("alphas_cumprod/\(name)")) == 0,
                    "alphas_cumprod \(name)")
        }
        // Values quoted in the specification (float32 printed as double).
        let defaults = try LCMScheduler()
        #expect(Double(defaults.alphasCumprod[999]) == 0.00466009508818388)
        #expect(Double(defaults.alphasCumprod[0]) == 0.9991499781608582)
        #expect(Double(defaults.alphasCumprod[499]) == 0.27766942977905273)
        #expect(Double(defaults.betas[999]) == 0.011999999172985554)
    }

    /// The zero-terminal-SNR rescale takes the square root of all 1000 ᾱ; torch's (MKL) sqrt misrounds a few of
    /// them by one ulp where this port rounds correctly (fed torch's square roots, the recipe reproduces every bit).
    /// A few betas differ in the last bit, and the cumulative product carries that along.
    @Test func zeroTerminalSNRScheduleMatchesToRounding() throws {
        let (golden, file) = try Self.golden()
        let config = try #require(golden.schedules["scaled_linear_zero_snr"])
        let scheduler = try LCMScheduler(config: config)
        #expect(scheduler.alphasCumprod.last == 0)
        let betas = try file.tensor("betas/scaled_linear_zero_snr")
        #expect(Self.bitMismatches(scheduler.betas, betas) <= 10)
        for (name, got, want) in [("betas", scheduler.betas, betas),
                                  ("alphas_cumprod", scheduler.alphasCumprod,
                                   try file.tensor("alphas_cumprod/scaled_linear_zero_snr"))] {
            let result = compare(Tensor(shape: [got.count], values: got), want, atol: 1e-6)
            #expect(result.ok, "\(name): \(result)")
        }
    }

    @Test func timestepsMatchDiffusers() throws {
        let (golden, _) = try Self.golden()
        #expect(golden.timesteps.count > 100)
        var scheduler = try LCMScheduler()
        for table in golden.timesteps {
            try scheduler.setTimesteps(table.n, originalInferenceSteps: table.original, strength: table.strength)
            #expect(scheduler.timesteps == table.timesteps, "N \(table.n), O \(table.original), strength \(table.strength)")
        }
        for bad in golden.rejected {
            #expect(throws: LCMSchedulerError.self, "N \(bad.n), O \(bad.original), strength \(bad.strength)") {
                try scheduler.setTimesteps(bad.n, originalInferenceSteps: bad.original, strength: bad.strength)
            }
        }
        #expect(throws: LCMSchedulerError.self) { try scheduler.setTimesteps(0) }
        #expect(throws: LCMSchedulerError.self) { try scheduler.setTimesteps(4, strength: 1.5) }
        try scheduler.setTimesteps(4)
        #expect(scheduler.timesteps == [999, 759, 499, 259])
    }

    @Test func stepsMatchDiffusersWithRecordedAndGeneratedNoise() throws {
        let (golden, file) = try Self.golden()
        #expect(golden.stepCases.count == 8)
        let sample = try file.tensor("step/sample")
        var worst: Float = 0
        for (name, c) in golden.stepCases.sorted(by: { $0.key < $1.key }) {
            for useGenerator in [false, true] {
                var scheduler = try LCMScheduler(config: c.config)
                try scheduler.setTimesteps(c.steps)
                #expect(scheduler.timesteps == c.timesteps)
                var generator = TorchGenerator(seed: c.seed)
                var latents = sample
                for (k, t) in scheduler.timesteps.enumerated() {
                    let output = try file.tensor("step/\(c.modelOutput).\(k)")
                    let last = k == c.steps - 1
                    let (prev, denoised): (Tensor, Tensor)
                    if useGenerator {
                        (prev, denoised) = scheduler.step(modelOutput: output, timestep: t, sample: latents,
                                                          generator: &generator)
                    } else {
                        let noise = last ? nil : try file.tensor("step/\(name)/noise.\(k)")
                        (prev, denoised) = scheduler.step(modelOutput: output, timestep: t, sample: latents, noise: noise)
                    }
                    let wantDenoised = try file.tensor("step/\(name)/denoised.\(k)")
                    let wantPrev = last ? wantDenoised : try file.tensor("step/\(name)/prev_sample.\(k)")
                    for (got, want, label) in [(denoised, wantDenoised, "denoised"), (prev, wantPrev, "prev_sample")] {
                        let result = compare(got, want, atol: 1e-6)
                        #expect(result.ok, "\(name) step \(k) \(label) (generator: \(useGenerator)): \(result)")
                        worst = max(worst, result.maxAbsError)
                    }
                    latents = prev
                }
                #expect(scheduler.stepIndex == c.steps)
            }
        }
        print("LCMScheduler step outputs: max abs error \(worst)")
    }

    @Test func addNoiseMatchesDiffusers() throws {
        let (_, file) = try Self.golden()
        let scheduler = try LCMScheduler()
        let sample = try file.tensor("step/sample"), noise = try file.tensor("step/model_output.0")
        for t in [999, 499, 19] {
            let result = compare(scheduler.addNoise(original: sample, noise: noise, timestep: t),
                                 try file.tensor("add_noise/t\(t)"), atol: 1e-6)
            #expect(result.ok, "t \(t): \(result)")
        }
    }

    @Test func boundaryConditionScalings() throws {
        let scheduler = try LCMScheduler()
        for t in [999, 759, 499, 259] { #expect(scheduler.scalingsForBoundaryCondition(timestep: t).cOut == 1) }
        #expect(abs(scheduler.scalingsForBoundaryCondition(timestep: 999).cSkip - 2.505e-9) < 1e-12)
        #expect(abs(scheduler.scalingsForBoundaryCondition(timestep: 19).cSkip - 6.93e-6) < 1e-8)
        #expect(scheduler.scalingsForBoundaryCondition(timestep: 0) == (1, 0))
    }

    @Test func guidanceEmbeddingMatchesDiffusers() throws {
        let (golden, file) = try Self.golden()
        var worst: Float = 0
        for w in golden.guidanceScales {
            let got = guidanceScaleEmbedding([w, w + 1], dim: 256)
            let result = compare(got, try file.tensor("guidance/w\(w)"), atol: 1e-4)
            #expect(result.ok, "w \(w): \(result)")
            worst = max(worst, result.maxAbsError)
        }
        let odd = guidanceScaleEmbedding([7.5], dim: 15)
        let oddResult = compare(odd, try file.tensor("guidance/odd15_w7.5"), atol: 1e-6)
        #expect(oddResult.ok, "dim 15: \(oddResult)")
        #expect(odd[flat: 14] == 0)
        print("guidanceScaleEmbedding: max abs error \(worst) (dim 256), \(oddResult.maxAbsError) (dim 15)")

        // Specification test vectors (w = 7.5 and 7), away from the frequencies torch rounds differently.
        let e = guidanceScaleEmbedding([7.5, 7], dim: 256).scalars
        let want75: [(Int, Float)] = [(0, -0.85123587), (1, 0.84213120), (2, 0.01187626), (3, 0.99237680),
                                      (127, 0.68163872), (128, -0.52478325), (129, 0.53927273), (130, -0.99992949),
                                      (131, -0.12324075), (255, 0.73168892)]
        for (i, v) in want75 { #expect(abs(e[i] - v) < 1e-6, "w 7.5 [\(i)]") }
        let want7: [(Int, Float)] = [(0, 0.50688541), (1, 0.80428714), (2, -0.86047971), (3, 0.99994385),
                                     (128, 0.86201346), (129, 0.59424084), (130, -0.50948477), (131, -0.01059793)]
        for (i, v) in want7 { #expect(abs(e[256 + i] - v) < 1e-6, "w 7 [\(i)]") }
    }

    @Test func configDefaultsAndUnknownKeys() throws {
        let json = #"{"_class_name": "LCMScheduler", "_diffusers_version": "0.22.0.dev0", "beta_end": 0.012,"#
            + #" "prediction_type": "v_prediction", "trained_betas": null, "steps_offset": 1, "some_new_key": [1, 2]}"#
        let config = try JSONDecoder().decode(LCMSchedulerConfig.self, from: Data(json.utf8))
        var expected = LCMSchedulerConfig()
        expected.predictionType = "v_prediction"
        expected.stepsOffset = 1
        #expect(config == expected)
        #expect(config.originalInferenceSteps == 50 && config.timestepScaling == 10 && config.betaSchedule == "scaled_linear")
        #expect(try LCMScheduler(config: config).predictionType == .vPrediction)
    }

    @Test func badConfigsThrowClearErrors() throws {
        var config = LCMSchedulerConfig()
        config.predictionType = "flow"
        do {
            _ = try LCMScheduler(config: config)
            Issue.record("prediction_type flow accepted")
        } catch {
            #expect("\(error)".contains("flow") && "\(error)".contains("v_prediction"))
        }
        config = LCMSchedulerConfig()
        config.betaSchedule = "sigmoid"
        #expect(throws: LCMSchedulerError.self) { try LCMScheduler(config: config) }
        config = LCMSchedulerConfig()
        config.trainedBetas = [0.1, 0.2]
        #expect(throws: LCMSchedulerError.self) { try LCMScheduler(config: config) }

        let missing = URL(fileURLWithPath: "/nonexistent/scheduler/scheduler_config.json")
        do {
            _ = try LCMSchedulerConfig.load(contentsOf: missing)
            Issue.record("a missing config file loaded")
        } catch {
            #expect("\(error)".contains(missing.path))
        }
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(LCMSchedulerConfig.self, from: Data(#"{"num_train_timesteps": "many"}"#.utf8))
        }
    }

    @Test func trainedBetasAreUsedAsGiven() throws {
        var config = LCMSchedulerConfig()
        config.numTrainTimesteps = 4
        config.originalInferenceSteps = 2
        config.trainedBetas = [0.5, 0.25, 0.125, 0.75]
        var scheduler = try LCMScheduler(config: config)
        #expect(scheduler.betas == [0.5, 0.25, 0.125, 0.75])
        #expect(scheduler.alphasCumprod == [0.5, 0.375, 0.328125, 0.08203125])
        try scheduler.setTimesteps(2)
        #expect(scheduler.timesteps == [3, 1])
    }
}

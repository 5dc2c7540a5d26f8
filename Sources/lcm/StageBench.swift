// `lcm bench` stages: text encoder, one UNet step, VAE decode, or the whole image, on a model folder or on
// random weights of a built-in architecture; median seconds, standard GFLOP, GFLOP/s and peak RSS.
import Foundation
import LCMModels
import LCM
import TensorCore

enum BenchStage: String, CaseIterable {
    case text, unet, vae, all
}

struct StageResult: Encodable {
    let stage: String
    let medianSeconds: Double
    let allSeconds: [Double]
    let gflop: Double
    /// Per kind of operation, of the last timed run, slowest first (empty unless profiling).
    let profile: [ProfileRow]
    var gflopPerSecond: Double { gflop / medianSeconds }

    struct ProfileRow: Encodable {
        let kind: String, calls: Int, seconds: Double, gflop: Double
    }

    enum CodingKeys: String, CodingKey { case stage, medianSeconds, allSeconds, gflop, gflopPerSecond, profile }
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(stage, forKey: .stage)
        try c.encode(medianSeconds, forKey: .medianSeconds)
        try c.encode(allSeconds, forKey: .allSeconds)
        try c.encode(gflop, forKey: .gflop)
        try c.encode(gflopPerSecond, forKey: .gflopPerSecond)
        if !profile.isEmpty { try c.encode(profile, forKey: .profile) }
    }
}

/// The three networks of a text-to-image model, from a folder or made from random weights.
struct BenchNetworks {
    let textEncoder: CLIPTextModel
    let unet: UNet2DConditionModel
    let vae: AutoencoderKL

    init(model: LoadedModel) {
        (textEncoder, unet, vae) = (model.textEncoder, model.unet, model.vae)
    }

    init(architecture arch: BuiltinArchitecture) throws {
        textEncoder = try CLIPTextModel(config: arch.textEncoderConfig,
                                        weights: .random(component: "text_encoder", seed: 1))
        unet = try UNet2DConditionModel(config: arch.unetConfig, weights: .random(component: "unet", seed: 2))
        vae = try AutoencoderKL(config: arch.vaeConfig, weights: .random(component: "vae", seed: 3),
                                withEncoder: false)
    }
}

struct StageBench {
    let networks: BenchNetworks
    let width: Int
    let height: Int
    let steps: Int

    private var latentShape: [Int] {
        let f = networks.vae.config.scaleFactor
        return [1, networks.unet.config.inChannels, height / f, width / f]
    }

    private func tokenIds() -> [[Int]] {
        let n = networks.textEncoder.config.maxPositionEmbeddings
        let vocab = networks.textEncoder.config.vocabSize
        return [(0..<n).map { i in i == 0 ? vocab - 2 : (i < 12 ? 320 + i : vocab - 1) }]
    }

    /// Runs `stage` once.
    func run(_ stage: BenchStage) throws {
        var generator = TorchGenerator(seed: 0)
        let cross = networks.textEncoder.config.hiddenSize
        let embeds = Tensor(shape: [1, 77, cross], repeating: 0.1)
        let wEmb = networks.unet.config.timeCondProjDim.map { guidanceScaleEmbedding([7], dim: $0) }
        switch stage {
        case .text:
            _ = try networks.textEncoder(tokenIds())
        case .unet:
            _ = networks.unet(generator.randn(latentShape), timestep: 999, encoderHiddenStates: embeds,
                              timestepCond: wEmb)
        case .vae:
            _ = networks.vae.decode(generator.randn(latentShape))
        case .all:
            let e = try networks.textEncoder(tokenIds()).lastHiddenState
            var latents = generator.randn(latentShape)
            for _ in 0..<steps {
                latents = networks.unet(latents, timestep: 999, encoderHiddenStates: e, timestepCond: wEmb)
            }
            _ = networks.vae.decode(latents)
        }
    }

    func measure(_ stage: BenchStage, warmup: Int, repeats: Int) throws -> StageResult {
        for _ in 0..<warmup { try run(stage) }
        var times: [Double] = []
        var flop = 0.0
        for _ in 0..<repeats {
            FlopCounter.reset()
            let t0 = Date()
            try run(stage)
            times.append(Date().timeIntervalSince(t0))
            flop = FlopCounter.total
        }
        let sorted = times.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let profile = FlopCounter.profile.map {
            StageResult.ProfileRow(kind: $0.key, calls: $0.value.calls, seconds: $0.value.seconds, gflop: $0.value.flop / 1e9)
        }.sorted { $0.seconds > $1.seconds }
        return StageResult(stage: stage.rawValue, medianSeconds: median, allSeconds: times, gflop: flop / 1e9,
                           profile: profile)
    }
}

/// Peak resident set size of this process so far, in bytes: VmHWM of /proc/self/status, which starts afresh at
/// exec (getrusage's ru_maxrss keeps the parent's peak across fork + exec, e.g. under a large Python process).
func peakRSSBytes() -> Int {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
       let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") {
        return kib * 1024
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

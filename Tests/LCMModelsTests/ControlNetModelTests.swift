// ControlNetModel, and the tiny-lcm UNet taking its residuals, against diffusers (goldens:
// Weights/tools/make_controlnet_fixtures.py, versions in the file's metadata).
import Foundation
import Testing
import LCMModels
import TensorCore
import TestSupport

extension TinyModels {
    static func controlNet(_ folder: String = "tiny-controlnet",
                           editConfig: (inout [String: Any]) -> Void = { _ in }) throws -> ControlNetModel {
        let dir = Fixtures.url(folder)
        let config = try JSONDecoder().decode(ControlNetConfig.self,
                                              from: try ControlNetModelTests.configJSON(folder, edit: editConfig))
        let files = try ComponentWeights.open(directory: dir, baseName: "diffusion_pytorch_model", variant: nil)
        let store = WeightStore(component: "controlnet", files: files)
        let model = try ControlNetModel(config: config, weights: store)
        let unused = try store.finish()
        precondition(unused.isEmpty, "unused ControlNet tensors: \(unused.prefix(5))")
        return model
    }
}

@Suite struct ControlNetModelTests {
    let atol: Float = 1e-4

    /// A fixture's config.json, edited.
    static func configJSON(_ folder: String, edit: (inout [String: Any]) -> Void) throws -> Data {
        let data = try Data(contentsOf: Fixtures.url(folder).appendingPathComponent("config.json"))
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        edit(&object)
        return try JSONSerialization.data(withJSONObject: object)
    }

    struct Golden {
        let file: SafeTensorsFile
        let sample: Tensor, timestep: Float, context: Tensor, image: Tensor, scale: Float, timestepCond: Tensor

        init() throws {
            file = try Fixtures.golden("tiny-controlnet.safetensors")
            sample = try file.tensor("sample")
            timestep = Float(try file.ints("timestep")[0])
            context = try file.tensor("encoder_hidden_states")
            image = try file.tensor("control_image")
            scale = try file.tensor("conditioning_scale").scalars[0]
            timestepCond = try file.tensor("timestep_cond")
        }

        var residuals: ControlNetResiduals {
            get throws {
                var down: [Tensor] = []
                while file.info("down.\(down.count)") != nil { down.append(try file.tensor("down.\(down.count)")) }
                return ControlNetResiduals(down: down, mid: try file.tensor("mid"))
            }
        }
    }

    @Test func residualsMatchDiffusers() throws {
        let g = try Golden()
        let controlNet = try TinyModels.controlNet()
        #expect(controlNet.config.conditioningDownsamplingFactor == 2)
        var seen: [String: Tensor] = [:]
        let out = controlNet(g.sample, timestep: g.timestep, encoderHiddenStates: g.context, controlImage: g.image,
                             conditioningScale: g.scale) { name, value in seen[name] = value }
        let want = try g.residuals
        #expect(out.down.count == want.down.count && want.down.count == 9)
        var worst: Float = 0
        for (i, (got, expected)) in zip(out.down, want.down).enumerated() {
            let c = compare(got, expected, atol: atol)
            #expect(c.ok, "down.\(i): \(c)")
            worst = max(worst, c.maxAbsError)
        }
        let mid = compare(out.mid, want.mid, atol: atol)
        #expect(mid.ok, "mid: \(mid)")
        let embedding = compare(try #require(seen["cond_embedding"]), try g.file.tensor("cond_embedding"), atol: atol)
        #expect(embedding.ok, "cond_embedding: \(embedding)")
        print("ControlNet max abs error: down \(worst), mid \(mid.maxAbsError), "
              + "cond_embedding \(embedding.maxAbsError)")
    }

    @Test func unetWithResidualsMatchesDiffusers() throws {
        let g = try Golden()
        let unet = try TinyModels.unet("tiny-lcm/unet")
        let want = try g.file.tensor("out")
        // The golden residuals (the UNet side alone), then the whole ControlNet → UNet chain.
        let fromGolden = unet(g.sample, timestep: g.timestep, encoderHiddenStates: g.context,
                              timestepCond: g.timestepCond, controlResiduals: try g.residuals)
        let a = compare(fromGolden, want, atol: atol)
        #expect(a.ok, "UNet with golden residuals: \(a)")
        let residuals = try TinyModels.controlNet()(g.sample, timestep: g.timestep, encoderHiddenStates: g.context,
                                                    controlImage: g.image, conditioningScale: g.scale)
        let chained = unet(g.sample, timestep: g.timestep, encoderHiddenStates: g.context,
                           timestepCond: g.timestepCond, controlResiduals: residuals)
        let b = compare(chained, want, atol: atol)
        #expect(b.ok, "UNet with Swift ControlNet residuals: \(b)")
        let plain = unet(g.sample, timestep: g.timestep, encoderHiddenStates: g.context, timestepCond: g.timestepCond)
        #expect(!compare(plain, want, atol: 0.05).ok, "the residuals should change the output")
        print("UNet with residuals max abs error: golden residuals \(a.maxAbsError), chained \(b.maxAbsError)")
    }

    @Test func bgrOrderAndBroadcastControlImage() throws {
        let g = try Golden()
        let rgb = try TinyModels.controlNet()
        let bgr = try TinyModels.controlNet { $0["controlnet_conditioning_channel_order"] = "bgr" }
        let flipped = concat(split(g.image, axis: 1, sizes: [1, 1, 1]).reversed(), axis: 1)
        let want = try g.residuals
        let out = bgr(g.sample, timestep: g.timestep, encoderHiddenStates: g.context, controlImage: flipped,
                      conditioningScale: g.scale)
        for (got, expected) in zip(out.down + [out.mid], want.down + [want.mid]) {
            let c = compare(got, expected, atol: atol)
            #expect(c.ok, "bgr: \(c)")
        }
        // One control image for the whole batch equals that image repeated.
        let first = split(g.image, axis: 0, sizes: [1, 1])[0]
        let single = rgb(g.sample, timestep: g.timestep, encoderHiddenStates: g.context, controlImage: first,
                         conditioningScale: g.scale)
        let repeated = rgb(g.sample, timestep: g.timestep, encoderHiddenStates: g.context,
                           controlImage: concat([first, first], axis: 0), conditioningScale: g.scale)
        #expect(compare(single.mid, repeated.mid, atol: 0).ok)
    }

    @Test func incompatibleUNetsAreDetected() throws {
        let unet = try loadConfig(UNet2DConditionConfig.self,
                                  from: Fixtures.url("tiny-lcm/unet").appendingPathComponent("config.json"))
        let decoder = JSONDecoder()
        func controlNetConfig(_ edit: (inout [String: Any]) -> Void = { _ in }) throws -> ControlNetConfig {
            try decoder.decode(ControlNetConfig.self, from: try Self.configJSON("tiny-controlnet", edit: edit))
        }
        #expect(try controlNetConfig().isCompatible(with: unet) == nil)
        let sd2 = try loadConfig(UNet2DConditionConfig.self,
                                 from: Fixtures.url("tiny-sd2-unet").appendingPathComponent("config.json"))
        let crossDim = try #require(try controlNetConfig().isCompatible(with: sd2))
        #expect(crossDim.contains("cross_attention_dim"), "\(crossDim)")
        let channels = try #require(try controlNetConfig {
            $0["block_out_channels"] = [32, 64, 64]
            $0["norm_num_groups"] = 32
        }.isCompatible(with: unet))
        #expect(channels.contains("block_out_channels"), "\(channels)")
        let layers = try #require(try controlNetConfig { $0["layers_per_block"] = 1 }.isCompatible(with: unet))
        #expect(layers.contains("layers_per_block"), "\(layers)")
        let levels = try #require(try controlNetConfig {
            $0["block_out_channels"] = [16, 32]
            $0["down_block_types"] = ["CrossAttnDownBlock2D", "DownBlock2D"]
        }.isCompatible(with: unet))
        #expect(levels.contains("block_out_channels"), "\(levels)")
        for line in [crossDim, channels, layers, levels] { #expect(!line.contains("\n")) }
    }

    @Test func configDefaultsAndIgnoredUNetFields() throws {
        // ControlNetModel has no time_cond_proj_dim (diffusers ignores the key): no cond_proj is expected.
        let config = try JSONDecoder().decode(ControlNetConfig.self, from: try Self.configJSON("tiny-controlnet") {
            $0["time_cond_proj_dim"] = 256
            $0.removeValue(forKey: "conditioning_embedding_out_channels")
        })
        #expect(config.encoder.timeCondProjDim == nil)
        #expect(config.conditioningEmbeddingOutChannels == [16, 32, 96, 256])
        #expect(config.conditioningDownsamplingFactor == 8)
        #expect(config.encoder.upBlockTypes.isEmpty)
        let pooled = try JSONDecoder().decode(ControlNetConfig.self, from: try Self.configJSON("tiny-controlnet") {
            $0["global_pool_conditions"] = true
        })
        #expect(throws: ConfigError.self) { try pooled.resolved() }
    }
}

// Original SD-1.x single-file checkpoints (SingleFileCheckpoint, KeyRenames.ldm*): Tests/Fixtures/
// tiny-lcm-single-file.safetensors holds the tiny-lcm networks under LDM names, written by
// Weights/tools/make_fixtures.py and checked there with diffusers' own convert_ldm_* functions. Loaded with the
// tiny-lcm folder as its config directory it must give exactly the folder's networks.
import Foundation
import Testing
import LCMModels
import LCM
import TensorCore
import TestSupport

private let singleFile = Fixtures.url("tiny-lcm-single-file.safetensors")
private let folderModel = Result {
    try LoadedModel(ModelLocation(directory: Fixtures.url("tiny-lcm")), withVAEEncoder: true)
}
private let singleFileModel = Result {
    try LoadedModel(ModelLocation(directory: Fixtures.url("tiny-lcm"), singleFile: singleFile), withVAEEncoder: true)
}

@Suite struct SingleFileCheckpointTests {
    @Test func everyTensorIsUsed() throws {
        let model = try singleFileModel.get()
        #expect(model.name == "tiny-lcm-single-file")
        for (component, names) in model.unusedWeights {
            #expect(names.isEmpty, "\(component): unused \(names.prefix(5))")
        }
    }

    /// The renamed single-file names are exactly the names of the folder's files (after their own renames).
    @Test func namesMatchTheFolder() throws {
        let checkpoint = try SingleFileCheckpoint(contentsOf: singleFile)
        let dir = Fixtures.url("tiny-lcm")
        func folderNames(_ component: String, _ baseName: String,
                         _ rename: (String) -> String?) throws -> [String] {
            let files = try ComponentWeights.open(directory: dir.appendingPathComponent(component),
                                                  baseName: baseName, variant: nil)
            return WeightStore(component: component, files: files, canonicalName: rename).names
        }
        let unetConfig = try loadConfig(UNet2DConditionConfig.self,
                                        from: dir.appendingPathComponent("unet/config.json"))
        let vaeConfig = try loadConfig(AutoencoderKLConfig.self, from: dir.appendingPathComponent("vae/config.json"))
        #expect(try checkpoint.unetWeights(config: unetConfig).names
            == folderNames("unet", "diffusion_pytorch_model", { $0 }))
        #expect(try checkpoint.vaeWeights(config: vaeConfig).names
            == folderNames("vae", "diffusion_pytorch_model", KeyRenames.vae))
        #expect(try checkpoint.textEncoderWeights().names == folderNames("text_encoder", "model", KeyRenames.clipText))
    }

    @Test func textEncoderEqualsTheFolder() throws {
        let golden = try Fixtures.golden("tiny-lcm/text_encoder.safetensors")
        let flat = try golden.ints("input_ids")
        let rows = stride(from: 0, to: flat.count, by: 77).map { Array(flat[$0..<$0 + 77]) }
        let got = try singleFileModel.get().textEncoder(rows)
        let want = try folderModel.get().textEncoder(rows)
        for (a, b, key) in [(got.lastHiddenState, want.lastHiddenState, "last_hidden_state"),
                            (got.penultimateHiddenState, want.penultimateHiddenState, "penultimate"),
                            (got.pooled, want.pooled, "pooled")] {
            let same = compare(a, b, atol: 0)
            #expect(same.ok, "\(key) vs folder: \(same)")
            let reference = compare(a, try golden.tensor(key), atol: 1e-4)
            #expect(reference.ok, "\(key) vs transformers: \(reference)")
        }
    }

    @Test func vaeEncoderEqualsTheFolder() throws {
        let golden = try Fixtures.golden("tiny-lcm/vae.safetensors")
        let image = try golden.tensor("image")
        let got = try singleFileModel.get().vae.encode(image)
        let want = try folderModel.get().vae.encode(image)
        #expect(compare(got.mean, want.mean, atol: 0).ok)
        #expect(compare(got.logvar, want.logvar, atol: 0).ok)
    }

    /// The whole pipeline gives the folder's pixels and intermediates exactly (and so the diffusers golden's image).
    @Test func imageEqualsTheFolder() throws {
        let golden = try Fixtures.golden("tiny-lcm/pipeline_s4_seed0_32x32.safetensors")
        var request = GenerationRequest(prompt: "Self-portrait oil painting, a beautiful cyborg with golden hair, 8k")
        request.steps = 4
        request.seed = 0
        request.width = 32
        request.height = 32
        request.guidanceScale = 8
        request.recordIntermediates = true
        let got = try LatentConsistencyModelPipeline(model: try singleFileModel.get()).generate(request)
        let want = try LatentConsistencyModelPipeline(model: try folderModel.get()).generate(request)
        #expect(got.images.flatMap(\.pixels) == want.images.flatMap(\.pixels))
        for key in ["prompt_embeds", "model_output.3", "denoised.3", "decoded"] {
            guard let a = got.intermediates[key], let b = want.intermediates[key] else {
                Issue.record("no intermediate \(key)")
                continue
            }
            #expect(compare(a, b, atol: 0).ok, "\(key): \(compare(a, b, atol: 0))")
        }
        let reference = try golden.bytes("image")
        let pixels = got.images.flatMap(\.pixels)
        #expect(pixels.count == reference.count)
        let worst = zip(pixels, reference).map { abs(Int($0) - Int($1)) }.max() ?? 0
        #expect(worst <= 1, "worst pixel difference against diffusers \(worst)")
    }

    /// A tensor left out of the file is reported under the diffusers name its LDM name maps to.
    @Test(arguments: [
        ("model.diffusion_model.input_blocks.1.0.in_layers.0.weight", "down_blocks.0.resnets.0.norm1.weight"),
        ("model.diffusion_model.output_blocks.5.2.conv.weight", "up_blocks.1.upsamplers.0.conv.weight"),
        ("first_stage_model.decoder.up.0.block.0.nin_shortcut.weight",
         "decoder.up_blocks.1.resnets.0.conv_shortcut.weight"),
        ("first_stage_model.decoder.mid.attn_1.q.weight", "decoder.mid_block.attentions.0.to_q.weight"),
        ("cond_stage_model.transformer.text_model.encoder.layers.1.mlp.fc2.bias",
         "text_model.encoder.layers.1.mlp.fc2.bias"),
    ])
    func missingTensorIsReportedByItsDiffusersName(ldm: String, diffusers: String) throws {
        let source = try SafeTensorsFile(contentsOf: singleFile)
        #expect(source.names.contains(ldm))
        let entries = try source.names.filter { $0 != ldm }.map { name in
            let info = try #require(source.info(name))
            return SafeTensorsWriter.Entry(name: name, dtype: info.dtype, shape: info.shape,
                                           bytes: try source.bytes(name))
        }
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let reduced = dir.appendingPathComponent("reduced.safetensors")
        try SafeTensorsWriter.write(entries: entries, to: reduced)
        let location = ModelLocation(directory: Fixtures.url("tiny-lcm"), singleFile: reduced)
        #expect {
            try LoadedModel(location)
        } throws: { error in
            let message = "\(error)"
            return message.contains("missing: \(diffusers)") && message.contains("in reduced.safetensors")
        }
    }

    @Test func aDiffusersFileIsNotASingleFile() throws {
        let file = Fixtures.url("tiny-lcm/unet/diffusion_pytorch_model.safetensors")
        let location = ModelLocation(directory: Fixtures.url("tiny-lcm"), singleFile: file)
        #expect { try LoadedModel(location) } throws: { "\($0)".contains("no cond_stage_model.transformer.* tensors") }
    }

    /// SD-1.5 layout (4 levels, 2 resnets per level, double-digit blocks, 4-level VAE): the names diffusers 0.42.1
    /// convert_ldm_unet_checkpoint / convert_ldm_vae_checkpoint give for the SD-1.5 configs.
    @Test func sd15NamesFollowDiffusers() {
        let unet = [
            ("input_blocks.11.0.in_layers.0.weight", "down_blocks.3.resnets.1.norm1.weight"),
            ("input_blocks.9.0.op.bias", "down_blocks.2.downsamplers.0.conv.bias"),
            ("input_blocks.7.1.transformer_blocks.0.attn2.to_k.weight",
             "down_blocks.2.attentions.0.transformer_blocks.0.attn2.to_k.weight"),
            ("input_blocks.4.0.skip_connection.weight", "down_blocks.1.resnets.0.conv_shortcut.weight"),
            ("middle_block.2.emb_layers.1.weight", "mid_block.resnets.1.time_emb_proj.weight"),
            ("middle_block.1.proj_in.weight", "mid_block.attentions.0.proj_in.weight"),
            ("output_blocks.2.1.conv.weight", "up_blocks.0.upsamplers.0.conv.weight"),
            ("output_blocks.8.2.conv.bias", "up_blocks.2.upsamplers.0.conv.bias"),
            ("output_blocks.11.1.proj_out.bias", "up_blocks.3.attentions.2.proj_out.bias"),
            ("output_blocks.10.0.out_layers.3.weight", "up_blocks.3.resnets.1.conv2.weight"),
            ("time_embed.2.bias", "time_embedding.linear_2.bias"),
            ("out.0.weight", "conv_norm_out.weight"),
            ("time_embedding.cond_proj.weight", "time_embedding.cond_proj.weight"),
        ]
        for (ldm, diffusers) in unet {
            #expect(KeyRenames.ldmUNet("model.diffusion_model." + ldm, layersPerBlock: 2) == diffusers)
        }
        let vae = [
            ("decoder.up.3.upsample.conv.weight", "decoder.up_blocks.0.upsamplers.0.conv.weight"),
            ("decoder.up.0.block.2.norm1.bias", "decoder.up_blocks.3.resnets.2.norm1.bias"),
            ("encoder.down.1.block.0.nin_shortcut.weight", "encoder.down_blocks.1.resnets.0.conv_shortcut.weight"),
            ("encoder.down.2.downsample.conv.bias", "encoder.down_blocks.2.downsamplers.0.conv.bias"),
            ("decoder.mid.attn_1.proj_out.weight", "decoder.mid_block.attentions.0.to_out.0.weight"),
            ("encoder.mid.attn_1.norm.bias", "encoder.mid_block.attentions.0.group_norm.bias"),
            ("decoder.mid.block_2.conv1.weight", "decoder.mid_block.resnets.1.conv1.weight"),
            ("encoder.norm_out.bias", "encoder.conv_norm_out.bias"),
            ("post_quant_conv.weight", "post_quant_conv.weight"),
        ]
        for (ldm, diffusers) in vae {
            #expect(KeyRenames.ldmVAE("first_stage_model." + ldm, levels: 4) == diffusers)
        }
        #expect(KeyRenames.ldmUNet("first_stage_model.encoder.conv_in.weight", layersPerBlock: 2) == nil)
        #expect(KeyRenames.ldmVAE("model.diffusion_model.out.2.weight", levels: 4) == nil)
        #expect(KeyRenames.ldmCLIPText("cond_stage_model.transformer.text_model.embeddings.position_ids") == nil)
        #expect(KeyRenames.ldmCLIPText("cond_stage_model.transformer.text_model.final_layer_norm.weight")
            == "text_model.final_layer_norm.weight")
    }
}

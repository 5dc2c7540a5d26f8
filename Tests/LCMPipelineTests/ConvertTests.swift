// `DiffusersExport` (lcm convert): a single file or a folder with a LoRA merged, written as a diffusers folder,
// against the source model and diffusers' fuse_lora (goldens: Weights/tools/make_toolbox_fixtures.py).
import Foundation
import Testing
import LCM
import TensorCore
import TestSupport

@Suite struct ConvertTests {
    @Test func singleFileBecomesAnEquivalentFolder() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var single = ModelLocation(directory: Fixtures.url("tiny-lcm"))
        single.singleFile = Fixtures.url("tiny-lcm-single-file.safetensors")
        let out = dir.appendingPathComponent("converted")
        let written = try DiffusersExport.write(single, to: out, dtype: .f32)
        #expect(written.map(\.component) == ["text_encoder", "unet", "vae"])
        // The VAE attention projections come out linear, as diffusers stores them.
        let vae = try SafeTensorsFile(contentsOf: out.appendingPathComponent("vae/diffusion_pytorch_model.safetensors"))
        #expect(vae.info("decoder.mid_block.attentions.0.to_q.weight")?.shape == [32, 32])

        var request = GenerationRequest(prompt: "a photo of a cat")
        request.seed = 3
        request.steps = 2
        let a = try LatentConsistencyModelPipeline(location: single).generate(request)
        let b = try LatentConsistencyModelPipeline(location: ModelLocation(directory: out)).generate(request)
        #expect(worstPixelDifference(a.images[0].pixels, b.images[0].pixels) == 0)
    }

    @Test func mergedLoRAMatchesDiffusersFuse() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var location = ModelLocation(directory: Fixtures.url("tiny-lcm"), unetDirectory: Fixtures.url("tiny-sd15-unet"))
        location.loras = [(Fixtures.url("lora/kohya-rank2.safetensors"), 0.7)]
        let out = dir.appendingPathComponent("merged")
        _ = try DiffusersExport.write(location, to: out, dtype: .f32)
        let unet = try SafeTensorsFile(contentsOf: out.appendingPathComponent("unet/diffusion_pytorch_model.safetensors"))
        let text = try SafeTensorsFile(contentsOf: out.appendingPathComponent("text_encoder/model.safetensors"))
        let g = try Fixtures.golden("toolbox/lora-merged.safetensors")
        let names = g.names.filter { $0.hasPrefix("kohya.") }
        #expect(names.count == 13)
        for name in names {
            let key = String(name.dropFirst(6))
            let got = key.hasPrefix("unet.") ? try unet.tensor(String(key.dropFirst(5)))
                                             : try text.tensor(String(key.dropFirst(13)))
            let cmp = compare(got, try g.tensor(name), atol: 1e-6)
            #expect(cmp.ok, "\(key): \(cmp)")
        }
    }

    @Test func refusesExistingOutputAndLeavesNothingOnError() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tiny = ModelLocation(directory: Fixtures.url("tiny-lcm"))
        #expect { try DiffusersExport.write(tiny, to: dir) } throws: { "\($0)".contains("already exists") }

        var mismatched = tiny
        mismatched.vaeDirectory = Fixtures.url("tiny-sd2-unet")  // a UNet folder where the VAE should be
        let out = dir.appendingPathComponent("out")
        #expect { try DiffusersExport.write(mismatched, to: out) } throws: { "\($0)".contains("vae") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}

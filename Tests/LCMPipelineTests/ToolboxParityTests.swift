// LoRA merging, LCM-LoRA classifier-free guidance, LCM img2img, TAESD and ControlNet against diffusers on the tiny checkpoints
// (goldens, LoRA files, init image and settings: Weights/tools/make_toolbox_fixtures.py).
import Foundation
import Testing
import LCM
import TensorCore
import TestSupport

/// One golden pipeline run of goldens/toolbox, with the settings recorded in its metadata.
struct ToolboxCase: Sendable, CustomTestStringConvertible {
    let file: String
    let settings: [String: JSONValue]
    var testDescription: String { file }

    enum JSONValue: Decodable, Sendable {
        case number(Double), text(String), null
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null } else if let d = try? c.decode(Double.self) { self = .number(d) }
            else { self = .text(try c.decode(String.self)) }
        }
    }

    func number(_ key: String) -> Double {
        if case .number(let v)? = settings[key] { return v }
        preconditionFailure("\(file): no number \(key)")
    }

    func text(_ key: String) -> String? {
        if case .text(let v)? = settings[key] { return v }
        return nil
    }

    static func all(prefix: String) -> [ToolboxCase] {
        let dir = Fixtures.url("goldens/toolbox")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return files.filter { $0.hasPrefix(prefix) }.sorted().compactMap { file in
            guard let g = try? Fixtures.golden("toolbox/\(file)"), let json = g.metadata["settings"],
                  let settings = try? JSONDecoder().decode([String: JSONValue].self, from: Data(json.utf8))
            else { return nil }
            return ToolboxCase(file: file, settings: settings)
        }
    }

    func request() -> GenerationRequest {
        var r = GenerationRequest(prompt: text("prompt") ?? "")
        r.steps = Int(number("steps"))
        r.seed = UInt64(number("seed"))
        r.guidanceScale = Float(number("guidance"))
        r.negativePrompt = text("negative")
        r.recordIntermediates = true
        return r
    }

    /// denoised.k within `atol`, the uint8 image within 1 at every pixel.
    func check(_ result: GenerationResult, atol: Float = 1e-4) throws {
        let g = try Fixtures.golden("toolbox/\(file)")
        #expect(result.timesteps == (try g.ints("timesteps")), "\(file): timesteps")
        for k in 0..<result.timesteps.count {
            let cmp = compare(try #require(result.intermediates["denoised.\(k)"]), try g.tensor("denoised.\(k)"),
                              atol: atol)
            #expect(cmp.ok, "\(file) denoised.\(k): \(cmp)")
        }
        let worst = worstPixelDifference(result.images.flatMap(\.pixels), try g.bytes("image"))
        #expect(worst != nil && worst! <= 1, "\(file): worst pixel difference \(String(describing: worst))")
    }
}

@Suite struct LoRATests {
    static func lora(_ name: String) -> URL { Fixtures.url("lora/\(name)-rank2.safetensors") }

    /// Merged weights of the checked modules, for LoRA files (each merged `times` times) and strength, against
    /// diffusers' fuse_lora.
    func checkMerged(style: String, golden: String, weight: Float, times: Int = 1) throws {
        let adapter = try LoRAAdapter(contentsOf: Self.lora(style), weight: weight)
        let unet = WeightStore(component: "unet", files: try ComponentWeights.open(
            directory: Fixtures.url("tiny-sd15-unet"), baseName: "diffusion_pytorch_model", variant: nil))
        let text = WeightStore(component: "text_encoder", files: try ComponentWeights.open(
            directory: Fixtures.url("tiny-lcm/text_encoder"), baseName: "model", variant: nil),
            canonicalName: KeyRenames.clipText)
        for _ in 0..<times {
            unet.merge(adapter, as: "unet")
            text.merge(adapter, as: "text_encoder")
        }
        let g = try Fixtures.golden("toolbox/lora-merged.safetensors")
        let names = g.names.filter { $0.hasPrefix(golden + ".") }
        #expect(names.count == 13)
        for name in names {
            let want = try g.tensor(name)
            let key = String(name.dropFirst(golden.count + 1))
            let got = key.hasPrefix("unet.")
                ? unet.root.tensor(String(key.dropFirst(5)), shape: want.shape)
                : text.root.tensor(String(key.dropFirst(13)), shape: want.shape)
            let cmp = compare(got, want, atol: 1e-6)
            #expect(cmp.ok, "\(style) \(key): \(cmp)")
        }
    }

    @Test func kohyaMergeMatchesDiffusers() throws {
        try checkMerged(style: "kohya", golden: "kohya", weight: 0.7)  // alpha 1, rank 2
    }

    @Test func peftMergeMatchesDiffusers() throws {
        try checkMerged(style: "peft", golden: "peft", weight: 1)  // alpha 4 from lora_adapter_metadata
    }

    @Test func oldDiffusersKeysMergeLikePeft() throws {
        // The same factors without alpha (scale 1); strength 2 gives peft's alpha/r = 2.
        try checkMerged(style: "old-diffusers", golden: "peft", weight: 2)
    }

    @Test func repeatedLoRAsAddUp() throws {
        try checkMerged(style: "kohya", golden: "kohya", weight: 0.35, times: 2)  // two --lora of 0.35 = one of 0.7
    }

    @Test func everyModuleOfTheFilesMatches() throws {
        for style in ["kohya", "peft", "old-diffusers"] {
            var location = ModelLocation(directory: Fixtures.url("tiny-lcm"), unetDirectory: Fixtures.url("tiny-sd15-unet"))
            location.loras = [(Self.lora(style), 1)]
            _ = try LoadedModel(location)
        }
    }

    /// Writes a LoRA file with the given tensors into a temporary directory.
    func write(_ tensors: [(String, Tensor)]) throws -> URL {
        let url = try Fixtures.temporaryDirectory().appendingPathComponent("lora.safetensors")
        try SafeTensorsWriter.write(tensors, to: url)
        return url
    }

    @Test func badLoRAsAreRejectedWithOneLine() throws {
        let tiny = Fixtures.url("tiny-lcm")
        let cases: [([(String, Tensor)], String)] = [
            // keys that match no module
            ([("lora_unet_down_blocks_9_foo.lora_down.weight", Tensor(zeros: [2, 16])),
              ("lora_unet_down_blocks_9_foo.lora_up.weight", Tensor(zeros: [16, 2]))],
             "match no weight of the model: unet down_blocks_9_foo"),
            // ranks of down and up disagree
            ([("lora_unet_conv_in.lora_down.weight", Tensor(zeros: [2, 4, 3, 3])),
              ("lora_unet_conv_in.lora_up.weight", Tensor(zeros: [16, 3, 1, 1]))],
             "rank mismatch"),
            // made for another width (e.g. another architecture)
            ([("lora_unet_conv_in.lora_down.weight", Tensor(zeros: [2, 8, 3, 3])),
              ("lora_unet_conv_in.lora_up.weight", Tensor(zeros: [16, 2, 1, 1]))],
             "update of conv_in.weight is 16×72, the weight [16, 4, 3, 3]"),
            ([("model.weight", Tensor(zeros: [2, 2]))], "unrecognised key 'model.weight'"),
            ([("lora_unet_conv_in.lora_down.weight", Tensor(zeros: [2, 4, 3, 3]))], "no up (lora_B) weight"),
        ]
        for (tensors, fragment) in cases {
            var location = ModelLocation(directory: tiny)
            location.loras = [(try write(tensors), 1)]
            #expect { try LoadedModel(location) } throws: { error in
                let text = "\(error)"
                return text.contains(fragment) && !text.contains("\n")
            }
        }
    }
}

@Suite struct GuidanceAndImg2ImgTests {
    @Test func casesArePresent() {
        #expect(ToolboxCase.all(prefix: "cfg_").count == 3)
        #expect(ToolboxCase.all(prefix: "img2img_").count == 4)
        #expect(ToolboxCase.all(prefix: "taesd_").count == 2)
        #expect(ToolboxCase.all(prefix: "controlnet_").count == 2)
    }

    /// LCM-LoRA style: a UNet without the guidance embedding, kohya LoRA merged, CFG when guidance > 1.
    @Test(arguments: ToolboxCase.all(prefix: "cfg_"))
    func loraGuidanceMatchesDiffusers(_ c: ToolboxCase) throws {
        var location = ModelLocation(directory: Fixtures.url("tiny-lcm"), unetDirectory: Fixtures.url("tiny-sd15-unet"))
        location.loras = [(LoRATests.lora("kohya"), 1)]
        let pipeline = try LatentConsistencyModelPipeline(location: location)
        var r = c.request()
        r.width = 32
        r.height = 32
        #expect(pipeline.usesClassifierFreeGuidance(r) == (r.guidanceScale > 1))
        try c.check(try pipeline.generate(r))
    }

    @Test(arguments: ToolboxCase.all(prefix: "img2img_"))
    func img2imgMatchesDiffusers(_ c: ToolboxCase) throws {
        let pipeline = try LatentConsistencyModelPipeline(location: ModelLocation(directory: Fixtures.url("tiny-lcm")),
                                                          withVAEEncoder: true)
        var r = c.request()
        r.initImage = try PNGImage.read(from: Fixtures.url("io/init-32x32.png"))
        r.strength = c.number("strength")
        r.batchSize = Int(c.number("batch"))
        try c.check(try pipeline.generate(r))
    }

    /// TAESD in place of the VAE: decode (text-to-image) and encode (img2img, no posterior draw).
    @Test(arguments: ToolboxCase.all(prefix: "taesd_"))
    func tinyVAEMatchesDiffusers(_ c: ToolboxCase) throws {
        var location = ModelLocation(directory: Fixtures.url("tiny-lcm"))
        location.vaeTinyDirectory = Fixtures.url("tiny-taesd-f2")
        let img2img = c.settings["strength"] != nil
        let pipeline = try LatentConsistencyModelPipeline(location: location, withVAEEncoder: img2img)
        var r = c.request()
        if img2img {
            r.initImage = try PNGImage.read(from: Fixtures.url("io/init-32x32.png"))
            r.strength = c.number("strength")
        } else {
            r.width = 32
            r.height = 32
        }
        try c.check(try pipeline.generate(r))
    }

    /// StableDiffusionControlNetPipeline with the LCM UNet (guidance embedding) and with LCM-LoRA under CFG.
    @Test(arguments: ToolboxCase.all(prefix: "controlnet_"))
    func controlNetMatchesDiffusers(_ c: ToolboxCase) throws {
        var location = ModelLocation(directory: Fixtures.url("tiny-lcm"))
        location.controlNetDirectory = Fixtures.url("tiny-controlnet")
        if c.text("unet") == "sd15-lora" {
            location.unetDirectory = Fixtures.url("tiny-sd15-unet")
            location.loras = [(LoRATests.lora("kohya"), 1)]
        }
        let pipeline = try LatentConsistencyModelPipeline(location: location)
        var r = c.request()
        r.width = 32
        r.height = 32
        r.controlImage = try PNGImage.read(from: Fixtures.url("io/init-32x32.png"))
        r.controlScale = Float(c.number("scale"))
        try c.check(try pipeline.generate(r))
    }

    @Test func controlNetMismatchesAreRejected() throws {
        var location = ModelLocation(directory: Fixtures.url("tiny-lcm"))
        location.controlNetDirectory = Fixtures.url("tiny-controlnet")
        let pipeline = try LatentConsistencyModelPipeline(location: location)
        var r = GenerationRequest(prompt: "a cat")
        #expect { try pipeline.generate(r) } throws: { "\($0)".contains("give a control image") }
        r.controlImage = RGBImage(width: 16, height: 16, pixels: .init(repeating: 0, count: 768))
        #expect { try pipeline.generate(r) } throws: { "\($0)".contains("control image is 16×16") }
        // A ControlNet made for another UNet.
        var other = ModelLocation(directory: Fixtures.url("tiny-lcm"))
        other.controlNetDirectory = Fixtures.url("tiny-controlnet")
        other.unetDirectory = Fixtures.url("tiny-sd2-unet")
        #expect { try LoadedModel(other) } throws: { "\($0)".contains("does not fit the UNet") }
    }

    @Test func badImg2ImgRequestsAreRejected() throws {
        let pipeline = try LatentConsistencyModelPipeline(location: ModelLocation(directory: Fixtures.url("tiny-lcm")),
                                                          withVAEEncoder: true)
        let image = try PNGImage.read(from: Fixtures.url("io/init-32x32.png"))
        for (mutate, fragment) in [
            ({ (r: inout GenerationRequest) in r.strength = 0 }, "strength must be in (0, 1]"),
            ({ (r: inout GenerationRequest) in r.strength = 0.05 }, "strength"),  // ⌊50·0.05⌋ = 2 < 4 steps
            ({ (r: inout GenerationRequest) in r.width = 64; r.height = 64 }, "init image is 32×32"),
            ({ (r: inout GenerationRequest) in r.initImage = RGBImage(width: 20, height: 20,
                                                                      pixels: .init(repeating: 0, count: 1200)) },
             "multiples of 8"),
        ] as [((inout GenerationRequest) -> Void, String)] {
            var r = GenerationRequest(prompt: "a cat")
            r.initImage = image
            mutate(&r)
            #expect { try pipeline.generate(r) } throws: { "\($0)".contains(fragment) }
        }
        let decodeOnly = try tinyPipeline.get()
        var r = GenerationRequest(prompt: "a cat")
        r.initImage = image
        #expect { try decodeOnly.generate(r) } throws: { "\($0)".contains("VAE encoder") }
    }
}

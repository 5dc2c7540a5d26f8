// `lcm generate`: text to image with a latent consistency model.
import ArgumentParser
import Foundation
import LCM
import TensorCore

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate images from a text prompt.",
        discussion: """
            Width and height must be multiples of 8 (and of the VAE's scale factor). Without --seed a random seed \
            is used and printed. Files are written as PNG with the generation settings in text chunks.

            Guidance: LCM models embed it (w = guidance − 1, one UNet pass per step). Models without the guidance \
            embedding (a plain SD-1.5 model with LCM-LoRA) run classifier-free guidance when --guidance is above 1 \
            (two UNet passes per step, against --negative-prompt), one pass otherwise; 1–2 suits LCM-LoRA.

            img2img (--init-image): the image is not resized; its size is the output size and must be a multiple \
            of 8 (crop or resize it first). An alpha channel is dropped, grey images are used as RGB. As diffusers' \
            LatentConsistencyModelImg2ImgPipeline, the schedule is built over the first ⌊50·strength⌋ training \
            steps and all --steps run, so steps ≤ ⌊50·strength⌋; the image's latents are a seeded sample of the \
            VAE posterior.
            """)

    @Argument(help: "The prompt (or use --prompt).") var promptArgument: String?
    @Option(name: .customLong("prompt"), help: "The prompt.") var promptOption: String?
    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Sampling steps (default: the model's lcm_defaults.json, else 4).") var steps: Int?
    @Option(help: "Guidance scale (default: the model's lcm_defaults.json, else 8; see below).") var guidance: Float?
    @Option(name: .customLong("negative-prompt"), help: "Unconditional prompt of classifier-free guidance (LCM-LoRA).")
    var negativePrompt: String?
    @Option(name: .customLong("init-image"), help: "img2img: start from this PNG (see below).") var initImage: String?
    @Option(help: "img2img: strength in (0, 1] (default 0.8).") var strength: Double?
    @Option(help: "Random seed (torch.manual_seed compatible).") var seed: UInt64?
    @Option(help: "Image width in pixels (default: from the model config).") var width: Int?
    @Option(help: "Image height in pixels (default: from the model config).") var height: Int?
    @Option(help: "Images to generate for the prompt.") var batch = 1
    @Option(name: .customLong("original-steps"), help: "LCM skipping-step base schedule (default: scheduler config).")
    var originalSteps: Int?
    @Option(help: "Start from these latents (safetensors file with one tensor named 'latents').") var latents: String?
    @Option(name: .shortAndLong, help: "Output PNG path (default: built from the prompt, seed and steps).")
    var output: String?
    @Option(name: .customLong("save-intermediates"), help: "Write intermediate tensors to this safetensors file.")
    var saveIntermediates: String?
    @Option(name: .customLong("control-image"), help: """
        ControlNet conditioning PNG, of the output size (not resized), used as RGB in [0, 1].
        """)
    var controlImage: String?
    @Option(name: .customLong("control-scale"), help: "ControlNet residual scale (default 1).") var controlScale: Float?
    @Option(name: .customLong("preview-every"), help: "Write a preview after every K steps (needs --vae-tiny).")
    var previewEvery: Int?
    @Option(help: "Preview PNG path, rewritten at each preview (default: the output path with -preview).")
    var preview: String?
    @Option(help: "Threads for BLAS and kernels (default: LCM_THREADS or all cores).") var threads: Int?
    @Flag(help: "Print a JSON result record on stdout.") var json = false

    func run() throws {
        try runReportingErrors {
            let prompt = try resolvedPrompt()
            if let threads { ThreadPolicy.setThreads(threads) }
            let location = try modelOptions.location()
            let defaults = try ModelDefaults.load(location)
            var request = GenerationRequest(prompt: prompt)
            request.steps = steps ?? defaults.numInferenceSteps ?? 4
            request.guidanceScale = guidance ?? defaults.guidanceScale ?? 8
            request.seed = seed
            request.width = width
            request.height = height
            request.batchSize = batch
            request.originalInferenceSteps = originalSteps
            request.negativePrompt = negativePrompt
            if let strength {
                guard initImage != nil else { throw ValidationError("--strength needs --init-image") }
                request.strength = strength
            }
            if let initImage { request.initImage = try PNGImage.read(from: URL(fileURLWithPath: initImage)) }
            guard (modelOptions.controlnet == nil) == (controlImage == nil) else {
                throw ValidationError("--controlnet and --control-image go together")
            }
            if let controlImage { request.controlImage = try PNGImage.read(from: URL(fileURLWithPath: controlImage)) }
            if let controlScale {
                guard controlImage != nil else { throw ValidationError("--control-scale needs --controlnet") }
                request.controlScale = controlScale
            }
            request.recordIntermediates = saveIntermediates != nil
            if let latents {
                request.initialLatents = try SafeTensorsFile(contentsOf: URL(fileURLWithPath: latents)).tensor("latents")
            }
            guard request.steps >= 1 else { throw ValidationError("--steps must be at least 1") }
            if previewEvery != nil || preview != nil {
                guard modelOptions.vaeTiny != nil else { throw ValidationError("previews need --vae-tiny DIR") }
                guard let k = previewEvery, k >= 1 else { throw ValidationError("--preview-every must be at least 1") }
            }
            let loadStart = Date()
            let pipeline = try LatentConsistencyModelPipeline(location: location, withVAEEncoder: initImage != nil)
            let loadSeconds = Date().timeIntervalSince(loadStart)
            for (component, names) in pipeline.model.unusedWeights.sorted(by: { $0.key < $1.key }) where !names.isEmpty {
                Console.warn("\(component): \(names.count) unused tensor(s), e.g. \(names.prefix(3).joined(separator: ", "))")
            }
            try pipeline.validate(request)
            if negativePrompt != nil && !pipeline.usesClassifierFreeGuidance(request) {
                Console.warn(pipeline.model.unet.config.timeCondProjDim != nil
                    ? "--negative-prompt is unused: this UNet embeds the guidance scale (no classifier-free guidance)"
                    : "--negative-prompt is unused with --guidance ≤ 1")
            }
            let seedUsed = request.seed ?? UInt64.random(in: 0..<(1 << 32))
            request.seed = seedUsed
            let outputs = try outputPaths(prompt: prompt, seed: seedUsed, steps: request.steps)
            let previews = previewEvery == nil ? [] : previewPaths(outputs)
            try Console.checkWritable(outputs + previews + [saveIntermediates].compactMap { $0 })
            if pipeline.model.tokenizer(prompt, maxLength: 77).truncated {
                Console.warn("the prompt is longer than 77 tokens and was truncated")
            }
            let progress = Console.Progress(enabled: !json)
            let result = try pipeline.generate(request) { info in
                progress.step(info)
                if let k = previewEvery, (info.index + 1) % k == 0, info.index + 1 < info.count {
                    // The denoised latents of this step, decoded by the tiny VAE; a failed write does not stop sampling.
                    let images = ImagePostprocess.rgbImages(pipeline.decode(info.denoised))
                    for (image, path) in zip(images, previews) {
                        do { try PNGImage.write(image, to: URL(fileURLWithPath: path)) } catch {
                            Console.warn("preview not written: \(error)")
                        }
                    }
                }
                return true
            }
            progress.finish()
            let size = "\(result.images[0].width)x\(result.images[0].height)"
            for (image, path) in zip(result.images, outputs) {
                try PNGImage.write(image, to: URL(fileURLWithPath: path), text: [
                    ("prompt", prompt), ("seed", String(seedUsed)), ("steps", String(request.steps)),
                    ("guidance", String(request.guidanceScale)), ("size", size), ("model", pipeline.model.name),
                    ("software", "swift-lcm \(LCMCommand.version)"),
                ] + settingsText)
            }
            if let saveIntermediates {
                try SafeTensorsWriter.write(result.intermediates.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                            metadata: ["prompt": prompt, "seed": String(seedUsed)],
                                            to: URL(fileURLWithPath: saveIntermediates))
            }
            try report(result, request: request, files: outputs, loadSeconds: loadSeconds)
        }
    }

    /// One preview file per output image.
    private func previewPaths(_ outputs: [String]) -> [String] {
        guard let preview else { return outputs.map { String($0.dropLast(4)) + "-preview.png" } }
        let base = preview.hasSuffix(".png") ? String(preview.dropLast(4)) : preview
        return outputs.count == 1 ? ["\(base).png"] : (1...outputs.count).map { "\(base)-\($0).png" }
    }

    /// The optional settings worth recording in the PNG.
    private var settingsText: [(key: String, value: String)] {
        var text: [(key: String, value: String)] = []
        if let negativePrompt { text.append(("negative_prompt", negativePrompt)) }
        if let initImage { text += [("init_image", initImage), ("strength", String(strength ?? 0.8))] }
        for l in modelOptions.lora { text.append(("lora", l)) }
        if let vaeTiny = modelOptions.vaeTiny { text.append(("vae_tiny", vaeTiny)) }
        if let controlnet = modelOptions.controlnet, let controlImage {
            text += [("controlnet", controlnet), ("control_image", controlImage),
                     ("control_scale", String(controlScale ?? 1))]
        }
        return text
    }

    private func resolvedPrompt() throws -> String {
        switch (promptArgument, promptOption) {
        case let (a?, nil): return a
        case let (nil, o?): return o
        case (nil, nil): throw ValidationError("give a prompt as an argument or with --prompt")
        default: throw ValidationError("give the prompt once: as an argument or with --prompt, not both")
        }
    }

    private func outputPaths(prompt: String, seed: UInt64, steps: Int) throws -> [String] {
        let base: String
        if let output {
            base = output.hasSuffix(".png") ? String(output.dropLast(4)) : output
        } else {
            base = "\(Console.slug(prompt))-\(seed)-\(steps)steps"
        }
        return batch == 1 ? ["\(base).png"] : (1...batch).map { "\(base)-\($0).png" }
    }

    private func report(_ result: GenerationResult, request: GenerationRequest, files: [String],
                        loadSeconds: Double) throws {
        let t = result.timings
        if json {
            let record: [String: Any] = [
                "files": files, "seed": result.seed, "steps": request.steps, "guidance": request.guidanceScale,
                "timesteps": result.timesteps,
                "seconds": ["load": loadSeconds, "text_encoder": t.textEncoder, "vae_encode": t.vaeEncode,
                            "unet_steps": t.unetSteps, "vae_decode": t.vaeDecode, "total": t.total],
            ]
            let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for f in files { print(f) }
            Console.note(String(format: "seed %llu, %d steps, %.2f s (text %.2f s, UNet %.2f s, VAE %.2f s)",
                                result.seed, request.steps, t.total, t.textEncoder, t.unetSteps.reduce(0, +), t.vaeDecode))
        }
    }
}

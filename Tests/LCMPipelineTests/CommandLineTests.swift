// The `lcm` executable end to end: an image equal to the diffusers golden, and bad input giving one line on
// stderr with exit code 1 and no file left behind.
import Foundation
import Testing
import LCM
import TestSupport

/// Runs the `lcm` binary built next to the test bundle.
func runLCM(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let exe = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lcm")
    guard FileManager.default.isExecutableFile(atPath: exe.path) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: exe.path])
    }
    let process = Process()
    process.executableURL = exe
    process.arguments = args
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

@Suite struct CommandLineTests {
    let model = Fixtures.url("tiny-lcm").path

    @Test func generateWritesTheReferenceImage() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("cyborg.png").path
        let prompt = "Self-portrait oil painting, a beautiful cyborg with golden hair, 8k"
        let r = try runLCM(["generate", prompt, "--model", model, "--steps", "2", "--seed", "0", "--width", "32",
                            "--height", "32", "-o", out, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let record = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(record?["files"] as? [String] == [out])
        #expect(record?["seed"] as? Int == 0)
        let png = try PNGImage.read(from: URL(fileURLWithPath: out))
        let want = try Fixtures.golden("tiny-lcm/pipeline_s2_seed0_32x32.safetensors").bytes("image")
        let worst = worstPixelDifference(png.pixels, want)
        #expect(worst != nil && worst! <= 1, "worst pixel difference \(String(describing: worst))")
        let text = try PNGImage.textChunks(of: URL(fileURLWithPath: out))
        #expect(text["prompt"] == prompt)
        #expect(text["seed"] == "0")
    }

    @Test(arguments: [
        (["generate", "a cat", "--model", "/nonexistent/model"], "/nonexistent/model"),
        (["generate", "a cat", "--model", "MODEL", "--steps", "0"], "steps"),
        (["generate", "a cat", "--model", "MODEL", "--width", "36"], "multiples of 8"),
        (["generate", "a cat", "--model", "MODEL", "-o", "/nonexistent/dir/x.png"], "/nonexistent/dir"),
        (["generate", "a cat", "--model", "MODEL", "--no-such-option"], "no-such-option"),
        (["generate", "--model", "MODEL"], "prompt"),
        (["inspect", "/nonexistent.safetensors"], "nonexistent"),
        (["generate", "a cat", "--model", "MODEL", "--lora", "/nonexistent.safetensors"], "no such file"),
        (["generate", "a cat", "--model", "MODEL", "--lora", "INIT"], "LoRA init-32x32.png"),
        (["generate", "a cat", "--model", "MODEL", "--init-image", "LORA"], "kohya-rank2.safetensors"),
        (["generate", "a cat", "--model", "MODEL", "--init-image", "INIT", "--strength", "1.5"], "strength"),
        (["generate", "a cat", "--model", "MODEL", "--strength", "0.5"], "--init-image"),
        (["generate", "a cat", "--model", "MODEL", "--init-image", "INIT", "--steps", "4", "--strength", "0.06"],
         "strength"),
        (["generate", "a cat", "--model", "MODEL", "--vae-tiny", "TAESD8"], "scale factor 8, the model 4 and 2"),
        (["generate", "a cat", "--model", "MODEL", "--preview-every", "1"], "--vae-tiny"),
        (["generate", "a cat", "--model", "MODEL", "--controlnet", "CONTROLNET"], "--control-image"),
        (["generate", "a cat", "--model", "MODEL", "--unet", "SD2UNET", "--controlnet", "CONTROLNET",
          "--control-image", "INIT"], "does not fit the UNet"),
    ])
    func badInputIsOneLineAndExitOne(args: [String], fragment: String) throws {
        let r = try runLCM(args.map { ["MODEL": model, "INIT": Fixtures.url("io/init-32x32.png").path,
                                       "LORA": Fixtures.url("lora/kohya-rank2.safetensors").path,
                                       "TAESD8": Fixtures.url("tiny-taesd").path,
                                       "CONTROLNET": Fixtures.url("tiny-controlnet").path,
                                       "SD2UNET": Fixtures.url("tiny-sd2-unet").path][$0] ?? $0 })
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(r.stderr)")
        #expect(r.stderr.contains(fragment), "stderr: \(r.stderr)")
    }

    @Test func img2imgWithLoRAAndNegativePromptRuns() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("i2i.png").path
        let r = try runLCM(["generate", "a photo of a cat", "--model", model, "--unet", Fixtures.url("tiny-sd15-unet").path,
                            "--lora", Fixtures.url("lora/kohya-rank2.safetensors").path + ":0.5",
                            "--guidance", "1.5", "--negative-prompt", "blurry",
                            "--init-image", Fixtures.url("io/init-32x32.png").path, "--strength", "0.6",
                            "--seed", "1", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        let png = try PNGImage.read(from: URL(fileURLWithPath: out))
        #expect(png.width == 32 && png.height == 32)
        let text = try PNGImage.textChunks(of: URL(fileURLWithPath: out))
        #expect(text["negative_prompt"] == "blurry" && text["strength"] == "0.6")
        #expect(text["lora"]?.hasSuffix("kohya-rank2.safetensors:0.5") == true)
    }

    @Test func previewsAreWrittenWithTheTinyVAE() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("cat.png").path
        let preview = dir.appendingPathComponent("live.png").path
        let r = try runLCM(["generate", "a cat", "--model", model, "--vae-tiny", Fixtures.url("tiny-taesd-f2").path,
                            "--preview-every", "1", "--preview", preview, "--steps", "2", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        let image = try PNGImage.read(from: URL(fileURLWithPath: preview))
        #expect(image.width == 32 && image.height == 32)
        #expect(FileManager.default.fileExists(atPath: out))
    }

    @Test func modelDefaultsApplyWhenNotGiven() throws {
        let model = try brokenModel { dir in
            try Data(#"{"guidance_scale": 1.5, "num_inference_steps": 2}"#.utf8)
                .write(to: dir.appendingPathComponent("lcm_defaults.json"))
        }
        defer { try? FileManager.default.removeItem(at: model.deletingLastPathComponent()) }
        let out = model.deletingLastPathComponent().appendingPathComponent("x.png").path
        for (extra, steps, guidance) in [([String](), 2, 1.5), (["--steps", "3", "--guidance", "8"], 3, 8.0)] {
            let r = try runLCM(["generate", "a cat", "--model", model.path, "-o", out, "--json"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            let record = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            #expect(record?["steps"] as? Int == steps)
            #expect(record?["guidance"] as? Double == guidance)
            #expect((record?["timesteps"] as? [Int])?.count == steps)
        }
    }

    /// A copy of the tiny model with one thing broken.
    func brokenModel(_ breakIt: (URL) throws -> Void) throws -> URL {
        let dir = try Fixtures.temporaryDirectory()
        let copy = dir.appendingPathComponent("model")
        try FileManager.default.copyItem(at: Fixtures.url("tiny-lcm"), to: copy)
        try breakIt(copy)
        return copy
    }

    @Test func brokenModelsAreReportedInOneLine() throws {
        let cases: [(String, (URL) throws -> Void)] = [
            ("vae", { try FileManager.default.removeItem(at: $0.appendingPathComponent("vae")) }),
            ("prediction", { dir in
                let url = dir.appendingPathComponent("scheduler/scheduler_config.json")
                let text = try String(contentsOf: url, encoding: .utf8)
                try text.replacingOccurrences(of: "\"epsilon\"", with: "\"flow\"").write(to: url, atomically: true, encoding: .utf8)
            }),
            ("expected", { dir in
                // A config that no longer matches the weights: every conv_in shape is wrong.
                let url = dir.appendingPathComponent("unet/config.json")
                let text = try String(contentsOf: url, encoding: .utf8)
                try text.replacingOccurrences(of: "\"in_channels\": 4", with: "\"in_channels\": 5").write(to: url, atomically: true, encoding: .utf8)
            }),
        ]
        for (fragment, breakIt) in cases {
            let model = try brokenModel(breakIt)
            defer { try? FileManager.default.removeItem(at: model.deletingLastPathComponent()) }
            let out = model.deletingLastPathComponent().appendingPathComponent("x.png")
            let r = try runLCM(["generate", "a cat", "--model", model.path, "--width", "32", "--height", "32", "-o", out.path])
            #expect(r.status == 1, "\(fragment): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains(fragment), "\(fragment): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out.path))
        }
    }
}

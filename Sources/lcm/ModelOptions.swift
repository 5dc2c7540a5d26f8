// Options shared by the commands that load a model, and where the embedded default model is found.
import ArgumentParser
import Foundation
import LCM

struct ModelOptions: ParsableArguments {
    @Option(help: """
        A diffusers model folder, or an original SD-1.x single-file checkpoint (.safetensors, needs --config) \
        (default: the embedded model in Weights/, or $LCM_MODEL).
        """)
    var model: String?
    @Option(help: """
        With a single-file --model: the diffusers folder whose unet/vae/text_encoder configs, tokenizer and \
        scheduler to use.
        """)
    var config: String?
    @Option(help: "Weight variant to load, e.g. fp16 (default: plain files, else fp16 when that is all there is).")
    var variant: String?
    @Option(help: "Use the UNet from this folder (config.json + weights) instead of the model's.") var unet: String?
    @Option(help: "Use the VAE from this folder (config.json + weights) instead of the model's.") var vae: String?
    @Option(help: ArgumentHelp("""
        Merge a LoRA into the UNet and text encoder at load, with an optional strength (default 1). Repeatable. \
        kohya (lora_unet_…/lora_te_…, alpha) and diffusers/peft (lora_A/lora_B, lora.down/up) keys.
        """, valueName: "file[:weight]"))
    var lora: [String] = []
    @Option(name: .customLong("vae-tiny"), help: """
        Decode (and for img2img encode) with this AutoencoderTiny (TAESD) folder instead of the model's VAE: \
        faster, lower fidelity.
        """)
    var vaeTiny: String?
    @Option(help: "A ControlNet folder (diffusers ControlNetModel for this UNet); needs --control-image.")
    var controlnet: String?

    func location() throws -> ModelLocation {
        let path = try model ?? ProcessInfo.processInfo.environment["LCM_MODEL"] ?? DefaultModel.path()
        var location = ModelLocation(directory: URL(fileURLWithPath: path), variant: variant,
                                     unetDirectory: unet.map { URL(fileURLWithPath: $0) },
                                     vaeDirectory: vae.map { URL(fileURLWithPath: $0) },
                                     loras: try lora.map(Self.parseLoRA),
                                     vaeTinyDirectory: vaeTiny.map { URL(fileURLWithPath: $0) })
        location.controlNetDirectory = controlnet.map { URL(fileURLWithPath: $0) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            if config != nil {
                throw ValidationError(
                    "--config is for a single-file --model (a .safetensors file), but \(path) is not a file")
            }
            return location
        }
        guard let config else {
            throw ValidationError("""
                \(path) is a single-file checkpoint: pass --config DIR, a diffusers folder with the \
                unet/vae/text_encoder configs, tokenizer and scheduler for it
                """)
        }
        guard variant == nil else {
            throw ValidationError(
                "--variant selects weight files in a diffusers folder, not in the single file \(path)")
        }
        location.directory = URL(fileURLWithPath: config)
        location.singleFile = URL(fileURLWithPath: path)
        return location
    }

    /// "file.safetensors" or "file.safetensors:0.8".
    static func parseLoRA(_ value: String) throws -> (file: URL, weight: Float) {
        var path = value
        var weight: Float = 1
        if let colon = value.lastIndex(of: ":"), let w = Float(value[value.index(after: colon)...]) {
            guard w.isFinite else { throw ValidationError("--lora \(value): the weight must be a finite number") }
            path = String(value[..<colon])
            weight = w
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("--lora: no such file \(path)")
        }
        return (URL(fileURLWithPath: path), weight)
    }
}

/// The model shipped in the repository under Weights/, found next to the executable's checkout or the
/// current directory.
enum DefaultModel {
    static let folderName = "lcm-shapes"

    static func path() throws -> String {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var starts = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        starts.append(exe.deletingLastPathComponent())
        for start in starts {
            var dir = start
            for _ in 0..<6 {
                let candidate = dir.appendingPathComponent("Weights").appendingPathComponent(folderName)
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("model_index.json").path) {
                    return candidate.path
                }
                dir.deleteLastPathComponent()
            }
        }
        throw ValidationError("no model given and the embedded model Weights/\(folderName) was not found; pass --model DIR")
    }
}

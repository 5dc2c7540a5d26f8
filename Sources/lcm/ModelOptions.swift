// Options shared by the commands that load a model, and where the embedded default model is found.
import ArgumentParser
import Foundation
import LCMPipeline

struct ModelOptions: ParsableArguments {
    @Option(help: "A diffusers model folder (default: the embedded model in Weights/, or $LCM_MODEL).")
    var model: String?
    @Option(help: "Weight variant to load, e.g. fp16 (default: plain files, else fp16 when that is all there is).")
    var variant: String?
    @Option(help: "Use the UNet from this folder (config.json + weights) instead of the model's.") var unet: String?
    @Option(help: "Use the VAE from this folder (config.json + weights) instead of the model's.") var vae: String?

    func location() throws -> ModelLocation {
        let dir = try model ?? ProcessInfo.processInfo.environment["LCM_MODEL"] ?? DefaultModel.path()
        return ModelLocation(directory: URL(fileURLWithPath: dir), variant: variant,
                             unetDirectory: unet.map { URL(fileURLWithPath: $0) },
                             vaeDirectory: vae.map { URL(fileURLWithPath: $0) })
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

// Embedding swift-lcm in a Swift program: load a diffusers LCM folder, generate with a progress callback,
// write the PNG. Usage: EmbedSample MODEL_DIR "prompt" [out.png]
import Foundation
import LCM

let args = CommandLine.arguments
guard args.count >= 3 else {
    FileHandle.standardError.write(Data("usage: EmbedSample MODEL_DIR PROMPT [OUT.png]\n".utf8))
    exit(2)
}
do {
    let pipeline = try LatentConsistencyModelPipeline(location: ModelLocation(directory: URL(fileURLWithPath: args[1])))
    var request = GenerationRequest(prompt: args[2])
    request.steps = 4
    request.seed = 42
    let result = try pipeline.generate(request) { step in
        print("step \(step.index + 1)/\(step.count) at t=\(step.timestep): \(String(format: "%.2f", step.seconds)) s")
        return true  // return false to cancel
    }
    let out = URL(fileURLWithPath: args.count > 3 ? args[3] : "embed-sample.png")
    try PNGImage.write(result.images[0], to: out, text: [("prompt", args[2]), ("seed", "42")])
    print("wrote \(out.path) in \(String(format: "%.2f", result.timings.total)) s")
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}

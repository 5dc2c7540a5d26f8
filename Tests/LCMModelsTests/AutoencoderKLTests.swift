// AutoencoderKL decode and encode against diffusers (goldens: Weights/tools/make_fixtures.py).
import Testing
import LCMModels
import TensorCore
import TestSupport

@Suite struct AutoencoderKLTests {
    let atol: Float = 1e-4

    @Test func decodeMatchesDiffusers() throws {
        let vae = try TinyModels.vae("tiny-lcm/vae")
        #expect(vae.config.scaleFactor == 2)
        let g = try Fixtures.golden("tiny-lcm/vae.safetensors")
        var seen: [String: Tensor] = [:]
        let out = vae.decode(try g.tensor("z")) { name, value in seen[name] = value }
        for (name, value) in seen where g.info(name) != nil {
            let c = compare(value, try g.tensor(name), atol: atol)
            #expect(c.ok, "\(name): \(c)")
        }
        let c = compare(out, try g.tensor("decoded"), atol: atol)
        #expect(c.ok, "decoded: \(c)")
    }

    @Test func encodeMatchesDiffusers() throws {
        let vae = try TinyModels.vae("tiny-lcm/vae")
        let g = try Fixtures.golden("tiny-lcm/vae.safetensors")
        let (mean, logvar) = vae.encode(try g.tensor("image"))
        let cm = compare(mean, try g.tensor("mean"), atol: atol)
        #expect(cm.ok, "mean: \(cm)")
        let cl = compare(logvar, try g.tensor("logvar"), atol: atol)
        #expect(cl.ok, "logvar: \(cl)")
    }
}

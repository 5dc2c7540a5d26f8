// Tests of TorchGenerator against torch.randn / torch.rand on the CPU (Tests/Fixtures/goldens/random.safetensors,
// written by Weights/tools/make_text_rng_scheduler_goldens.py; its metadata lists every draw).
import Foundation
import Testing
import TensorCore
import TestSupport

@Suite struct TorchGeneratorTests {
    struct Draw: Decodable {
        let name: String
        let seed: UInt64
        let op: String
        let shape: [Int]
    }

    static func goldens() throws -> (file: SafeTensorsFile, draws: [Draw]) {
        let file = try Fixtures.golden("random.safetensors")
        let index = try #require(file.metadata["draws"], "random.safetensors has no draws index")
        return (file, try JSONDecoder().decode([Draw].self, from: Data(index.utf8)))
    }

    static func draw(_ draw: Draw, from generator: inout TorchGenerator) -> Tensor {
        draw.op == "rand" ? generator.rand(draw.shape) : generator.randn(draw.shape)
    }

    /// Elements that differ in any bit.
    static func mismatches(_ a: Tensor, _ b: Tensor) -> Int {
        zip(a.scalars, b.scalars).filter { $0.bitPattern != $1.bitPattern }.count
    }

    @Test func freshGeneratorsMatchTorch() throws {
        let (file, draws) = try Self.goldens()
        let fresh = draws.filter { $0.name.hasPrefix("randn/") }
        #expect(fresh.count == 36)
        var worst: Float = 0
        for draw in fresh {
            var generator = TorchGenerator(seed: draw.seed)
            let got = Self.draw(draw, from: &generator)
            let want = try file.tensor(draw.name)
            let result = compare(got, want, atol: 1e-6)
            #expect(result.ok, "\(draw.name): \(result)")
            worst = max(worst, result.maxAbsError)
            // The ≥ 16 path replicates torch's polynomials with IEEE operations only; the < 16 path calls the
            // same glibc log1p/sin/cos as torch. So both reproduce torch's bits.
            #expect(Self.mismatches(got, want) == 0, "\(draw.name): not bit-identical")
        }
        print("TorchGenerator fresh draws: max abs error \(worst)")
    }

    @Test func successiveDrawsContinueOneStream() throws {
        let (file, draws) = try Self.goldens()
        for seed: UInt64 in [7, 1234] {
            let sequence = draws.filter { $0.name.hasPrefix("sequence/seed\(seed)/") }
            #expect(sequence.count == 8)
            var generator = TorchGenerator(seed: seed)
            for draw in sequence {
                let got = Self.draw(draw, from: &generator)
                let want = try file.tensor(draw.name)
                #expect(got.shape == want.shape)
                #expect(Self.mismatches(got, want) == 0, "\(draw.name): \(compare(got, want, atol: 0))")
            }
        }
    }

    @Test func smallDrawsUseTheCachedSecondNormal() {
        // Three values from one Box–Muller pair and a half: a fresh 1-element draw then a 2-element draw equal one
        // 3-element draw, because torch keeps the pair's second value for the next call.
        var whole = TorchGenerator(seed: 3)
        var pieces = TorchGenerator(seed: 3)
        let three = whole.randn([3]).scalars
        let split = pieces.randn([1]).scalars + pieces.randn([2]).scalars
        #expect(three == split)
    }

    @Test func mersenneTwisterReferenceOutput() {
        // std::mt19937 seeded with 5489 first yields 3499211612; rand keeps its low 24 bits.
        var generator = TorchGenerator(seed: 5489)
        let first = generator.rand([1])[flat: 0]
        #expect(first == Float(3_499_211_612 & 0xFF_FFFF) * 0x1p-24)
    }

    @Test func seedsAreTakenModulo2To32() {
        var a = TorchGenerator(seed: 5)
        var b = TorchGenerator(seed: (1 << 32) + 5)
        #expect(a.randn([40]).scalars == b.randn([40]).scalars)
        #expect(b.initialSeed == (1 << 32) + 5)
    }

    @Test func emptyShapeDrawsNothing() {
        var a = TorchGenerator(seed: 11)
        var b = TorchGenerator(seed: 11)
        #expect(a.randn([0, 4]).count == 0)
        #expect(a.randn([20]).scalars == b.randn([20]).scalars)
    }
}

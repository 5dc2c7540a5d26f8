// Tensor-core ops against PyTorch (goldens: Weights/tools/make_op_goldens.py; torch version in the file's
// metadata). Inputs have odd, non-square sizes. Tolerance: 1e-5 absolute, fp32.
import Testing
import TensorCore
import TestSupport

@Suite struct OpsTests {
    let atol: Float = 1e-5
    let g: SafeTensorsFile

    init() throws { g = try Fixtures.golden("ops.safetensors") }

    func t(_ name: String) throws -> Tensor { try g.tensor(name) }

    func check(_ got: Tensor, _ key: String) throws {
        let c = compare(got, try t(key), atol: atol)
        #expect(c.ok, "\(key): \(c)")
    }

    @Test func linearAndMatmul() throws {
        try check(linear(try t("linear.x"), weight: try t("linear.w"), bias: try t("linear.b")), "linear.y")
        try check(matmul(try t("matmul.a"), try t("matmul.b")), "matmul.y")
        // with a residual (a transformer's skip connection), here the golden output itself
        let (x, w, b, y) = (try t("linear.x"), Weight(try t("linear.w")), try t("linear.b"), try t("linear.y"))
        let c = compare(linear(x, weight: w, bias: b, residual: y), y + y, atol: 2 * atol)
        #expect(c.ok, "linear with a residual: \(c)")
        let biasValues = b.withUnsafeBufferPointer { Array($0) }
        var unbiased = y
        unbiased.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] -= biasValues[i % biasValues.count] }
        }
        let c2 = compare(linear(x, weight: w, residual: y), y + unbiased, atol: 2 * atol)
        #expect(c2.ok, "linear with a residual, no bias: \(c2)")
    }

    @Test func convolutions() throws {
        let x = try t("conv.x")
        try check(conv2d(x, weight: try t("conv.w3"), bias: try t("conv.b3"), stride: 1, padding: 1), "conv.y3_s1")
        try check(conv2d(x, weight: try t("conv.w3"), bias: try t("conv.b3"), stride: 2, padding: 1), "conv.y3_s2")
        try check(conv2d(x, weight: try t("conv.w3"), bias: try t("conv.b3"), stride: 2,
                         padding: Padding2D(top: 0, left: 0, bottom: 1, right: 1)), "conv.y3_s2_asym")
        try check(conv2d(x, weight: try t("conv.w1"), bias: try t("conv.b1")), "conv.y1")
    }

    /// The 1×1 convolutions between maps and tokens (Transformer2DModel's proj_in / proj_out) against PyTorch's
    /// conv2d, the layouts changed by `permute`; proj_out's residual is the golden output itself.
    @Test func pointwiseConvolutionsWithTokens() throws {
        let (x, w, b, y) = (try t("conv.x"), Weight(try t("conv.w1")), try t("conv.b1"), try t("conv.y1"))
        let tokens = { (m: Tensor) in
            permute(m.reshaped([m.shape[0], m.shape[1], m.shape[2] * m.shape[3]]), [0, 2, 1])
        }
        let want = tokens(y)
        let c = compare(conv1x1ToTokens(x, weight: w, bias: b), want, atol: atol)
        #expect(c.ok, "conv1x1ToTokens: \(c)")
        let (h, wd) = (x.shape[2], x.shape[3])
        let c2 = compare(conv1x1FromTokens(tokens(x), height: h, width: wd, weight: w, bias: b), y, atol: atol)
        #expect(c2.ok, "conv1x1FromTokens: \(c2)")
        let c3 = compare(conv1x1FromTokens(tokens(x), height: h, width: wd, weight: w, bias: b, residual: y), y + y,
                         atol: 2 * atol)
        #expect(c3.ok, "conv1x1FromTokens with a residual: \(c3)")
        var unbiased = y
        let biasValues = b.withUnsafeBufferPointer { Array($0) }
        unbiased.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] -= biasValues[i / (h * wd) % biasValues.count] }
        }
        let c4 = compare(conv1x1FromTokens(tokens(x), height: h, width: wd, weight: w, bias: nil, residual: y),
                         y + unbiased, atol: 2 * atol)
        #expect(c4.ok, "conv1x1FromTokens with a residual, no bias: \(c4)")
    }

    @Test func norms() throws {
        let x = try t("gn.x")
        try check(groupNorm(x, groups: 3, weight: try t("gn.w"), bias: try t("gn.b"), eps: 1e-6), "gn.y")
        try check(groupNorm(x, groups: 3, weight: try t("gn.w"), bias: try t("gn.b"), eps: 1e-6, silu: true),
                  "gn.y_silu")
        try check(layerNorm(try t("ln.x"), weight: try t("ln.w"), bias: try t("ln.b"), eps: 1e-5), "ln.y")
    }

    @Test func activations() throws {
        let x = try t("act.x")
        try check(silu(x), "act.silu")
        try check(gelu(x), "act.gelu")
        try check(geluTanh(x), "act.gelu_tanh")
        try check(quickGelu(x), "act.quick_gelu")
        try check(geglu(try t("geglu.x")), "geglu.y")
        var y = x
        Activation.gelu.applyInPlace(&y)
        try check(y, "act.gelu")
    }

    @Test func attentionWithHeadsAlongChannels() throws {
        try check(attention(query: try t("attn.q"), key: try t("attn.k"), value: try t("attn.v"), heads: 3), "attn.y")
        try check(attention(query: try t("attn.cq"), key: try t("attn.ck"), value: try t("attn.cv"), heads: 2,
                            causal: true), "attn.causal_y")
    }

    @Test func shapeOps() throws {
        try check(concat([try t("cat.a"), try t("cat.b")], axis: 1), "cat.y")
        let parts = split(try t("cat.y"), axis: 1, sizes: [3, 2])
        try check(parts[0], "cat.a")
        try check(parts[1], "cat.b")
        try check(permute(try t("perm.x"), [0, 2, 3, 1]), "perm.y")
        try check(upsampleNearest(try t("up.x"), height: 10, width: 14), "up.y2x")
        try check(upsampleNearest(try t("up.x"), height: 9, width: 13), "up.y_size")
    }

    @Test func copyOnWriteKeepsCopiesApart() {
        let a = Tensor(shape: [2, 2], values: [1, 2, 3, 4])
        var b = a
        b[flat: 0] = 9
        #expect(a.scalars == [1, 2, 3, 4])
        #expect(b.scalars == [9, 2, 3, 4])
    }
}

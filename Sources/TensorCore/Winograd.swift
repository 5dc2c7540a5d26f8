// Winograd F(4×4, 3×3) and F(2×2, 3×3) convolution for 3×3 kernels with stride 1 and padding 1 (A. Lavin,
// S. Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): for F(4×4) the weights transformed into 36
// matrices [C_out × C_in], the input in 6×6 tiles into 36 matrices [C_in × tiles], 36 GEMMs, and the output
// transform with the bias (C kernels in Kernels/winograd_*.c): 2.25 multiplications per output instead of 9.
// F(2×2) likewise with 4×4 input tiles and 16 matrices (Kernels/winograd_ref.c): 4 multiplications per output,
// but four times the tiles of F(4×4) and a smaller transformed weight, for maps too small for F(4×4)'s GEMMs.
// A 3×3 convolution of a map upsampled 2× by nearest neighbour (diffusers' Upsample2D) is four 2×2 convolutions
// of the map itself, one per output phase, which F(4×4, 2×2) computes in 100 matrices (25 points per phase,
// Kernels/winograd_upsample_ref.c): 1.56 multiplications per output instead of F(4×4, 3×3)'s 2.25 on the
// upsampled map, a quarter of the tiles to transform, and no upsampled map.
//
// The GEMMs are our own (lcm_sgemm_packed_f32, Kernels/gemm_simd.c): the weight transform writes the transformed
// weights in the kernel's packed layout, a panel of 12 output channels at a time (lcm_winograd4x4_weights_panel_f32,
// 1.5–2.5× faster than transforming into 36 matrices and packing those: Kernels/README.md), and the kernel reads
// the transformed input where the input transform put it and overwrites the results, where OpenBLAS packed both
// operands and cleared C at each of the 36 GEMMs of a chunk (15 % of a VAE decode's samples against 39 % in its
// kernel, `perf record -e cpu-clock`). Per GEMM 1.1–1.3× OpenBLAS's speed (Weights/tools/gemm_bench.c); per
// convolution 10–40 % faster on some shapes in one window and the same within the noise in another
// (Weights/tools/conv_compare.sh; figures in Kernels/README.md).
import CKernels

/// Floats of the tile matrices (transformed input and GEMM results) per chunk of tile rows: 16 Mi floats, 64 MiB,
/// as for im2col (the two share one buffer). Larger chunks make wider GEMMs: 1.3× faster at 512 channels than
/// 32 MiB.
private let tileBudget = 16 << 20

/// Tile matrices per thread on the per-thread path: 256 Ki floats, 1 MiB, so a chunk is one row of tiles at the
/// sizes that take that path.
private let threadTileBudget = 1 << 18

/// Narrowest image for the per-thread path: its GEMMs are one row of tiles wide (64 tiles of F(4×4)).
private let perThreadMinimumWidth = 253

/// The output tile of a Winograd convolution and its C transforms.
enum WinogradTile {
    /// F(2×2, 3×3) and F(4×4, 3×3) of the input map; F(4×4, 2×2) of the four phases of the 3×3 convolution of
    /// the input map upsampled 2× by nearest neighbour (Kernels/winograd_upsample_ref.c).
    case f2x2, f4x4, upsample4x4

    /// Input pixels per tile side.
    var size: Int { self == .f2x2 ? 2 : 4 }
    /// Points of the transform: (size + 2)², four phases of 25 for `upsample4x4`.
    var points: Int { self == .upsample4x4 ? 100 : (size + 2) * (size + 2) }
    /// Output pixels per input pixel along each side.
    var scale: Int { self == .upsample4x4 ? 2 : 1 }
    /// Floats of transformed weights held at once; beyond, output channels go in blocks, whose weights are
    /// transformed again for every chunk of tiles. 10 Mi floats (40 MiB) for the 3×3 tiles, so that a VAE's
    /// 512-channel convolutions (9.4 Mi) transform their weights once, not for each of two blocks in each of three
    /// chunks at 128²: 512 → 512 channels at 128², weights from memory, fastest of 12 in three rounds 145 / 168 /
    /// 147 ms with 8 Mi, 110 / 129 / 137 ms with 10 Mi (`COLD=1 Weights/tools/conv_compare.sh`, measured together
    /// with the pieces of `ThreadPolicy.parallelFor`); 28 Mi (112 MiB) for
    /// `upsample4x4`, so that a VAE's 512-channel upsampler (26.4 Mi) transforms its weights once, not once per
    /// chunk (seven at 128×128): 512 → 512 channels at 128² → 256² 342–397 ms with 8 Mi, 282–299 ms with 28 Mi
    /// (`SHAPES="512 512 128" Weights/tools/upsample_compare.sh . 5 3`, both budgets in one window).
    var weightBudget: Int { self == .upsample4x4 ? 28 << 20 : 10 << 20 }

    func weightsPanel(_ g: UnsafePointer<Float>, _ cin: Int, _ co0: Int, _ rows: Int,
                      _ packed: UnsafeMutablePointer<Float>, _ pointStride: Int) {
        switch self {
        case .f4x4: lcm_winograd4x4_weights_panel_f32(g, cin, co0, rows, packed, pointStride)
        case .f2x2: lcm_winograd2x2_weights_panel_f32(g, cin, co0, rows, packed, pointStride)
        case .upsample4x4: lcm_winograd_upsample_weights_panel_f32(g, cin, co0, rows, packed, pointStride)
        }
    }

    func input(_ x: UnsafePointer<Float>, _ v: UnsafeMutablePointer<Float>, _ ld: Int, _ pointStride: Int,
               _ channels: Range<Int>, _ h: Int, _ w: Int, _ ty0: Int, _ ty1: Int) {
        let (c0, c1) = (channels.lowerBound, channels.upperBound)
        switch self {
        case .f4x4: lcm_winograd4x4_input_f32(x, v, ld, pointStride, c0, c1, h, w, ty0, ty1)
        case .f2x2: lcm_winograd2x2_input_f32(x, v, ld, pointStride, c0, c1, h, w, ty0, ty1)
        case .upsample4x4: lcm_winograd_upsample_input_f32(x, v, ld, pointStride, c0, c1, h, w, ty0, ty1)
        }
    }

    /// `h`, `w`: the input's size.
    func output(_ m: UnsafePointer<Float>, _ ld: Int, _ pointStride: Int, _ bias: UnsafePointer<Float>?,
                _ y: UnsafeMutablePointer<Float>, _ channels: Range<Int>, _ h: Int, _ w: Int, _ ty0: Int, _ ty1: Int) {
        let (c0, c1) = (channels.lowerBound, channels.upperBound)
        switch self {
        case .f4x4: lcm_winograd4x4_output_f32(m, ld, pointStride, bias, y, c0, c1, h, w, ty0, ty1)
        case .f2x2: lcm_winograd2x2_output_f32(m, ld, pointStride, bias, y, c0, c1, h, w, ty0, ty1)
        case .upsample4x4: lcm_winograd_upsample_output_f32(m, ld, pointStride, bias, y, c0, c1, h, w, ty0, ty1)
        }
    }
}

/// y [B, C_out, H, W] = conv3×3(x [B, C_in, H, W]) + bias with stride 1 and padding 1; `weight` is
/// [C_out, C_in, 3, 3] in fp32 or half precision (widened a panel at a time by the weight transform). With `tile`
/// `.upsample4x4`, y [B, C_out, 2H, 2W] = conv3×3(nearest2×(x)) + bias.
///
/// Two schedules. Large maps whose transformed weights fit in one block (a VAE decoder's 256² and 512² levels)
/// go per thread: the weights are transformed once, then the threads take pieces of the rows of tiles and run input
/// transform, GEMMs and output transform on one row of tiles at a time, the matrices
/// (a few MB) staying near the core. At those sizes the shared schedule below was bound by memory traffic: its
/// 64 MiB chunks went through memory between every phase, with a barrier after each. Fastest of 3–5 calls, two
/// threads, the two schedules alternated three times in one window: 128 → 128 channels at 512² 225–268 →
/// 131–183 ms, 256 → 256 at 512² 610–680 → 432–556 ms, 256 → 256 at 256² 138–163 → 122–154 ms; a VAE decode at
/// 512², medians of 3 alternated twice: 6.9 and 7.6 s → 6.7 and 6.2 s.
/// Everything else goes through the shared schedule: chunks of tile rows, each phase split across the threads
/// (channels for the transforms, the points for the GEMMs).
func winogradConv2d(_ x: Tensor, weight: Weight, outputChannels: Int, bias: Tensor?,
                    tile: WinogradTile, into y: UnsafeMutablePointer<Float>) {
    let plan = WinogradPlan(input: x.shape, outputChannels: outputChannels, tile: tile)
    if plan.blockChannels == plan.cout && plan.w >= perThreadMinimumWidth && ThreadPolicy.threads > 1 {
        return winogradPerThread(x, weight: weight, outputChannels: outputChannels, bias: bias, tile: tile, into: y)
    }
    WorkBuffer.convolution.with(count: plan.scratchCount) { v in
        let m = v + plan.points * plan.inputStride, packed = m + plan.points * plan.outputStride
        let blocks = stride(from: 0, to: plan.cout, by: plan.blockChannels).map {
            $0..<min(plan.cout, $0 + plan.blockChannels)
        }
        if blocks.count == 1 { plan.transformWeights(weight, blocks[0], into: packed) }
        for row0 in stride(from: 0, to: plan.tileRows, by: plan.chunkRows) {
            let pieces = plan.pieces(row0..<min(plan.tileRows, row0 + plan.chunkRows))
            plan.transformInput(x, pieces, into: v)
            for block in blocks {
                if blocks.count > 1 { plan.transformWeights(weight, block, into: packed) }
                plan.multiply(packed, v, block, tiles: pieces.tiles, into: m)
            }
            plan.transformOutput(m, bias: bias, pieces, into: y)
        }
    }
}

/// The per-thread schedule of `winogradConv2d`.
private func winogradPerThread(_ x: Tensor, weight: Weight, outputChannels: Int, bias: Tensor?,
                               tile: WinogradTile, into y: UnsafeMutablePointer<Float>) {
    let plan = WinogradPlan(input: x.shape, outputChannels: outputChannels, tile: tile, tileBudget: threadTileBudget)
    WorkBuffer.convolution.with(count: plan.points * plan.packedStride) { packed in
        plan.transformWeights(weight, 0..<plan.cout, into: packed)
        ThreadPolicy.parallelFor(plan.tileRows) { rows in
            let v = UnsafeMutablePointer<Float>.allocate(capacity: plan.points * (plan.inputStride + plan.outputStride))
            defer { v.deallocate() }
            let m = v + plan.points * plan.inputStride
            for row0 in stride(from: rows.lowerBound, to: rows.upperBound, by: plan.chunkRows) {
                let pieces = plan.pieces(row0..<min(rows.upperBound, row0 + plan.chunkRows))
                plan.transformInput(x, pieces, into: v, parallel: false)
                plan.multiply(packed, v, 0..<plan.cout, tiles: pieces.tiles, into: m, parallel: false)
                plan.transformOutput(m, bias: bias, pieces, into: y, parallel: false)
            }
        }
    }
}

/// The sizes of one Winograd convolution and where its matrices sit in the work buffer. Tile matrices have rows
/// of `ld` floats (the chunk's tiles rounded up to whole cache lines), and the 16 or 36 matrices of each kind lie an
/// odd number of cache lines apart: at strides of a multiple of 4 KiB the streams the transforms read or write
/// at once fall into the same few cache sets, which measured 2–3× slower.
private struct WinogradPlan {
    let tile: WinogradTile
    let batch, cin, cout, h, w, tilesY, tilesX: Int
    /// Tile rows (over all images) per chunk: equal chunks, as few as the tile budget allows.
    let chunkRows: Int
    /// Output channels per block of transformed weights: equal blocks within the weight budget.
    let blockChannels: Int
    let ld: Int
    let inputStride, outputStride: Int
    /// Floats between the packed weight matrices (a block's transformed weights in lcm_sgemm_pack_a_f32's layout).
    let packedStride: Int

    /// `tileBudget`: floats of tile matrices (transformed input and GEMM results) per chunk.
    init(input: [Int], outputChannels: Int, tile: WinogradTile, tileBudget: Int = tileBudget) {
        self.tile = tile
        (batch, cin, h, w) = (input[0], input[1], input[2], input[3])
        cout = outputChannels
        (tilesY, tilesX) = ((h + tile.size - 1) / tile.size, (w + tile.size - 1) / tile.size)
        let rowsInBudget = max(1, tileBudget / (tile.points * tilesX * (cin + cout)))
        let chunks = (batch * tilesY + rowsInBudget - 1) / rowsInBudget
        chunkRows = (batch * tilesY + chunks - 1) / chunks
        let channelsInBudget = max(16, tile.weightBudget / (tile.points * cin))
        let blocks = (cout + channelsInBudget - 1) / channelsInBudget
        blockChannels = min(cout, ((cout + blocks - 1) / blocks + 15) / 16 * 16)
        ld = (chunkRows * tilesX + 15) / 16 * 16
        inputStride = Self.oddLines(cin * ld)
        outputStride = Self.oddLines(cout * ld)
        packedStride = Self.oddLines(lcm_sgemm_packed_a_floats(blockChannels, cin))
    }

    var points: Int { tile.points }
    var tileRows: Int { batch * tilesY }
    /// Pixels of an output channel.
    var outputPlane: Int { h * w * tile.scale * tile.scale }
    var scratchCount: Int { points * (inputStride + outputStride + packedStride) }

    /// The smallest n' >= n that is an odd multiple of 16 floats (one 64-byte line).
    static func oddLines(_ n: Int) -> Int { ((n + 15) / 16 | 1) * 16 }

    /// A chunk's tile rows split at image boundaries: image, tile rows, first tile column in the chunk.
    struct Pieces {
        var list: [(image: Int, ty0: Int, ty1: Int, column: Int)] = []
        var tiles = 0
    }

    func pieces(_ rows: Range<Int>) -> Pieces {
        var result = Pieces()
        var row = rows.lowerBound
        while row < rows.upperBound {
            let (image, ty0) = row.quotientAndRemainder(dividingBy: tilesY)
            let ty1 = min(tilesY, ty0 + rows.upperBound - row)
            result.list.append((image, ty0, ty1, (row - rows.lowerBound) * tilesX))
            row += ty1 - ty0
        }
        result.tiles = rows.count * tilesX
        return result
    }

    /// U[p] for output channels `block`, packed for lcm_sgemm_packed_f32: the threads take pieces of the panels of
    /// 12 channels. Half-precision weights are widened one panel's 12 channels at a time into a scratch of the
    /// piece that stays in cache, not into a whole fp32 copy written to memory and read back (`Weight.withFloat32`).
    func transformWeights(_ weight: Weight, _ block: Range<Int>, into packed: UnsafeMutablePointer<Float>) {
        let taps = cin * 9, direct = weight.float32Pointer
        ThreadPolicy.parallelFor((block.count + 11) / 12) { panels in
            let scratch = direct == nil ? UnsafeMutablePointer<Float>.allocate(capacity: 12 * taps) : nil
            defer { scratch?.deallocate() }
            for panel in panels {
                let (r0, co0) = (panel * 12, block.lowerBound + panel * 12)
                let rows = min(12, block.count - r0)
                if let direct {
                    tile.weightsPanel(direct, cin, co0, rows, packed + r0 * cin, packedStride)
                } else if let scratch {
                    weight.widen(co0 * taps..<(co0 + rows) * taps, into: scratch, parallel: false)
                    tile.weightsPanel(scratch, cin, 0, rows, packed + r0 * cin, packedStride)
                }
            }
        }
    }

    /// `parallel`: channels split across the threads, else all on the calling thread.
    func transformInput(_ x: Tensor, _ pieces: Pieces, into v: UnsafeMutablePointer<Float>, parallel: Bool = true) {
        let src = x.data
        let body = { (r: Range<Int>) in
            for p in pieces.list {
                tile.input(src + p.image * cin * h * w, v + p.column, ld, inputStride, r, h, w, p.ty0, p.ty1)
            }
        }
        if parallel { ThreadPolicy.parallelFor(cin, body) } else { body(0..<cin) }
    }

    /// M[p] rows of `block` = U[p] · V[p] for all points; `parallel`: points split across the threads.
    func multiply(_ packed: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                  _ block: Range<Int>, tiles: Int, into m: UnsafeMutablePointer<Float>, parallel: Bool = true) {
        let body = { (points: Range<Int>) in
            for p in points {
                lcm_sgemm_packed_f32(packed + p * packedStride, v + p * inputStride, ld,
                                     m + p * outputStride + block.lowerBound * ld, ld, block.count, tiles, cin)
            }
        }
        if parallel { ThreadPolicy.parallelFor(points, body) } else { body(0..<points) }
    }

    /// `parallel`: channels split across the threads, else all on the calling thread.
    func transformOutput(_ m: UnsafePointer<Float>, bias: Tensor?, _ pieces: Pieces,
                         into y: UnsafeMutablePointer<Float>, parallel: Bool = true) {
        let biasData = bias?.data
        let body = { (r: Range<Int>) in
            for p in pieces.list {
                tile.output(m + p.column, ld, outputStride, biasData, y + p.image * cout * outputPlane, r, h, w,
                            p.ty0, p.ty1)
            }
        }
        if parallel { ThreadPolicy.parallelFor(cout, body) } else { body(0..<cout) }
    }
}

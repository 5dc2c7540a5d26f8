// Port of diffusers models/resnet.py (ResnetBlock2D), downsampling.py (Downsample2D) and upsampling.py
// (Upsample2D), as used by the UNet and the VAE.
import TensorCore

public struct ResnetBlock2D: Sendable {
    let norm1: GroupNorm
    let conv1: Conv2d
    let timeEmbProj: Linear?
    let norm2: GroupNorm
    let conv2: Conv2d
    let convShortcut: Conv2d?
    let outputScaleFactor: Float

    /// `tembChannels` nil: no time embedding (VAE).
    public init(_ s: WeightScope, in inChannels: Int, out outChannels: Int, tembChannels: Int?, groups: Int,
                eps: Float, outputScaleFactor: Float = 1) {
        norm1 = GroupNorm(s["norm1"], groups: groups, channels: inChannels, eps: eps)
        conv1 = Conv2d(s["conv1"], in: inChannels, out: outChannels, kernel: 3)
        timeEmbProj = tembChannels.map { Linear(s["time_emb_proj"], in: $0, out: outChannels) }
        norm2 = GroupNorm(s["norm2"], groups: groups, channels: outChannels, eps: eps)
        conv2 = Conv2d(s["conv2"], in: outChannels, out: outChannels, kernel: 3)
        convShortcut = inChannels != outChannels
            ? Conv2d(s["conv_shortcut"], in: inChannels, out: outChannels, kernel: 1) : nil
        self.outputScaleFactor = outputScaleFactor
    }

    /// x [B, C_in, H, W]; temb [B, T] is the raw time embedding (SiLU is applied here).
    public func callAsFunction(_ x: Tensor, temb: Tensor? = nil) -> Tensor {
        var h = conv1(norm1(x, silu: true))  // [B, C_out, H, W]
        if let timeEmbProj, let temb {
            addPerChannel(&h, timeEmbProj(silu(temb)))
        }
        h = conv2(norm2(h, silu: true))
        h += convShortcut.map { $0(x) } ?? x  // into h, which is not shared: no copy of x first
        if outputScaleFactor != 1 { h *= 1 / outputScaleFactor }
        return h
    }
}

/// Conv 3×3 with stride 2. UNet: padding 1; VAE encoder: padding 0 after padding right/bottom by one.
public struct Downsample2D: Sendable {
    let conv: Conv2d

    public init(_ s: WeightScope, channels: Int, padding: Int) {
        conv = padding == 0
            ? Conv2d(s["conv"], in: channels, out: channels, kernel: 3, stride: 2,
                     padding: Padding2D(top: 0, left: 0, bottom: 1, right: 1))
            : Conv2d(s["conv"], in: channels, out: channels, kernel: 3, stride: 2, padding: padding)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { conv(x) }  // [B, C, ceil(H/2), ceil(W/2)]
}

/// Nearest-neighbour ×2 (or to an explicit size) followed by a 3×3 conv.
public struct Upsample2D: Sendable {
    let conv: Conv2d

    public init(_ s: WeightScope, channels: Int) {
        conv = Conv2d(s["conv"], in: channels, out: channels, kernel: 3)
    }

    public func callAsFunction(_ x: Tensor, outputSize: (Int, Int)? = nil) -> Tensor {
        let (h, w) = outputSize ?? (2 * x.shape[2], 2 * x.shape[3])
        if h == 2 * x.shape[2] && w == 2 * x.shape[3] {
            return upsampleNearest2xConv2d(x, weight: conv.weight, bias: conv.bias)  // [B, C, h, w]
        }
        return conv(upsampleNearest(x, height: h, width: w))  // [B, C, h, w]
    }
}

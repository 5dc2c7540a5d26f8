// Work buffers kept between calls: mapping fresh pages for tens of MB at every call costs as much as the work
// done in them. Each holds the largest size asked for; a call that finds its buffer in use (another thread at the
// same time, or a nested call) gets a temporary one of its own.
import Foundation

final class WorkBuffer: @unchecked Sendable {
    /// im2col tiles and Winograd's matrices (at most about 170 MB for the SD networks: a VAE's 512-channel
    /// upsampler at 256², 64 MiB of tile matrices and 106 MB of transformed weights).
    static let convolution = WorkBuffer()
    /// Half-precision weights widened to fp32 for one operation (the largest SD-1.5 weight: 59 MB).
    static let weights = WorkBuffer()

    private let lock = NSLock()
    private var kept: UnsafeMutableBufferPointer<Float>?

    /// Runs `body` with at least `count` floats of uninitialised memory.
    func with<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        lock.lock()
        let taken = kept
        kept = nil
        lock.unlock()
        let buffer: UnsafeMutableBufferPointer<Float>
        if let taken, taken.count >= count {
            buffer = taken
        } else {
            taken?.deallocate()
            buffer = .allocate(capacity: max(count, 1))
        }
        defer {
            lock.lock()
            if let other = kept, other.count >= buffer.count {
                buffer.deallocate()
            } else {
                kept?.deallocate()
                kept = buffer
            }
            lock.unlock()
        }
        return try body(buffer.baseAddress!)
    }
}

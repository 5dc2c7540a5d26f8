// Atomic file replacement: write a temporary file next to the destination, flush it, rename it over the
// destination. A failed or interrupted write leaves the destination untouched and no partial file behind.
import Foundation

/// A file write that fails cleanly; `description` is one line naming the file and the problem.
public struct FileWriteError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let problem: String

    public var description: String { "\(file): \(problem)" }
}

/// A file being written; becomes visible under its final name only on `commit()`.
public final class AtomicFile {
    public let destination: URL
    private let temporaryPath: String
    private var descriptor: Int32
    private var committed = false

    /// Creates the temporary file in the destination's folder.
    public init(destination: URL) throws {
        self.destination = destination
        let folder = destination.deletingLastPathComponent().path
        let unique = "\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        temporaryPath = "\(folder)/.\(destination.lastPathComponent).\(unique).tmp"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else {
            throw FileWriteError(file: destination.path, problem: "cannot create a file in \(folder): \(errnoText())")
        }
    }

    /// Appends bytes.
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!committed, "AtomicFile: append after commit")
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw FileWriteError(file: destination.path, problem: "write failed at byte \(offset): \(errnoText())")
            }
            offset += written
        }
    }

    public func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in try append(raw) }
    }

    /// Flushes the data to disk and renames the temporary file over the destination.
    public func commit() throws {
        precondition(!committed, "AtomicFile: committed twice")
        guard fsync(descriptor) == 0 else {
            throw FileWriteError(file: destination.path, problem: "cannot flush: \(errnoText())")
        }
        let closed = close(descriptor)
        descriptor = -1
        guard closed == 0 else { throw FileWriteError(file: destination.path, problem: "cannot close: \(errnoText())") }
        guard rename(temporaryPath, destination.path) == 0 else {
            throw FileWriteError(file: destination.path, problem: "cannot move into place: \(errnoText())")
        }
        committed = true
    }

    /// Writes `bytes` to `url` atomically.
    public static func save(_ bytes: [UInt8], to url: URL) throws {
        let file = try AtomicFile(destination: url)
        try file.append(bytes)
        try file.commit()
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        if !committed { unlink(temporaryPath) }
    }
}

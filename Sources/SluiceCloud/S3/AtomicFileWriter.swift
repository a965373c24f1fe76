import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes a file durably: into a temporary file, then `fsync` and `rename` over the target, so readers never see
/// half a file and a crash leaves the old content (or nothing).
final class AtomicFileWriter {
    let path: String
    let temporaryPath: String
    private var descriptor: Int32
    /// Bytes written so far.
    private(set) var size = 0

    /// Opens a temporary file for `path`.
    /// - Parameters:
    ///   - path: the file to create or replace; its folder is created when missing.
    ///   - temporaryDirectory: where the temporary file lives (same file system as `path`); `path`'s folder by
    ///     default.
    init(path: String, temporaryDirectory: String? = nil, subject: String) throws(S3Error) {
        // A bare file name lives in the working directory.
        let path = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        self.path = path
        let folder = (path as NSString).deletingLastPathComponent
        let temporaryFolder = temporaryDirectory ?? folder
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: temporaryFolder, withIntermediateDirectories: true)
        } catch {
            throw S3Error(
                .localFile, subject: path, operation: "write", detail: "cannot create the folder: \(error)")
        }
        let name = (path as NSString).lastPathComponent
        temporaryPath = "\(temporaryFolder)/.\(name).\(UInt64.random(in: 0...UInt64.max)).partial"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw S3Error(
                .localFile, subject: path, operation: "write",
                detail: "cannot create \(temporaryPath): \(String(cString: strerror(errno))); check the folder's "
                    + "permissions and free space")
        }
    }

    deinit { discard() }

    /// Appends bytes.
    func append(_ buffer: ByteBuffer) throws(S3Error) {
        let failure: Int32? = buffer.withUnsafeReadableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return nil
        }
        if let failure {
            throw S3Error(
                .localFile, subject: path, operation: "write",
                detail: "writing failed: \(String(cString: strerror(failure))); check the free space")
        }
        size += buffer.readableBytes
    }

    /// Syncs the temporary file and renames it over the target.
    func commit() throws(S3Error) {
        guard descriptor >= 0 else { return }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        descriptor = -1
        guard synced, rename(temporaryPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporaryPath)
            throw S3Error(.localFile, subject: path, operation: "write", detail: "cannot complete the file: \(reason)")
        }
    }

    /// Removes the temporary file (after a failure).
    func discard() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        unlink(temporaryPath)
    }
}

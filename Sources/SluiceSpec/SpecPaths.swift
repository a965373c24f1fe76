import Foundation

/// The one rule for relative paths in specs: a path written in a file is relative to the folder of that file (the
/// pipeline or module file), whatever the working folder; only command-line values are relative to the working
/// folder. URIs (`s3://…`) and absolute paths are kept as written.
public enum SpecPaths {
    /// `path` as written in `file`, made absolute against the folder holding `file`.
    public static func resolve(_ path: String, besideFile file: String) -> String {
        resolve(path, in: folder(of: file))
    }

    /// `path` made absolute against `folder` (itself relative to the working folder when not absolute).
    public static func resolve(_ path: String, in folder: String) -> String {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.contains("://") else { return path }
        return absolute(folder + "/" + path)
    }

    /// The absolute folder holding `file`.
    public static func folder(of file: String) -> String {
        absolute((file as NSString).deletingLastPathComponent)
    }

    /// `path` made absolute against the working folder, with `.` and `..` resolved.
    public static func absolute(_ path: String) -> String {
        let joined = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return PipelineLoader.normalized(joined)
    }
}

/// One published version of a module spec in the catalog.
@MemberwiseInit
public struct CatalogModuleVersion: Hashable, Sendable, Codable {
    public var name: String
    /// 1, 2, … per name, allocated when the version is published.
    public var version: Int
    /// The spec's `id`, or one the catalog gave the name when it first had none.
    public var id: String
    /// `sha256:` of the spec text.
    public var contentHash: String
    /// The spec text as published.
    public var spec: String
    /// The file it was published from; relative paths in its implementation resolve against that file's folder.
    public var source: String
    public var publishedBy: String
    public var publishedAt: Double
    public var deprecated: Bool = false
    public var deprecationReason: String?

    /// `Name@3`.
    public var reference: String { "\(name)@\(version)" }
}

/// Which catalog version a pipeline's module came from; part of the module, so of the pipeline's hash and of
/// every cache key that uses it.
@MemberwiseInit
public struct CatalogReference: Hashable, Sendable, Codable {
    public var name: String
    public var version: Int
    public var contentHash: String

    public var reference: String { "\(name)@\(version)" }
}

/// A versioned catalog of module specs, kept by the store.
///
/// A conformer allocates version numbers inside the transaction that records the version, so concurrent
/// publishers of one name get distinct, consecutive numbers; publishing the exact text of an existing version
/// of the name records nothing and returns that version.
public protocol ModuleCatalog: Sendable {
    /// Records `spec` as the next version of `name` unless that text is already a version of it.
    /// - Parameters:
    ///   - id: the spec's own `id`; nil: the id of the name's earlier versions, or `newID` for a new name.
    func publishModule(
        name: String, id: String?, newID: String, spec: String, source: String, by: String, at: Double
    ) throws -> (version: CatalogModuleVersion, created: Bool)
    /// Every version of `name` (nil: of every name), by name then version.
    func catalogModules(name: String?) throws -> [CatalogModuleVersion]
    /// Marks one version deprecated: pipelines no longer pick it as the latest; a pin still resolves.
    func deprecateModule(name: String, version: Int, reason: String?) throws -> CatalogModuleVersion
}

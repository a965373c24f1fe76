/// An error Sluice reports to its user: a stable code, a message that says what was wrong and how to fix it, and the
/// error underneath when there is one.
///
/// Every layer throws its own conforming struct (so cases can be added without breaking callers); only the edges
/// translate: the CLI turns any `SluiceError` into one printed line and an exit status, the server into an HTTP
/// status. A conformer gives `code` and `message`; `cause` defaults to none.
public protocol SluiceError: Error, CustomStringConvertible {
    /// The type of `code`: a string, or an enumeration where callers switch over the kinds.
    associatedtype Code: Hashable, Sendable, CustomStringConvertible = String
    /// A stable, machine-readable name of the kind of problem (`unknown-parameter`, `unknownEndpoint`).
    var code: Code { get }
    /// What went wrong and how to fix it, in one line.
    var message: String { get }
    /// The error that caused this one, when it wraps another.
    var cause: (any Error)? { get }
}

extension SluiceError {
    public var cause: (any Error)? { nil }
}

/// A request Sluice refused: an unknown name, a conflict, a used token, an illegal transition.
///
/// The engine and the store throw it (as `EngineError` and `StoreError`) when the user can fix the request.
@MemberwiseInit
public struct RequestError: SluiceError, Hashable, Sendable {
    public var code: String
    public var message: String

    public var description: String { message }
}

/// A `SluiceError` that is its message alone, with one code for the whole type.
public protocol MessageError: SluiceError where Code == String {
    /// The code of every error of this type.
    static var code: String { get }
}

extension MessageError {
    public var code: String { Self.code }
    public var message: String { description }
}

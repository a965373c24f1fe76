import Crypto
import Foundation
import SluiceServing
import Synchronization

/// Who is looking at the console: a session cookie, and who signed in with it (beyond loopback).
///
/// Every visitor gets a random session id in an `HttpOnly`, `SameSite=Strict` cookie; forms carry a CSRF token
/// derived from it with a key only this process knows (HMAC-SHA256), so another site can neither read the token nor
/// make the browser send the cookie. A server bound beyond loopback also requires the session to have signed in with
/// an API key; those sessions are kept in memory and end after `lifetime`, when the key is revoked, or when the server
/// stops. The sign-in form itself carries a CSRF token, so another site cannot sign a browser in with its own key.
final class ConsoleSessions: Sendable {
    static let cookieName = "sluice_console"

    /// The HMAC key of CSRF tokens, random for each process.
    private let key: [UInt8] = {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }()
    /// Signed-in sessions by id: the key's id and name, and when the sign-in ends.
    private let signedIn = Mutex<[String: SignedIn]>([:])
    /// How long a sign-in lasts, in seconds.
    let lifetime: Double
    /// At most this many signed-in sessions are kept; the oldest are dropped first.
    let capacity = 10_000

    init(lifetime: Double = 12 * 3600) {
        self.lifetime = lifetime
    }

    /// A new random session id.
    func newSessionID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
    }

    /// The CSRF token of a session's forms.
    func csrfToken(for session: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data(session.utf8), using: SymmetricKey(data: key))
        return code.map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `token` is the CSRF token of `session` (compared in constant time).
    func isValid(csrf token: String, for session: String) -> Bool {
        APIKey.constantTimeEqual(csrfToken(for: session).utf8, token.utf8)
    }

    /// Who signed a session in.
    struct SignedIn {
        var keyID: String
        var name: String
        var expires: Double
    }

    /// Records a sign-in with the key `keyID` named `name`; returns the new session's id (a fresh one: never the id
    /// the browser had before signing in).
    func signIn(keyID: String, name: String, now: Double) -> String {
        let id = newSessionID()
        signedIn.withLock { sessions in
            sessions = sessions.filter { $0.value.expires > now }
            if sessions.count >= capacity, let oldest = sessions.min(by: { $0.value.expires < $1.value.expires }) {
                sessions[oldest.key] = nil
            }
            sessions[id] = SignedIn(keyID: keyID, name: name, expires: now + lifetime)
        }
        return id
    }

    func signOut(_ session: String) { _ = signedIn.withLock { $0.removeValue(forKey: session) } }

    /// Ends every session signed in with key `keyID` (it was revoked).
    func signOut(keyID: String) { signedIn.withLock { $0 = $0.filter { $0.value.keyID != keyID } } }

    /// The key a session signed in with, while the sign-in lasts and `isActive` says the key is still valid.
    func signedIn(_ session: String, now: Double, isActive: (_ keyID: String) -> Bool) -> SignedIn? {
        guard let entry = signedIn.withLock({ $0[session] }) else { return nil }
        guard entry.expires > now, isActive(entry.keyID) else {
            signOut(session)
            return nil
        }
        return entry
    }

    /// The `Set-Cookie` value carrying `session`.
    static func cookie(_ session: String) -> String {
        "\(cookieName)=\(session); Path=/console; HttpOnly; SameSite=Strict"
    }

    /// The `Set-Cookie` value that removes the cookie.
    static let expiredCookie = "\(cookieName)=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0"

    /// The session id in a `Cookie` header, if it has a well-formed one.
    static func session(inCookieHeader header: String?) -> String? {
        guard let header else { return nil }
        for pair in header.split(separator: ";") {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0] == cookieName else { continue }
            let value = String(parts[1])
            guard value.count == 64, value.allSatisfy(\.isHexDigit) else { return nil }
            return value
        }
        return nil
    }
}

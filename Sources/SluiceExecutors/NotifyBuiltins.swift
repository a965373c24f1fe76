import Foundation
public import SluiceCore

/// Where `notify` delivers: an SMTP server, or files in an outbox folder.
public enum NotifyDelivery: Sendable, Hashable {
    /// Plain SMTP (no TLS, no authentication) to `host:port`, with `from` as the sender.
    case smtp(host: String, port: Int, from: String)
    /// One `.eml` file per message in this folder.
    case outbox(String)

    /// `SLUICE_SMTP` (`host:port`, sender `SLUICE_SMTP_FROM` or `sluice@localhost`) if set, else `outbox`.
    public static func from(environment: [String: String], outbox: String) -> NotifyDelivery {
        let from = environment["SLUICE_SMTP_FROM"].flatMap { $0.isEmpty ? nil : $0 } ?? "sluice@localhost"
        guard let address = environment["SLUICE_SMTP"], !address.isEmpty else { return .outbox(outbox) }
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            return .smtp(host: address, port: 25, from: from)
        }
        return .smtp(host: String(address[..<colon]), port: port, from: from)
    }

    /// Sends one message; returns where it went (`smtp://host:port` or the `.eml` file's path).
    /// - Parameter id: the Message-ID's local part, also the outbox file's name stem.
    public func deliver(to recipients: [String], subject: String, body: String, id: String) async throws -> String {
        switch self {
        case .smtp(let host, let port, let sender):
            let message = NotifyStep.message(from: sender, to: recipients, subject: subject, body: body, id: id)
            do {
                try await SMTPClient(host: host, port: port).send(from: sender, to: recipients, data: message)
            } catch let error as SMTPError {
                throw SMTPError("\(error.description) (SLUICE_SMTP=\(host):\(port))")
            }
            return "smtp://\(host):\(port)"
        case .outbox(let folder):
            let message = NotifyStep.message(
                from: "sluice@localhost", to: recipients, subject: subject, body: body, id: id)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let stamp = String(format: "%.0f", Date().timeIntervalSince1970 * 1000)
            let file = "\(folder)/\(stamp)-\(id.filter { $0.isLetter || $0.isNumber || $0 == "-" }).eml"
            try Data(message.utf8).write(to: URL(fileURLWithPath: file))
            return file
        }
    }
}

/// `notify`: sends a message to people following a pipeline.
///
/// Inputs: `Recipients` (a list of addresses, or one address, or a comma-separated string), `Subject`, `Message`
/// (the body; templates in both are resolved by the engine). Delivered by SMTP when `SLUICE_SMTP` is set,
/// otherwise written as an `.eml` file under `.sluice/outbox/` (the step's log says where).
/// Outputs: `Recipients` (the list), `Delivery` (`smtp://host:port` or the file's path).
public struct NotifyStep: BuiltinStep {
    let delivery: NotifyDelivery

    /// A step delivering by `delivery`.
    public init(delivery: NotifyDelivery) { self.delivery = delivery }

    public var name: String { "notify" }
    public var needsWorkDirectory: Bool { false }

    public func run(_ context: BuiltinStepContext) async throws -> [String: JSONValue] {
        let args = StepArguments(context)
        let recipients = try (args.strings("Recipients") ?? []).filter { !$0.isEmpty }
        guard !recipients.isEmpty else {
            throw args.failure("input 'Recipients' is empty: give at least one address, e.g. [risk-team@example.com]")
        }
        for address in recipients where !Self.isAddress(address) {
            throw args.failure("input 'Recipients': '\(address)' is not an email address (name@domain)")
        }
        let subject = try args.string("Subject") ?? "Sluice: execution \(context.executionID)"
        let body = try args.string("Message") ?? ""
        let destination: String
        do {
            destination = try await delivery.deliver(
                to: recipients, subject: subject, body: body.isEmpty ? subject : body,
                id: "\(context.executionID).\(context.stepName.filter { $0.isLetter || $0.isNumber })")
        } catch let error as SMTPError {
            throw StepFailure("Sluice.NotifyFailed", cause: "step '\(context.stepName)': \(error.description)")
        }
        context.log("sent '\(subject)' to \(recipients.joined(separator: ", ")): \(destination)")
        return ["Recipients": .array(recipients.map(JSONValue.string)), "Delivery": .string(destination)]
    }

    static func isAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty
            && !text.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "," })
    }

    /// An RFC 5322 message with CRLF line ends; non-ASCII subjects are RFC 2047 encoded.
    static func message(from: String, to: [String], subject: String, body: String, id: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let encodedSubject =
            subject.allSatisfy(\.isASCII)
            ? subject.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
            : "=?UTF-8?B?\(Data(subject.utf8).base64EncodedString())?="
        let headers = [
            "From: \(from)", "To: \(to.joined(separator: ", "))", "Subject: \(encodedSubject)",
            "Date: \(formatter.string(from: Date()))", "Message-ID: <\(id)@sluice>", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit",
        ]
        let lines = body.replacingOccurrences(of: "\r\n", with: "\n").split(
            separator: "\n", omittingEmptySubsequences: false)
        return headers.joined(separator: "\r\n") + "\r\n\r\n" + lines.joined(separator: "\r\n") + "\r\n"
    }
}

/// An SMTP conversation that went wrong: the command, and the server's reply or the socket error.
public struct SMTPError: MessageError, Hashable, Sendable {
    public static let code = "smtp"
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A minimal plain-SMTP client (RFC 5321: EHLO, MAIL, RCPT, DATA, QUIT) on a blocking socket in its own thread.
public struct SMTPClient: Sendable {
    public let host: String
    public let port: Int
    /// Send and receive timeout of each socket operation.
    public var timeoutSeconds = 10

    /// A client for the server at `host:port`.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Sends one message (`data` with CRLF line ends) to every recipient.
    public func send(from: String, to recipients: [String], data: String) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread.detachNewThread {
                do {
                    try sendBlocking(from: from, to: recipients, data: data)
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    private func sendBlocking(from: String, to recipients: [String], data: String) throws {
        let connection = try SMTPConnection(host: host, port: port, timeoutSeconds: timeoutSeconds)
        defer { connection.close() }
        try connection.expect(220, after: "connecting")
        try connection.command("EHLO sluice", expect: 250)
        try connection.command("MAIL FROM:<\(from)>", expect: 250)
        for recipient in recipients { try connection.command("RCPT TO:<\(recipient)>", expect: 250, 251) }
        try connection.command("DATA", expect: 354)
        // Dot-stuffing: a line starting with '.' gets another '.'.
        let stuffed = data.split(separator: "\r\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n")
        let ending = stuffed.hasSuffix("\r\n") ? ".\r\n" : "\r\n.\r\n"
        try connection.write(stuffed + ending)
        try connection.expect(250, after: "sending the message")
        try? connection.command("QUIT", expect: 221)
    }
}

/// One TCP connection speaking SMTP's line protocol.
private final class SMTPConnection {
    let descriptor: Int32
    let address: String
    private var buffer: [UInt8] = []

    init(host: String, port: Int, timeoutSeconds: Int) throws {
        address = "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw SMTPError("cannot resolve SMTP host '\(host)'")
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = 0
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            let socketFD = socket(current.pointee.ai_family, current.pointee.ai_socktype, current.pointee.ai_protocol)
            if socketFD >= 0 {
                var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
                setsockopt(socketFD, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(socketFD, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                if connect(socketFD, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 {
                    descriptor = socketFD
                    return
                }
                lastError = errno
                Foundation.close(socketFD)
            }
            entry = current.pointee.ai_next
        }
        throw SMTPError("cannot connect to the SMTP server at \(address): \(String(cString: strerror(lastError)))")
    }

    func close() { Foundation.close(descriptor) }

    func write(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            #if canImport(Glibc)
                let flags = Int32(MSG_NOSIGNAL)
            #else
                let flags: Int32 = 0
            #endif
            let sent = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, flags) }
            guard sent > 0 else {
                throw SMTPError("writing to the SMTP server at \(address) failed: \(String(cString: strerror(errno)))")
            }
            bytes = bytes.dropFirst(sent)
        }
    }

    func command(_ line: String, expect codes: Int...) throws {
        try write(line + "\r\n")
        try expect(codes, after: line)
    }

    func expect(_ codes: Int..., after: String) throws { try expect(codes, after: after) }

    /// Reads one reply (its continuation lines `250-…` included) and checks its code.
    func expect(_ codes: [Int], after: String) throws {
        var lines: [String] = []
        while true {
            let line = try readLine(after: after)
            lines.append(line)
            let bytes = Array(line.utf8)
            if bytes.count < 4 || bytes[3] != UInt8(ascii: "-") { break }
        }
        let last = lines.last ?? ""
        guard let code = Int(last.prefix(3)), codes.contains(code) else {
            throw SMTPError("the SMTP server at \(address) answered '\(last)' to '\(after)' (expected \(codes))")
        }
    }

    private func readLine(after: String) throws -> String {
        while true {
            if let end = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[..<end])
                buffer.removeSubrange(...end)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else {
                let reason =
                    count == 0 ? "closed the connection" : "did not answer (\(String(cString: strerror(errno))))"
                throw SMTPError("the SMTP server at \(address) \(reason) while answering '\(after)'")
            }
            buffer.append(contentsOf: chunk[..<count])
        }
    }
}

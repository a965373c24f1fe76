import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Loopback ports for servers a test starts.
public enum LoopbackPort {
    /// A port nothing listens on right now, outside the kernel's ephemeral range (32768–60999), so a server never
    /// takes a port another test just got from `bind(0)` and closed.
    public static func free(in range: Range<Int> = 20_000..<30_000) -> Int? {
        for _ in 0..<100 {
            let port = Int.random(in: range)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            if withLoopbackAddress(port, { bind(fd, $0, $1) == 0 }) { return port }
        }
        return nil
    }

    /// Whether something accepts connections on 127.0.0.1:`port`.
    public static func isListening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return withLoopbackAddress(port) { connect(fd, $0, $1) == 0 }
    }

    /// Calls `body` with the socket address 127.0.0.1:`port` and its length.
    static func withLoopbackAddress(_ port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Bool) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }
}

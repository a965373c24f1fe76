import Foundation
import SluiceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `http` modules call `https://` services: a Python server on loopback serving TLS with a certificate signed by an
/// authority the test makes, trusted through `SLUICE_CA_BUNDLE` or the module's `ca_bundle`; another authority's
/// bundle is refused.
@Suite struct HTTPSModuleTests {
    @Test func anHTTPSModuleTrustsTheBundlesAuthorityAndRefusesAnother() async throws {
        let scratch = try Scratch()
        let certificates = try TestCertificates(in: scratch)
        let setup = try execute(
            "\(repository)/scripts/moto-venv", [], environment: ProcessInfo.processInfo.environment, in: scratch.path)
        try #require(setup.status == 0, "\(setup.errors)")
        let python = setup.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let port = try #require(LoopbackPort.free())
        let log = scratch.path + "/requests.log"
        let server = Process()
        server.executableURL = URL(fileURLWithPath: python)
        server.arguments = [
            fixtures + "/https_echo.py", String(port), certificates.serverCertificate, certificates.serverKey, log,
        ]
        server.standardInput = FileHandle.nullDevice
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        while !LoopbackPort.isListening(port) {
            try #require(server.isRunning, "the HTTPS server exited at start")
            try await Task.sleep(for: .milliseconds(50))
        }

        func write(x: Int, caBundle: String? = nil) throws {
            // In the pipeline's `modules/` folder, so a `ca_bundle` relative to the module's folder differs from one
            // relative to the working folder.
            try scratch.write(
                "modules/double.yaml",
                """
                name: Double
                type: HTTP
                implementation:
                  http: https://localhost:\(port)/double\(caBundle.map { "\n  ca_bundle: \($0)" } ?? "")
                inputs:
                  - name: x
                    type: Integer
                outputs:
                  - name: doubled
                    type: Integer
                """)
            try scratch.write(
                "pipeline.yaml",
                """
                name: OverTLS
                steps:
                  - name: Double
                    module: Double
                    inputs: {x: \(x)}
                """)
        }
        try write(x: 21)

        // The bundle's authority signed the server's certificate: the request goes over TLS and is answered.
        let trusted = try await sluiceOffThePool(
            ["run", "pipeline.yaml"], in: scratch, aws: ["SLUICE_CA_BUNDLE": certificates.authority])
        #expect(trusted.status == 0, "\(trusted.output)\n\(trusted.errors)")
        #expect(scratch.read("requests.log") == "/double {\"x\":21}\n")

        // Another authority's bundle: the step fails before anything is sent, naming the host and the fix.
        let refused = try await sluiceOffThePool(
            ["run", "pipeline.yaml"], in: scratch, aws: ["SLUICE_CA_BUNDLE": certificates.otherAuthority])
        let said = refused.output + refused.errors
        #expect(refused.status != 0, "\(said)")
        #expect(said.contains("HTTP.ConnectionFailed"), "\(said)")
        #expect(said.contains("localhost:\(port)"), "\(said)")
        #expect(said.contains("not signed by a certificate authority this client trusts"), "\(said)")
        #expect(said.contains("SLUICE_CA_BUNDLE"), "\(said)")
        #expect(scratch.read("requests.log") == "/double {\"x\":21}\n", "nothing more reached the server")

        // The module's own ca_bundle (relative to its folder) is trusted instead of SLUICE_CA_BUNDLE's.
        try write(x: 5, caBundle: "../tls/ca.pem")
        let own = try await sluiceOffThePool(
            ["run", "pipeline.yaml"], in: scratch, aws: ["SLUICE_CA_BUNDLE": certificates.otherAuthority])
        #expect(own.status == 0, "\(own.output)\n\(own.errors)")
        #expect(scratch.read("requests.log") == "/double {\"x\":21}\n/double {\"x\":5}\n")
    }
}

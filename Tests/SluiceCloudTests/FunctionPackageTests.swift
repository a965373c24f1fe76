import Foundation
import SluiceCloud
import SluiceCore
import Testing

/// A Lambda module's code as `sluice aws deploy` sends it to Lambda: a zip that Python's `zipfile` reads back.
@Suite struct FunctionPackageTests {
    @Test func theHandlerAndThePythonFilesBesideItAreZippedAsLambdaNamesThem() async throws {
        let folder = try AWSTools.temporaryFolder("function-package")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let handler = "from helpers import double\n\ndef main(event, context):\n    return {\"value\": double(2)}\n"
        try AWSTools.write(handler, to: folder + "/loader/handler.py")
        try AWSTools.write("def double(x):\n    return 2 * x  # é\n", to: folder + "/loader/helpers.py")
        try AWSTools.write("not code\n", to: folder + "/loader/notes.txt")
        let module = Module(
            name: "Loader", kind: .lambda, implementation: .lambda(handler: "handler.py:main", runtime: "python3"),
            baseDirectory: folder + "/loader")
        let package = try #require(try FunctionPackage(module: module))
        #expect(package.handler == "handler.main")
        #expect(package.runtime == "python3.12")
        try Data(package.zip).write(to: URL(fileURLWithPath: folder + "/code.zip"))
        let read = try await AWSTools.python(
            """
            import json, sys, zipfile
            archive = zipfile.ZipFile(sys.argv[1])
            assert archive.testzip() is None
            print(json.dumps({name: archive.read(name).decode() for name in archive.namelist()}))
            """, [folder + "/code.zip"])
        #expect(read.status == 0, "\(read.error)")
        #expect(
            try AWSTools.json(read.output)
                == ["handler.py": .string(handler), "helpers.py": "def double(x):\n    return 2 * x  # é\n"])

        // A module without a handler file of its own has nothing to package.
        let named = Module(name: "Named", kind: .lambda, implementation: nil)
        #expect(try FunctionPackage(module: named) == nil)
    }
}
